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
    assert "hard short" in window.banner.text.text()
    qtbot.waitUntil(lambda: window.run_panel.start.isEnabled(), timeout=10000)
    run_id = window.session.engine.run_id if window.session else 1
    with Notebook(db_path, read_only=True) as nb:
        run = nb.runs()[0]
        assert run["status"] == "shorted" and run["template"] == "sym-bare" and run["n_events"] == 1
        assert nb.samples(run["run_id"]).size == run["n_samples"] > 1000
        assert nb.events(run["run_id"])[0]["acknowledged_utc"] is None
    # the analysis view opens the run just finished: a row per cycle, the half-cycle charge 0.16 mAh
    qtbot.waitUntil(lambda: window.analysis.primary == run_id and not window.analysis.busy, timeout=30000)
    per_cycle = window.analysis.pages["plate-strip"].tables()["per cycle"]
    assert len(per_cycle) >= 2
    assert per_cycle["Plated (mAh)"].iloc[0] == pytest.approx(0.16, rel=0.01)
    qtbot.mouseClick(window.banner.ack, QtCore.Qt.MouseButton.LeftButton)
    assert not window.banner.isVisible()
    with Notebook(db_path, read_only=True) as nb:
        event = nb.events(run_id)[0]
        assert event["acknowledged_utc"] is not None and event["kind"] == "hard_short"


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
