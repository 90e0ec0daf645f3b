"""The station with a barcode scanner: a scanner types the code's characters in one fast
burst, then Enter. A cell id opens the build and offers to run it; a badge sets the
session's operator (kept across a restart); a lot fills its sheet; a printed label's code
brings its build back. Start run saves a build only once the protocol fits the cell."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import zxingcpp
from PySide6 import QtCore, QtGui

import cell
from acquisition.protocol import preset
from gui.builder_wizard import LAYERS, RECORD
from gui.main_window import MainWindow
from gui.settings import StationSettings
from notebook import Notebook

ENTER = QtCore.Qt.Key.Key_Return


@pytest.fixture
def settings(tmp_path):
    return StationSettings(tmp_path / "station.ini")   # this test's own: nothing leaks to another


@pytest.fixture
def notebook(db_path):
    nb = Notebook(db_path)
    yield nb
    nb.close()


def open_station(qtbot, notebook, settings):
    window = MainWindow(notebook, settings)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):      # keyboard focus, as on a real screen
        window.show()
        window.activateWindow()
    return window


@pytest.fixture
def station(qtbot, notebook, settings):
    window = open_station(qtbot, notebook, settings)
    yield window
    window.shutdown()


def scan_anywhere(qtbot, window, code, delay=-1):
    """A scanner's burst into whatever has the focus (here the tab bar: not a text field)."""
    target = window.tabs.tabBar()
    target.setFocus()
    assert QtGui.QGuiApplication.focusObject() is target
    qtbot.keyClicks(target, code, delay=delay)
    qtbot.keyClick(target, ENTER)


def fast_run(window, name="plate-strip-0.16", **settings):
    window.run_panel.set_protocol(preset(name, cycles=1, **settings))
    window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("max"))


def test_a_scanned_cell_id_opens_its_build_and_offers_to_run_it(qtbot, station, notebook):
    first = notebook.save_build(cell.from_template("sym-agc", name="CW-031", operator="CW"))
    notebook.save_build(cell.from_template("full-agc", name="CW-032", operator="CW"))
    scan_anywhere(qtbot, station, "CW-031")
    assert station.tabs.currentWidget() is station.builder and station.builder.pages.currentIndex() == RECORD
    assert station.last_build_id == first and station.builder.stack().describe() == "Li | Ag-C | LPSCl | Ag-C | Li"
    assert station.status_label.text() == ("Cell CW-031 opened: build #1, Li | Ag-C | LPSCl | Ag-C | Li. "
                                           "▶ Run CW-031 starts it on channel 1.")
    assert station.scan.run_button.isVisible() and station.scan.run_button.text() == "▶ Run CW-031"
    fast_run(station, half_cycle_h=0.01)
    qtbot.mouseClick(station.scan.run_button, QtCore.Qt.MouseButton.LeftButton)   # the offer taken
    qtbot.waitUntil(lambda: station.run_panel.start.isEnabled(), timeout=30000)
    assert [(r["build_id"]) for r in notebook.runs()] == [first]
    assert len(notebook.builds()) == 2                    # the scanned build ran; no new one


def test_typing_slowly_outside_a_field_is_not_a_scan(qtbot, station, notebook):
    notebook.save_build(cell.from_template("sym-agc", name="CW-031"))
    scan_anywhere(qtbot, station, "CW-031", delay=120)    # a person, 120 ms a key
    assert station.last_build_id is None and station.scan.last is None


def test_an_operator_badge_sets_the_operator_until_changed_also_after_a_restart(qtbot, notebook, settings):
    window = open_station(qtbot, notebook, settings)
    scan_anywhere(qtbot, window, "OP:JD")
    assert settings.value("operator") == "JD" and window.scan.operator_button.text() == "Operator: JD"
    assert window.builder.stack().operator == "JD"        # the build being edited is JD's
    assert window.save_current_build() == 1 and notebook.build(1).operator == "JD"
    # the scan field (F2) takes a badge too
    qtbot.keyClick(window.tabs.tabBar(), QtCore.Qt.Key.Key_F2)
    assert window.scan.field.hasFocus()
    qtbot.keyClicks(window.scan.field, "op:AB")
    qtbot.keyClick(window.scan.field, ENTER)
    assert settings.value("operator") == "AB" and window.scan.field.text() == ""
    assert window.scan.operator_choices()[:2] == ["AB", "JD"]
    window.shutdown()
    window.close()
    # a restart on the same settings file: the operator is still AB
    again = open_station(qtbot, notebook, StationSettings(settings.path))
    assert again.scan.operator_button.text() == "Operator: AB" and again.builder.stack().operator == "AB"
    # a known operator's name scanned without the prefix, or chosen from the list
    scan_anywhere(qtbot, again, "JD")
    assert again.settings.value("operator") == "JD"
    again.scan.operator_button.chosen.emit("AB")
    assert again.settings.value("operator") == "AB"
    again.shutdown()


def test_a_scanned_lot_fills_its_sheet_and_material(qtbot, station, notebook):
    stack = cell.from_template("full-agc").edit_layer(1, "lot", "NMC-2026-04").edit_layer(2, "lot", "LP-118")
    notebook.save_build(stack)
    station.builder.select_template("sym-agc")           # Li | Ag-C | LPSCl | Ag-C | Li: no NMC sheet
    station.builder.go_to_step(LAYERS)
    station.builder.layers.select_layer(4)
    scan_anywhere(qtbot, station, "NMC-2026-04")        # fills the selected sheet; its material comes with it
    layers = station.builder.stack().layers
    assert (layers[4].material, layers[4].lot) == ("NMC", "NMC-2026-04")
    assert "sheet 5 (NMC) has it now" in station.status_label.text()
    station.builder.layers.select_layer(None)
    scan_anywhere(qtbot, station, "lp-118")             # no selection: the first LPSCl sheet without a lot
    assert station.builder.stack().layers[2].lot == "LP-118"
    station.builder.doc.undo_stack.undo()
    assert station.builder.stack().layers[2].lot == ""  # one undo step


def test_an_unknown_code_changes_nothing_and_says_so(qtbot, station, notebook):
    before = station.builder.stack()
    scan_anywhere(qtbot, station, "ZZ-404")
    assert station.scan.last.kind == "unknown" and station.builder.stack() == before
    assert "Scanned 'ZZ-404': not a cell id, lot or an operator badge (OP:NAME)" in station.status_label.text()


def test_a_printed_label_scanned_brings_its_build_back(qtbot, station, notebook):
    from gui.label import render_label
    from notebook.labels import label_text
    build = notebook.save_build(cell.from_template("full-agc", name="CW-20261202-3", operator="CW"))
    image = render_label(label_text(notebook, build), (62, 29)).convertToFormat(QtGui.QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[:, :image.width()]
    decoded = [b.text for b in zxingcpp.read_barcodes(np.ascontiguousarray(pixels))]
    assert decoded == ["CW-20261202-3"]
    station.builder.select_template("sym-bare")
    scan_anywhere(qtbot, station, decoded[0])
    assert station.last_build_id == build and station.builder.stack().name == "CW-20261202-3"


def test_start_run_refuses_a_protocol_that_does_not_fit_before_saving_a_build(qtbot, station, notebook, settings):
    settings.set("operator", "CW")
    station.builder.select_template("sym-agc")                 # no cathode
    fast_run(station, "rate-test")                              # C-rates need a full cell
    assert not station.start_run()
    assert "Cannot start on channel 1" in station.status_label.text() and "no cathode" in station.status_label.text()
    assert notebook.builds() == [] and station.builder.stack().name == ""   # nothing saved, nothing named
    fast_run(station, half_cycle_h=0.01)
    assert station.start_run(), station.status_label.text()
    qtbot.waitUntil(lambda: station.run_panel.start.isEnabled(), timeout=30000)
    today = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
    builds = notebook.builds()
    assert [(b["name"], b["operator"], b["n_runs"]) for b in builds] == [(f"CW-{today}-1", "CW", 1)]
    assert station.builder.stack().name == f"CW-{today}-1" and station.last_build_id == builds[0]["build_id"]
    assert station.build_summary.state.text().startswith(f"✓ Build #{builds[0]['build_id']}")


def test_a_scan_into_a_text_field_stays_in_that_field(qtbot, station, notebook):
    notebook.save_build(cell.from_template("sym-agc", name="CW-031"))
    builder = station.builder
    builder.go_to_step(RECORD)
    builder.cell_name.setFocus()
    qtbot.keyClicks(builder.cell_name, "CW-031")     # a known cell id, scanned into the new cell's Cell id
    qtbot.keyClick(builder.cell_name, ENTER)
    assert builder.stack().name == "CW-031" and builder.operator.hasFocus()
    assert station.scan.last is None and station.last_build_id is None   # not taken as a global scan
