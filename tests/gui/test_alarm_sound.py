"""The alarm sound: the bundled WAV is what packaging/make_alarm_sound.py makes and holds the
tones it should; the player is the platform's own, found on PATH (here a fake PATH holding
small scripts that record how they were called: real child processes); it repeats on a
real QTimer until stopped, and falls back to the system beep, saying so."""
from __future__ import annotations

import importlib.util
import os
import stat
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from gui.alarm_sound import AlarmSound, find_players

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the fake players are POSIX shell scripts")


def load_generator():
    spec = importlib.util.spec_from_file_location("make_alarm_sound", ROOT / "packaging" / "make_alarm_sound.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_player(folder: Path, name: str, log: Path, exit_status: int = 0) -> Path:
    """An executable `name` in `folder` that appends its name and arguments to `log`."""
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit {exit_status}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_the_shipped_wav_is_the_generated_one_with_its_tones():
    generator = load_generator()
    shipped = (ROOT / "resources" / "alarm.wav").read_bytes()
    assert shipped == generator.alarm_wav(), "run `python packaging/make_alarm_sound.py` and commit the WAV"
    with wave.open(str(ROOT / "resources" / "alarm.wav")) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22050)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float)
    # 4 pulses of 180 ms with 70 ms gaps: 1.0 s
    assert samples.size / 22050 == pytest.approx(4 * 0.25, abs=1e-3)
    assert np.abs(samples).max() < 32767 * 0.95          # not clipped
    pulse = round(0.18 * 22050)
    step = pulse + round(0.07 * 22050)
    for k, expected_hz in enumerate((988.0, 784.0, 988.0, 784.0)):
        chunk = samples[k * step:k * step + pulse]
        spectrum = np.abs(np.fft.rfft(chunk * np.hanning(chunk.size), n=1 << 16))
        peak_hz = np.argmax(spectrum) * 22050 / (1 << 16)
        assert peak_hz == pytest.approx(expected_hz, abs=2.0)
        assert np.all(samples[k * step + pulse:(k + 1) * step] == 0)     # silence between pulses


def test_the_first_player_found_on_path_is_chosen_in_order(tmp_path):
    log = tmp_path / "calls.log"
    assert find_players("Linux", str(tmp_path)) == []
    fake_player(tmp_path, "aplay", log)
    fake_player(tmp_path, "pw-play", log)
    found = find_players("Linux", str(tmp_path))
    assert [p.name for p in found] == ["pw-play", "aplay"]          # PipeWire before ALSA
    assert found[1].command == (str(tmp_path / "aplay"), "-q")
    fake_player(tmp_path, "paplay", log)
    assert find_players("Linux", str(tmp_path))[0].name == "paplay"


def test_the_sound_repeats_on_its_timer_until_stopped(qtbot, tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_player(bin_dir, "pw-play", log)
    monkeypatch.setenv("PATH", str(bin_dir))
    sound = AlarmSound(repeat_ms=150)
    assert sound.player.name == "pw-play"
    sound.start()
    assert sound.active
    qtbot.waitUntil(lambda: len(calls(log)) >= 3, timeout=5000)
    wav = str(ROOT / "resources" / "alarm.wav")
    assert set(calls(log)) == {f"pw-play {os.path.realpath(wav)}"} or set(calls(log)) == {f"pw-play {wav}"}
    sound.stop()
    assert not sound.active
    heard = len(calls(log))
    qtbot.wait(600)                               # four repeat intervals: nothing more is played
    assert len(calls(log)) == heard and sound.beeps == 0


def test_a_failing_player_gives_way_to_the_next_then_to_the_beep(qtbot, tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    fake_player(tmp_path, "paplay", log, exit_status=1)       # as with no PulseAudio server running
    fake_player(tmp_path, "aplay", log, exit_status=1)
    monkeypatch.setenv("PATH", str(tmp_path))
    sound = AlarmSound(repeat_ms=100)
    notes = []
    sound.note.connect(notes.append)
    sound.start()
    qtbot.waitUntil(lambda: sound.beeps >= 2, timeout=5000)
    sound.stop()
    assert [c.split()[0] for c in calls(log)] == ["paplay", "aplay"]
    assert "paplay failed (exit status 1); using aplay instead" in notes[0]
    assert "system beep" in notes[1] and len(notes) == 2       # said once, not on every repeat


def test_with_no_player_the_beep_sounds_and_the_status_bar_is_told(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    sound = AlarmSound(repeat_ms=100)
    notes = []
    sound.note.connect(notes.append)
    assert sound.player is None
    sound.start()
    qtbot.waitUntil(lambda: sound.beeps >= 3, timeout=5000)
    sound.stop()
    assert notes == ["Alarm sound: no sound player was found (paplay, pw-play or aplay): the alarm sounds the "
                     "system beep, which many PCs keep silent."]


def test_stopping_cuts_a_long_sound_short(qtbot, tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    slow = tmp_path / "paplay"
    slow.write_text(f'#!/bin/sh\necho started >> "{log}"\nexec /bin/sleep 30\n')
    slow.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    sound = AlarmSound(repeat_ms=100)
    sound.start()
    qtbot.waitUntil(lambda: calls(log) == ["started"], timeout=5000)
    qtbot.wait(300)                      # repeats while it still sounds start nothing new
    process = sound._process
    assert calls(log) == ["started"] and process.poll() is None
    began = time.monotonic()
    sound.stop()
    assert process.poll() is not None and time.monotonic() - began < 1.5
