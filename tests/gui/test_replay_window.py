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
        key = (round(live["t_s"]), "hard_short")
        # events come through the queued bridge, the logged one and the re-judged one each in its turn
        qtbot.waitUntil(lambda: len(window._marked.get(key, ())) == 2, timeout=10000)
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


def test_a_replay_says_it_is_a_replay_and_its_seek_bar_is_a_large_target(qtbot, shorted_run, tmp_path):
    """Issue 18: the replay looked like a live run ("— running") and its seek bar was 4 px high."""
    from gui.settings import StationSettings
    path, run_id, _ = shorted_run
    nb = Notebook(path, read_only=True)
    window = ReplayWindow(nb, run_id, speed=1000.0)
    qtbot.addWidget(window)
    try:
        window.resize(1280, 800)
        window.show()
        qtbot.waitUntil(lambda: len(window.buffer) > 0, timeout=10000)
        assert window.windowTitle().startswith(f"Replay of run #{run_id} · 1000× · playing")
        qtbot.waitUntil(lambda: window.monitor.heading.text().startswith(f"Replay of run #{run_id} ("), timeout=5000)
        heading = window.monitor.heading.text()
        assert "recorded as shorted" in heading and heading.endswith("· 1000× — playing")
        assert "running" not in heading and "running" not in window.windowTitle()
        window.toggle_play()
        assert window.windowTitle().startswith(f"Replay of run #{run_id} · 1000× · paused")
        window.monitor.redraw()
        assert window.monitor.heading.text().endswith("— paused")
        window.speed.setCurrentIndex(window.speed.findData(36000.0))
        assert window.windowTitle().startswith(f"Replay of run #{run_id} · 36000× · paused")
        assert window.position.height() >= 24 and window.position.isVisible()
    finally:
        window.shutdown()
        window.close()
    settings = StationSettings(tmp_path / "station.ini")
    settings.set("glove_mode", "on")
    gloved = ReplayWindow(nb, run_id, speed=1000.0, settings=settings)
    qtbot.addWidget(gloved)
    try:
        gloved.resize(1280, 800)
        gloved.show()
        qtbot.waitExposed(gloved)
        assert gloved.position.height() >= 60
    finally:
        gloved.shutdown()
        gloved.close()
        nb.close()
