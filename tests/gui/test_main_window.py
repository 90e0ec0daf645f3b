"""The station as an operator uses it: build, run, watch, get the alarm, acknowledge."""
from __future__ import annotations

import pytest
from PySide6 import QtCore

from notebook import Notebook


def test_build_run_monitor_alarm_and_acknowledge(qtbot, window, db_path):
    window.builder.select_template("sym-bare")
    window.builder.area.setValue(1.0)
    window.builder.pressure.setValue(5.0)
    assert "500 N" in window.builder.force.text()
    window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("36000"))
    qtbot.mouseClick(window.run_panel.start, QtCore.Qt.MouseButton.LeftButton)
    # the trace grows while the run goes
    qtbot.waitUntil(lambda: window.monitor.points_drawn > 500, timeout=20000)
    first = window.monitor.points_drawn
    qtbot.waitUntil(lambda: window.monitor.points_drawn > first, timeout=20000)
    # the bare symmetric cell shorts: latched banner, run closed as shorted
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=60000)
    (row,) = window.banner.rows.values()
    assert "hard short" in row.text.text() and "Channel 1" in row.text.text()
    qtbot.waitUntil(lambda: window.run_panel.start.isEnabled(), timeout=10000)
    run_id = window.session.engine.run_id if window.session else 1
    with Notebook(db_path, read_only=True) as nb:
        run = nb.runs()[0]
        assert run["status"] == "shorted" and run["template"] == "sym-bare" and run["n_events"] == 1
        assert nb.samples(run["run_id"]).size == run["n_samples"] > 1000
        assert nb.events(run["run_id"])[0]["acknowledged_utc"] is None
    # the analysis view opens the run just finished once it is looked at: a row per cycle,
    # the half-cycle charge 0.16 mAh
    assert window.analysis.primary is None
    window.tabs.setCurrentWidget(window.analysis)
    qtbot.waitUntil(lambda: window.analysis.primary == run_id and not window.analysis.busy, timeout=30000)
    per_cycle = window.analysis.pages["plate-strip"].tables()["per cycle"]
    assert len(per_cycle) >= 2
    # 0.16 mA for 1 h, to one 1 s sample (0.16 / 3600 mAh)
    assert per_cycle["Plated (mAh)"].iloc[0] == pytest.approx(0.16, abs=0.16 / 3600)
    qtbot.mouseClick(row.ack, QtCore.Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()
    with Notebook(db_path, read_only=True) as nb:
        event = nb.events(run_id)[0]
        assert event["acknowledged_utc"] is not None and event["kind"] == "hard_short"
        assert event["acknowledged_by"] == window.operator_name()     # no operator set: named as unknown


def test_an_invalid_build_is_not_saved_and_the_field_is_named(qtbot, window):
    window.builder.pressure.setValue(40.0)
    assert "fixture limit" in window.builder.problems.text()
    assert window.save_current_build() is None
    assert "Not saved" in window.status_label.text()
    assert not window.start_run()
    assert window.notebook.conn.execute("SELECT COUNT(*) FROM builds").fetchone()[0] == 0


def test_saving_a_build_records_it(qtbot, window):
    window.builder.select_template("asym-agc")
    window.builder.operator.setText("CW")
    qtbot.mouseClick(window.save_build, QtCore.Qt.MouseButton.LeftButton)
    stack = window.notebook.build(window.last_build_id)
    assert stack.template == "asym-agc" and stack.operator == "CW"
    assert "Build #1 saved" in window.status_label.text()


def test_a_protocol_that_does_not_fit_the_cell_says_why(qtbot, window):
    window.builder.select_template("sym-agc")
    window.run_panel.protocol.setCurrentIndex(window.run_panel.protocol.findData("rate-test"))
    assert not window.start_run()
    assert "C-rates need a full cell" in window.status_label.text()


def test_a_full_cell_runs_the_rate_test(qtbot, window, db_path):
    window.builder.select_template("full-agc")
    window.run_panel.protocol.setCurrentIndex(window.run_panel.protocol.findData("rate-test"))
    window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("max"))
    assert window.start_run()
    qtbot.waitUntil(lambda: window.run_panel.start.isEnabled(), timeout=60000)
    with Notebook(db_path, read_only=True) as nb:
        run = nb.runs()[0]
        assert run["status"] == "completed" and run["template"] == "full-agc"
        discharges = [s for s in nb.steps(run["run_id"]) if s["label"] == "discharge"]
        assert len(discharges) == 12


def test_the_eis_preset_says_the_analyser_stops_at_20_hz(qtbot, window):
    window.run_panel.protocol.setCurrentIndex(window.run_panel.protocol.findData("eis"))
    assert "stops at 20 Hz" in window.run_panel.note.text()
    assert window.protocol_editor.draft.name == "eis"


def test_a_read_only_notebook_is_browsed_analysed_and_replayed_unchanged(qtbot, tmp_path):
    import hashlib

    import cell
    from acquisition.protocol import preset
    from acquisition.session import prepare_run
    from gui.main_window import MainWindow
    path = tmp_path / "copied.sqlite"
    with Notebook(path) as nb:
        session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=2), speed="max")
        session.engine.run()
        session.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    nb = Notebook(path, read_only=True)
    win = MainWindow(nb)
    qtbot.addWidget(win)
    try:
        assert "read-only" in win.status_label.text()
        win.browser.refresh()
        assert win.browser.runs_model.rowCount() == 1
        win.analyse_run(1)
        qtbot.waitUntil(lambda: win.analysis.primary is not None and not win.analysis.busy, timeout=20000)
        win.replay_run(1)
        (replay, _), = win.replays
        qtbot.waitUntil(lambda: len(replay.buffer) > 0, timeout=10000)
        assert not win.start_run()                       # a run would write: refused, and says why
        assert "read-only" in win.status_label.text()
    finally:
        win.shutdown()
        nb.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_runs_left_running_by_a_crash_are_offered_for_a_look_at_start(qtbot, tmp_path):
    import cell
    from gui.main_window import MainWindow
    from notebook.writer import RunWriter
    path = tmp_path / "crashed.sqlite"
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {})   # never finished: as if the app died
    writer._lock.release()                # ... and the OS dropped its live-run lock with it
    nb = Notebook(path)
    win = MainWindow(nb)
    qtbot.addWidget(win)
    try:
        assert nb.interrupted == [run_id]
        assert win.tabs.currentWidget() is win.browser
        assert win.browser.selected_run_ids() == [run_id]
        assert "interrupted" in win.status_label.text()
    finally:
        win.shutdown()
        nb.close()
        writer.finish("failed")
