"""Replay through the live monitor: a simulated run that shorted is played back, the
alarm fires at the same sample as live, and the notebook file is unchanged."""
from __future__ import annotations

import hashlib

import pytest

from gui.replay_window import ReplayWindow, parse_speed
from notebook import Notebook


def test_replay_shows_the_alarm_at_the_live_sample_and_changes_nothing(qtbot, shorted_run):
    path, run_id, live = shorted_run
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    nb = Notebook(path, read_only=True)
    window = ReplayWindow(nb, run_id, speed="max")
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.player.status == "ended", timeout=30000)
        replayed = [e for e in window.player.replay_events if e["kind"] == "hard_short"]
        assert [e["sample_index"] for e in replayed] == [live["sample_index"]]
        qtbot.waitUntil(lambda: window.monitor.points_drawn == window.player.samples.size, timeout=10000)
        qtbot.waitUntil(lambda: len(window._marked) > 0, timeout=10000)   # events come through the queued bridge
        # one marker where the re-evaluation agrees with the logged alarm, and a note saying so
        assert [label for _, label in window.feed.events] == ["logged: hard short"]
        assert window._marked[(round(live["t_s"]), "hard_short")] == {"original", "replay"}
        # seek to the alarm and to a cycle: the stream restarts there
        window.step_alarm(False)
        qtbot.waitUntil(lambda: len(window.buffer) > 0, timeout=10000)
        assert window.buffer.snapshot().t_first == pytest.approx(live["t_s"], abs=1.0)
        window.seek_cycle(2)
        qtbot.waitUntil(lambda: len(window.buffer) > 0, timeout=10000)
        assert window.buffer.recent()[1]["cycle"][0] == 2
    finally:
        window.shutdown()
        nb.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_new_thresholds_and_bad_speed(qtbot, shorted_run):
    path, run_id, _ = shorted_run
    nb = Notebook(path, read_only=True)
    window = ReplayWindow(nb, run_id, speed="max", overrides={"hard_short": {"collapse_fraction": 0.01}})
    qtbot.addWidget(window)
    try:
        qtbot.waitUntil(lambda: window.player.status == "ended", timeout=30000)
        assert window.player.replay_events == []
        assert "your thresholds" in window.info.text() and "collapse_fraction=0.01" in window.info.text()
    finally:
        window.shutdown()
        nb.close()
    with pytest.raises(ValueError, match="speed must be"):
        parse_speed("fast")


def test_replay_opens_from_the_notebook_browser(qtbot, shorted_run):
    from gui.main_window import MainWindow
    path, run_id, live = shorted_run
    nb = Notebook(path)
    window = MainWindow(nb)
    qtbot.addWidget(window)
    try:
        window.browser.refresh()
        window.browser.runs.selectRow(0)
        assert window.browser.replay_button.isEnabled()
        window.browser.replay_button.click()
        (replay, _), = window.replays
        assert replay.isVisible() and replay.run_id == run_id
        qtbot.waitUntil(lambda: len(replay.buffer) > 0, timeout=10000)
    finally:
        window.shutdown()
        nb.close()
