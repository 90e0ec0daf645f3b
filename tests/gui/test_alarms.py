"""Alarms that cannot be missed or misfiled, and guarded actions, in the real station on a
real notebook: the banner floats over the pages without moving them; each channel's alarm
is acknowledged on its own, by name and time, with a button or Ctrl+K; the readout says
OUTPUT OFF after a trip; the window comes forward; an alarm left unacknowledged is shown
again after a restart; Stop and closing the station ask first, and a close is logged as
"station closed", never as an operator's stop."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtTest import QTest

from acquisition.protocol import preset
from gui.confirm import Question
from gui.main_window import MainWindow
from gui.settings import StationSettings
from notebook import Notebook

LEFT = QtCore.Qt.MouseButton.LeftButton


@pytest.fixture
def settings(tmp_path):
    settings = StationSettings(tmp_path / "station.ini")
    settings.set("operator", "CW")
    return settings


def open_station(qtbot, db_path, settings) -> tuple[MainWindow, Notebook]:
    nb = Notebook(db_path)
    win = MainWindow(nb, settings)
    qtbot.addWidget(win, before_close_func=lambda w: w.shutdown())     # no question left open at teardown
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    return win, nb


@pytest.fixture
def station(qtbot, db_path, settings):
    win, nb = open_station(qtbot, db_path, settings)
    yield win
    win.shutdown()
    nb.close()


def start(window, channel: int, template: str, protocol, speed: str) -> int:
    window.builder.select_template(template)
    panel = window.run_panel
    panel.channel.setCurrentIndex(panel.channel.findData(channel))
    panel.set_protocol(protocol)
    panel.speed.setCurrentIndex(panel.speed.findData(speed))
    assert window.start_run(), window.status_label.text()
    return channel


def short_on(qtbot, window, channel: int) -> int:
    """A bare Li | Li cell run flat out on `channel` until it shorts (a few seconds); its run id."""
    start(window, channel, "sym-bare", preset("plate-strip-0.16"), "max")
    qtbot.waitUntil(lambda: window.overview.tiles[channel].status.state == "shorted", timeout=60000)
    # the tile follows the channel's state on a timer; the alarm reaches the banner by the
    # bridge's queued signal, which may come a turn of the event loop later
    qtbot.waitUntil(lambda: window.banner.channel_latched(channel), timeout=10000)
    return window.manager.channel(channel).session.engine.run_id


def answer(choice: str, seen: list) -> None:
    """Press `choice` ("yes" or "no") in the question about to be asked, noting what it said."""
    def press():
        box = QtWidgets.QApplication.activeModalWidget()
        if not isinstance(box, Question):
            QtCore.QTimer.singleShot(20, press)
            return
        seen.append({"text": box.text(), "details": box.informativeText(),
                     "heights": (box.yes.height(), box.no.height()), "default": box.defaultButton() is box.no})
        (box.yes if choice == "yes" else box.no).click()
    QtCore.QTimer.singleShot(0, press)


def stored_alarms(db_path) -> dict[int, tuple]:
    with Notebook(db_path, read_only=True) as nb:
        return {row[0]: tuple(row[1:]) for row in nb.conn.execute(
            "SELECT run_id, kind, acknowledged_utc, acknowledged_by FROM events WHERE severity = 'alarm'")}


def test_the_banner_floats_acks_per_channel_by_name_and_the_readout_says_output_off(qtbot, station, db_path):
    window = station
    run_1 = short_on(qtbot, window, 1)
    window.showMinimized()
    start(window, 2, "sym-bare", preset("plate-strip-0.16"), "max")
    # the Monitor tab, as it is laid out before channel 2's alarm (which only arrives through the event loop)
    assert window.tabs.currentWidget() is window.monitor
    monitor_before = window.monitor.mapTo(window, QtCore.QPoint(0, 0))     # its height follows its content
    tabs_before, heading_before = window.tabs.geometry(), window.monitor.heading.geometry()
    qtbot.waitUntil(lambda: window.overview.tiles[2].status.state == "shorted", timeout=60000)
    qtbot.waitUntil(lambda: window.banner.channel_latched(2), timeout=10000)     # as in short_on
    run_2 = window.manager.channel(2).session.engine.run_id
    banner = window.banner
    assert banner.isVisible() and sorted(banner.rows) == [run_1, run_2]
    # the window came forward for the alarm
    assert not window.isMinimized()
    # an overlay: nothing under it moved, it sits at the top of the pages, whole, on top
    assert window.tabs.currentWidget() is window.monitor and window.tabs.geometry() == tabs_before
    assert window.monitor.mapTo(window, QtCore.QPoint(0, 0)) == monitor_before
    assert window.monitor.heading.geometry().topLeft() == heading_before.topLeft()
    assert banner.parentWidget() is window and window.tabs.findChild(type(banner)) is None
    pages = banner.pages_rect()
    assert banner.geometry().topLeft() == pages.topLeft() and banner.width() == pages.width()
    assert window.rect().contains(banner.geometry()) and banner.height() < pages.height() / 2
    for row in banner.rows.values():
        assert banner.rect().contains(row.geometry()) and row.rect().contains(row.ack.geometry())
    assert banner.sound.active
    # the monitor (channel 2, the one started last) no longer shows the current it sourced
    feed = window.feeds[2]
    assert abs(float(feed.buffer.last()["current"])) > 100e-6        # it was sourcing 160 uA when it tripped
    readout = window.monitor.progress.text()
    assert "OUTPUT OFF" in readout and "I = " not in readout and "µA" not in readout
    # acknowledging channel 2 acknowledges channel 2 only, by CW, now
    before = datetime.now(timezone.utc).replace(microsecond=0)
    qtbot.mouseClick(banner.rows[run_2].ack, LEFT)
    after = datetime.now(timezone.utc)
    alarms = stored_alarms(db_path)
    assert alarms[run_1] == ("hard_short", None, None)
    kind, when, by = alarms[run_2]
    assert kind == "hard_short" and by == "CW"
    assert before <= datetime.fromisoformat(when.replace("Z", "+00:00")) <= after
    assert list(banner.rows) == [run_1] and banner.sound.active
    assert window.overview.tiles[1].status.alarming and not window.overview.tiles[2].status.alarming
    assert "acknowledged by CW" in window.status_label.text()
    # Ctrl+K acknowledges the selected channel's alarm: the last one, so the sound stops
    window.select_channel(1)
    window.activateWindow()
    QTest.keyClick(window, QtCore.Qt.Key.Key_K, QtCore.Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not banner.isVisible())
    assert not banner.sound.active and stored_alarms(db_path)[run_1][2] == "CW"


def test_ctrl_k_picks_the_selected_channel_not_the_first(qtbot, station, db_path):
    window = station
    run_1 = short_on(qtbot, window, 1)
    run_3 = short_on(qtbot, window, 3)
    window.select_channel(3)
    window.banner.shortcut.activated.emit()
    assert list(window.banner.latched) == [run_1]
    assert stored_alarms(db_path)[run_3][2] == "CW" and stored_alarms(db_path)[run_1][2] is None


def test_an_unacknowledged_alarm_is_shown_again_after_a_restart(qtbot, db_path, settings):
    window, nb = open_station(qtbot, db_path, settings)
    run_id = short_on(qtbot, window, 1)
    window.shutdown()
    window.close()
    nb.close()
    assert stored_alarms(db_path)[run_id][1:] == (None, None)       # closing acknowledged nothing
    settings.set("operator", "EK")
    window, nb = open_station(qtbot, db_path, settings)
    try:
        banner = window.banner
        assert banner.isVisible() and list(banner.rows) == [run_id]
        row = banner.rows[run_id]
        assert "Run #1" in row.text.text() and "earlier session" in row.text.text() and "hard short" in row.text.text()
        assert row.ack.text() == "Acknowledge run #1"
        assert window.overview.tiles[1].status.state == "idle"      # a new session: the channel is free
        qtbot.mouseClick(row.ack, LEFT)
        assert not banner.isVisible() and not banner.sound.active
        assert stored_alarms(db_path)[run_id][2] == "EK"
    finally:
        window.shutdown()
        nb.close()
    window, nb = open_station(qtbot, db_path, settings)
    try:
        assert not window.banner.isVisible() and window.banner.latched == {}
    finally:
        window.shutdown()
        nb.close()


def test_closing_lists_runs_and_alarms_cancel_keeps_them_and_a_close_is_logged_as_such(qtbot, db_path, settings):
    window, nb = open_station(qtbot, db_path, settings)
    try:
        alarm_run = short_on(qtbot, window, 2)
        start(window, 1, "sym-agc", preset("plate-strip-0.16"), "600")      # 100 h: going until closed
        engine = window.manager.channel(1).session.engine
        qtbot.waitUntil(lambda: engine.n_samples > 10, timeout=20000)
        seen: list = []
        answer("no", seen)
        window.close()
        (question,) = seen
        assert question["default"] and min(question["heights"]) >= 60
        assert f"Channel 1: run #{engine.run_id} (running)" in question["details"]
        assert f"Channel 2 (run #{alarm_run}): hard short" in question["details"]
        assert "station closed" in question["details"]
        # Cancel: still open, still running, still alarming
        assert window.isVisible() and engine.running and window.banner.isVisible()
        held = engine.n_samples
        qtbot.waitUntil(lambda: engine.n_samples > held, timeout=20000)
        answer("yes", seen)
        window.close()
        assert len(seen) == 2 and not window.isVisible() and not engine.running
    finally:
        window.shutdown()
        nb.close()
    with Notebook(db_path, read_only=True) as nb:
        run = nb.run(engine.run_id)
        assert (run["status"], run["message"]) == ("aborted", "station closed")
        (stopped,) = [e for e in nb.events(engine.run_id) if e["kind"] == "run_stopped"]
        assert stopped["message"].startswith("station closed") and stopped["severity"] == "info"
        assert stopped["sample_index"] == run["n_samples"] - 1
        assert "operator" not in run["message"] and "operator" not in stopped["message"]
        assert nb.run(alarm_run)["status"] == "shorted"
        assert not [e for e in nb.events(alarm_run) if e["kind"] == "run_stopped"]   # it had ended on its own
    assert stored_alarms(db_path)[alarm_run][1:] == (None, None)       # kept for the next start


def test_closing_with_nothing_going_asks_nothing(qtbot, db_path, settings):
    window, nb = open_station(qtbot, db_path, settings)
    try:
        assert window.close() and window.close_question == ""
    finally:
        window.shutdown()
        nb.close()


def test_stop_asks_first_and_sits_apart_from_pause(qtbot, station, db_path):
    window = station
    panel = window.run_panel
    # (the buttons may be kept in view outside the panel: measured on the screen)
    gap = panel.stop.mapToGlobal(QtCore.QPoint(0, 0)).y() - panel.pause.mapToGlobal(QtCore.QPoint(0, 0)).y() \
        - panel.pause.height()
    assert gap >= 24
    start(window, 1, "sym-agc", preset("plate-strip-0.16"), "600")
    engine = window.session.engine
    qtbot.waitUntil(lambda: engine.n_samples > 5, timeout=20000)
    seen: list = []
    answer("no", seen)
    qtbot.mouseClick(panel.stop, LEFT)
    assert seen[0]["text"] == "Stop the run on channel 1?" and seen[0]["default"]
    assert min(seen[0]["heights"]) >= 60
    time.sleep(0.2)
    QtWidgets.QApplication.processEvents()
    assert engine.running and engine.status == "running"
    answer("yes", seen)
    qtbot.mouseClick(panel.stop, LEFT)
    qtbot.waitUntil(lambda: not engine.running, timeout=20000)
    with Notebook(db_path, read_only=True) as nb:
        run = nb.run(engine.run_id)
    assert (run["status"], run["message"]) == ("aborted", "stopped by the operator")
