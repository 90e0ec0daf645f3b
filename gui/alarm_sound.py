"""The alarm's sound: the bundled resources/alarm.wav (packaging/make_alarm_sound.py),
played by the platform's own player and repeated every few seconds until every alarm is
acknowledged.

Qt Multimedia would add its own FFmpeg libraries to a build that ships PySide6-Essentials
only, so the sound goes through what the operating system already has: on Windows
`winsound` (the standard library, asynchronous); elsewhere the first of paplay
(PulseAudio), pw-play (PipeWire), aplay (ALSA) or afplay (macOS) found on PATH, started as
a child process that plays and exits on its own, so neither this thread nor an engine
thread ever waits for it. A player that cannot start, or exits with an error (no sound
server running), is dropped for the next one; with none left the alarm falls back to the
system beep, and `note` says so once, for the status bar.
"""
from __future__ import annotations

import platform
import shutil
import subprocess
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

import resources

try:
    import winsound           # Windows' own player, in its standard library
except ImportError:           # elsewhere the sound goes through a player program
    winsound = None

SOUND_FILE = "alarm.wav"
REPEAT_MS = 4000                      # about 1 s of sound, then 3 s quiet
PLAYERS = (("paplay",), ("pw-play",), ("aplay", "-q"), ("afplay",))   # program and its options, preferred first


@dataclass(frozen=True)
class Player:
    name: str                          # "winsound" or the program's name
    command: tuple[str, ...] = ()      # for a program: its full path and options; the file goes last


def find_players(system: str | None = None, search_path: str | None = None) -> list[Player]:
    """The players this computer offers, preferred first. search_path: PATH to search
    (None: the process's own)."""
    if (system or platform.system()) == "Windows":
        return [Player("winsound")] if winsound is not None else []
    out = []
    for name, *options in PLAYERS:
        found = shutil.which(name, path=search_path)
        if found:
            out.append(Player(name, (found, *options)))
    return out


class AlarmSound(QtCore.QObject):
    """start() plays at once and then every `repeat_ms` until stop()."""
    note = QtCore.Signal(str)          # a one-line remark for the status bar (the sound fell back to the beep)

    def __init__(self, parent: QtCore.QObject | None = None, repeat_ms: int = REPEAT_MS,
                 players: list[Player] | None = None):
        super().__init__(parent)
        self.players = find_players() if players is None else list(players)
        self.sound_path = resources.file_path(SOUND_FILE)
        self.plays = 0                  # times the sound was started (player or beep)
        self.beeps = 0                  # of those, by the system beep
        self._process: subprocess.Popen | None = None
        self._noted = False
        self._timer = QtCore.QTimer(self, interval=repeat_ms)
        self._timer.timeout.connect(self.play)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @property
    def player(self) -> Player | None:
        return self.players[0] if self.players else None

    def start(self) -> None:
        if not self._timer.isActive():
            self.play()
            self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        if self.player is not None and self.player.name == "winsound":
            winsound.PlaySound(None, 0)          # cuts the sound short
        elif self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                self._process.wait(1.0)          # reaped: no zombie left behind
            self._process = None

    def play(self) -> None:
        self._check_last()
        self.plays += 1
        player = self.player
        if player is None:
            self._beep("no sound player was found (paplay, pw-play or aplay)")
        elif player.name == "winsound":
            winsound.PlaySound(self.sound_path, winsound.SND_FILENAME | winsound.SND_ASYNC)
        elif self._process is not None and self._process.poll() is None:
            pass                                 # the last one is still sounding
        else:
            try:
                self._process = subprocess.Popen([*player.command, self.sound_path], stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            except OSError as exc:
                self._drop(f"{player.name} could not be started ({exc})")
                self.plays -= 1
                self.play()

    def _check_last(self) -> None:
        """A player that exited with an error last time (no sound server) is dropped."""
        if self._process is None or self._process.poll() is None:
            return
        code, self._process = self._process.returncode, None
        if code != 0 and self.player is not None:
            self._drop(f"{self.player.name} failed (exit status {code})")

    def _drop(self, why: str) -> None:
        self.players.pop(0)
        if self.player is not None:
            self.note.emit(f"Alarm sound: {why}; using {self.player.name} instead.")
        else:
            self._noted = True
            self.note.emit(f"Alarm sound: {why} and no other sound player was found: the alarm sounds the "
                           "system beep, which many PCs keep silent.")

    def _beep(self, why: str) -> None:
        self.beeps += 1
        QtWidgets.QApplication.beep()
        if not self._noted:
            self._noted = True
            self.note.emit(f"Alarm sound: {why}: the alarm sounds the system beep, which many PCs keep silent.")
