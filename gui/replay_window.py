"""The replay window: a logged run played back through the same monitor widget a live
run uses, fed by acquisition.replay.ReplayPlayer (the same stream shape, read from a
notebook opened read-only). Controls: play/pause, speed, seek by time, cycle or alarm,
loop a region, and detector thresholds to re-judge the run with. Original alarms are
marked "logged", re-evaluated ones "replay".

It must never pass for a live run: its title and the monitor's heading say "Replay of
run #N", the speed and whether it plays, is paused or has reached the end. The seek bar
is a large target (larger still in glove mode)."""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

import resources
from acquisition.live import LiveBuffer
from acquisition.replay import ReplayPlayer
from gui.bridge import EngineBridge
from gui.monitor import MonitorFeed, MonitorWidget
from gui.settings import StationSettings
from notebook import Notebook

SPEEDS = [("1× (original timing)", 1.0), ("10×", 10.0), ("100×", 100.0), ("1000×", 1000.0), ("3600×", 3600.0),
          ("36000×", 36000.0), ("as fast as possible", math.inf)]
# the seek bar's height and its handle's width, in px: a finger (or a gloved one) hits it
SEEK_SIZE = {False: (32, 22), True: (64, 48)}


def speed_text(speed: float) -> str:
    return "max speed" if not math.isfinite(speed) else f"{speed:g}×"


def seek_bar_style(glove: bool) -> str:
    """Groove and handle sized for touch, in the palette's colours (themes apply)."""
    height, handle = SEEK_SIZE[glove]
    groove = max(8, height // 4)
    return (f"QSlider::groove:horizontal {{ height: {groove}px; border-radius: {groove // 2}px;"
            " background: palette(mid); }"
            f" QSlider::sub-page:horizontal {{ height: {groove}px; border-radius: {groove // 2}px;"
            " background: palette(highlight); }"
            f" QSlider::handle:horizontal {{ width: {handle}px; margin: -{(height - groove) // 2 - 2}px 0;"
            f" border-radius: {handle // 4}px; background: palette(button); border: 2px solid palette(highlight); }}")


def parse_speed(speed) -> float:
    if isinstance(speed, str) and speed.strip().lower() == "max":
        return math.inf
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise ValueError(f"speed must be a number (x original timing) or 'max', got {speed!r}") from None
    if not value > 0:
        raise ValueError(f"speed must be above 0, got {speed!r}")
    return value


class ReplayWindow(QtWidgets.QMainWindow):
    def __init__(self, notebook: Notebook, run_id: int, speed=1.0, overrides: dict | None = None,
                 settings: StationSettings | None = None):
        super().__init__()
        self.notebook = notebook
        self.run_id = run_id
        self.overrides = overrides or None
        self.run = notebook.run(run_id)     # NotebookError names a missing run
        settings = settings if settings is not None else StationSettings(parent=self)
        self.bridge = EngineBridge(1)
        self.bridge.event.connect(self._on_event)
        self.bridge.status.connect(self._on_status)
        self.monitor = MonitorWidget()
        self.play = QtWidgets.QPushButton("Pause")
        self.speed = QtWidgets.QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.position = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.position.setObjectName("seek")
        self.position.setToolTip("Drag or click to play from another time of the run")
        self.position.setMinimumHeight(SEEK_SIZE[settings.glove_mode][0])
        self.position.setStyleSheet(seek_bar_style(settings.glove_mode))
        self.position.setPageStep(600)
        self.position_label = QtWidgets.QLabel()
        self.cycle = QtWidgets.QSpinBox(minimum=1, maximum=1_000_000, prefix="cycle ")
        self.go_cycle = QtWidgets.QPushButton("Go")
        self.previous_alarm = QtWidgets.QPushButton("◀ Alarm")
        self.next_alarm = QtWidgets.QPushButton("Alarm ▶")
        self.loop = QtWidgets.QCheckBox("Loop from")
        self.loop_from = QtWidgets.QDoubleSpinBox(minimum=0, maximum=1e7, decimals=3, suffix=" h")
        self.loop_to = QtWidgets.QDoubleSpinBox(minimum=0, maximum=1e7, decimals=3, suffix=" h")
        self.info = QtWidgets.QLabel()       # the thresholds the detectors judge with
        self.info.setWordWrap(True)
        self.note = QtWidgets.QLabel()       # what just happened (end of run, nothing found ...)
        # two rows: playing, then where to go; one row of all of them is wider than a 1024 px screen
        play_row, seek_row = QtWidgets.QHBoxLayout(), QtWidgets.QHBoxLayout()
        for widget in (self.play, QtWidgets.QLabel("Speed"), self.speed, self.position_label):
            play_row.addWidget(widget)
        play_row.addStretch(1)
        for widget in (self.previous_alarm, self.next_alarm):
            play_row.addWidget(widget)
        for widget in (self.cycle, self.go_cycle):
            seek_row.addWidget(widget)
        seek_row.addStretch(1)
        for widget in (self.loop, self.loop_from, QtWidgets.QLabel("to"), self.loop_to):
            seek_row.addWidget(widget)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.addLayout(play_row)
        layout.addLayout(seek_row)
        layout.addWidget(self.position)
        layout.addWidget(self.info)
        layout.addWidget(self.note)
        layout.addWidget(self.monitor, 1)
        self.setCentralWidget(central)
        self.resize(1280, 800)

        self.player: ReplayPlayer | None = None
        self._user_paused = False
        self._marked: dict[tuple, set] = {}     # (t, kind) -> origins marked there
        self._start_player(parse_speed(speed))
        duration = float(self.player.samples["t"][-1]) if self.player.samples.size else 0.0
        self.position.setRange(0, max(1, int(duration)))
        self.loop_to.setValue(duration / 3600.0)
        self.speed.setCurrentIndex(min(range(len(SPEEDS)), key=lambda k: abs(math.log(SPEEDS[k][1]) - math.log(self.player.speed))
                                       if math.isfinite(self.player.speed) and math.isfinite(SPEEDS[k][1])
                                       else (0 if SPEEDS[k][1] == self.player.speed else 99)))
        self.info.setText(self._thresholds_text())
        self.play.clicked.connect(self.toggle_play)
        self.speed.currentIndexChanged.connect(self._set_speed)
        self.position.sliderReleased.connect(lambda: self.seek(float(self.position.value())))
        self.go_cycle.clicked.connect(lambda: self.seek_cycle(self.cycle.value()))
        self.next_alarm.clicked.connect(lambda: self.step_alarm(True))
        self.previous_alarm.clicked.connect(lambda: self.step_alarm(False))
        self.loop.toggled.connect(self._apply_loop)
        self._tick = QtCore.QTimer(self, interval=200)
        self._tick.timeout.connect(self._show_position)
        self._tick.start()

    # -- the player and the feed the monitor shows --
    def _start_player(self, speed: float) -> None:
        self.buffer = LiveBuffer()
        self.player = ReplayPlayer(self.notebook.path, self.run_id, speed=speed, overrides=self.overrides,
                                   listeners=[self.buffer, self.bridge], hold_at_end=True)
        self._attach_fresh_feed()
        self.player.start()

    def _attach_fresh_feed(self) -> None:
        """A seek starts the stream again at the new place: a fresh buffer and feed."""
        self._marked = {}
        self.buffer = LiveBuffer()
        self.player.listeners[0] = self.buffer
        first, samples = self.player.position, self.player.samples   # the stream starts at the player's position
        self.feed = MonitorFeed(self.buffer, expects_eis=bool(self.notebook.spectra(self.run_id)),
                                history=lambda start, stop: samples[first + start : first + stop])
        self._show_state()
        self.monitor.attach(self.feed)

    def state(self) -> str:
        """What the replay is doing, in the operator's words."""
        if self.player.status == "ended":
            return "at the end"
        return "paused" if self._user_paused else "playing"

    def _show_state(self) -> None:
        """The window title and the monitor's heading say replay, speed and state."""
        speed, state = speed_text(self.player.speed), self.state()
        self.feed.title = (f"Replay of run #{self.run_id} ({self.run['protocol']}, recorded as {self.run['status']})"
                           f" · {speed}")
        self.feed.state = state
        self.setWindowTitle(f"Replay of run #{self.run_id} · {speed} · {state} — {resources.APP_NAME}, "
                            f"{self.notebook.path.name}")

    def _thresholds_text(self) -> str:
        from acquisition.alarms import describe
        text = "; ".join(f"{kind}: " + ", ".join(f"{k}={v:g}" for k, v in s.items() if isinstance(v, (int, float)))
                         for kind, s in describe([entry[0] for entry in self.player.judge.entries]).items())
        origin = "your thresholds" if self.overrides else "the thresholds stored with the run"
        return f"Detectors re-judge the run with {origin}: {text}. Nothing is written to the notebook."

    # -- controls --
    def toggle_play(self) -> None:
        self._user_paused = not self._user_paused
        if self._user_paused:
            self.player.pause()
        else:
            self.player.resume()
        self.play.setText("Play" if self._user_paused else "Pause")
        self._show_state()

    def _set_speed(self) -> None:
        self.player.set_speed(self.speed.currentData())
        self._show_state()

    def _restart_at(self, move) -> None:
        self.player.pause()
        self.player.listeners[0] = LiveBuffer()    # drop what is in flight
        move()
        self._attach_fresh_feed()
        if not self._user_paused:
            self.player.resume()

    def seek(self, t_s: float) -> None:
        self._restart_at(lambda: self.player.seek(t_s))

    def seek_cycle(self, cycle: int) -> None:
        try:
            self._restart_at(lambda: self.player.seek_cycle(cycle))
        except ValueError as exc:
            self.note.setText(str(exc))

    def step_alarm(self, forward: bool) -> None:
        found = []
        self._restart_at(lambda: found.append(self.player.next_alarm(forward)))
        if found and found[0] is None:
            self.note.setText("No further alarm in that direction.")

    def _apply_loop(self, on: bool) -> None:
        if not on:
            self.player.set_loop(None)
            return
        try:
            self.player.set_loop(self.loop_from.value() * 3600.0, self.loop_to.value() * 3600.0)
        except ValueError as exc:
            self.note.setText(str(exc))
            self.loop.setChecked(False)
            return
        self.seek(self.loop_from.value() * 3600.0)

    def _show_position(self) -> None:
        last = self.buffer.last()
        if last is not None:
            t = float(last["t"])
            if not self.position.isSliderDown():
                self.position.setValue(int(t))
            self.position_label.setText(f"t = {t / 3600:.3f} h")

    def _on_event(self, channel: int, event: dict) -> None:
        """Mark each alarm once: where the re-evaluation fires where the run's own alarm
        was logged, one marker says both; where they differ, each gets its own."""
        kind = event["kind"].replace("_", " ")
        key = (round(event["t_s"]), event["kind"])
        seen = self._marked.setdefault(key, set())
        seen.add(event.get("origin", "replay"))
        if len(seen) == 1:
            origin = "logged" if event.get("origin") == "original" else "replay"
            self.monitor.mark_event(event["t_s"], f"{origin}: {kind}")
        else:
            self.note.setText(f"The re-evaluation fires where the run's own {kind} alarm was logged "
                              f"(t = {event['t_s'] / 3600:.3f} h).")

    def _on_status(self, channel: int, status: str, message: str) -> None:
        self._show_state()
        if status == "ended":
            self.note.setText("End of the run: seek, pick a cycle or an alarm to play again.")

    def shutdown(self) -> None:
        self._tick.stop()
        if self.player is not None:
            self.player.close()
        self.monitor.detach()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
