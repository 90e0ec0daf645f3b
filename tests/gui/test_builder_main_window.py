"""The builder inside the station: the cell-to-run summary, saving from the run side,
and every run pointing at the build it was made on."""
from __future__ import annotations

from PySide6 import QtCore

from acquisition.protocol import preset
from notebook import Notebook


def run_once(qtbot, window):
    window.run_panel.set_protocol(preset("plate-strip-0.16", cycles=1, half_cycle_h=0.01))
    window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("max"))
    assert window.start_run(), window.status_label.text()
    qtbot.waitUntil(lambda: window.run_panel.start.isEnabled(), timeout=30000)
    return window.session.engine.run_id


def test_the_builder_is_the_first_tab_and_the_summary_follows_it(qtbot, window):
    assert window.tabs.currentWidget() is window.builder
    window.builder.select_template("full-agc")
    window.builder.area.setValue(2.0)
    summary = window.build_summary
    assert summary.text.text().replace("\u00a0", " ") == ("Al | NMC | LPSCl | Ag-C | Li\n"
                                                         "2 cm² · 5 MPa = 1,000 N · 60 °C · 1C = 3.200 mA")
    assert summary.state.text().startswith("Valid, not saved yet")
    window.builder.pressure.setValue(40.0)
    assert summary.state.text() == "✖ 1 problem(s) to fix in the builder"
    window.tabs.setCurrentWidget(window.monitor)
    assert window.save_current_build() is None
    assert window.tabs.currentWidget() is window.builder and "fixture limit" in window.status_label.text()
    window.builder.pressure.setValue(5.0)
    qtbot.mouseClick(window.save_build, QtCore.Qt.MouseButton.LeftButton)
    assert window.last_build_id == 1
    assert summary.state.text() == "✓ Build #1 in the notebook; runs will point at it"
    assert not window.save_build.isEnabled()


def test_every_run_points_at_the_build_it_was_made_on(qtbot, window, db_path):
    window.builder.select_template("sym-agc")
    window.builder.operator.setText("CW")
    first_run = run_once(qtbot, window)           # saves the build on the way
    assert window.last_build_id == 1
    second_run = run_once(qtbot, window)          # same cell, same build
    window.builder.area.setValue(0.785)           # an edited build is another cell
    assert window.last_build_id is None
    third_run = run_once(qtbot, window)
    window.builder.doc.undo_stack.undo()          # back to the saved cell: its id again
    assert window.last_build_id == 1
    with Notebook(db_path, read_only=True) as nb:
        runs = {r["run_id"]: r["build_id"] for r in nb.runs()}
        assert runs == {first_run: 1, second_run: 1, third_run: 2}
        assert nb.build(2).area_cm2 == 0.785 and nb.build(1).area_cm2 == 1.0
        assert {b["build_id"]: b["n_runs"] for b in nb.builds()} == {1: 2, 2: 1}
