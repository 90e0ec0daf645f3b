"""The notebook browser as an operator uses it: filter, open a run, annotate, compare,
export and import, and hand a run to the analysis view. Real widgets, real notebooks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6 import QtCore

import cell
from conftest import TEST_DATA
from gui.browser import NotebookBrowser
from notebook import Notebook, empty_samples
from notebook.writer import RunWriter


def record(db_path, stack, status, n, ref=False, event=False) -> int:
    with Notebook(db_path) as nb:
        build_id = nb.save_build(stack)
    s = empty_samples(n)
    s["t"] = np.arange(1, n + 1, dtype=float)
    s["voltage"] = 0.01 * np.sin(s["t"] / 600)
    s["current"] = 1.6e-4
    if ref:
        s["ref"] = 0.002
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", '{"cycles": 50}', {"app_version": "test"})
    writer.append(s)
    if event:
        writer.event({"t_s": 7200.0, "sample_index": 7199, "kind": "hard_short", "severity": "alarm",
                      "message": "voltage collapsed to 0.2 mV"})
    writer.finish(status)
    return run_id


@pytest.fixture
def lab(db_path):
    agc = cell.from_template("sym-agc", operator="CW", name="CW-031").edit_layer(1, "lot", "AgC-S3")
    bare = cell.from_template("sym-bare", operator="BE", name="BE-007").edit_layer(1, "lot", "LP-120")
    runs = {"agc": record(db_path, agc, "completed", 20_000, ref=True),
            "bare": record(db_path, bare, "shorted", 8_000, event=True)}
    with Notebook(db_path) as nb:
        nb.add_note("dendrite seen at the edge after opening", run_id=runs["bare"])
    return runs


@pytest.fixture
def browser(qtbot, db_path, lab):
    nb = Notebook(db_path)
    view = NotebookBrowser(nb)
    qtbot.addWidget(view)
    view.show()
    yield view
    view.close()
    nb.close()


def listed(view) -> list[int]:
    return [row["run_id"] for row in view.runs_model.rows]


def test_filters_narrow_the_runs_and_builds(browser, lab, qtbot):
    assert listed(browser) == [lab["bare"], lab["agc"]]
    assert "2 run(s), 2 build(s) in the notebook" == browser.count.text()
    qtbot.keyClicks(browser.filters.text, "DENDRITE")
    assert listed(browser) == [lab["bare"]]
    assert [b["name"] for b in browser.builds_model.rows] == ["BE-007"]          # a run's note finds its build
    browser.filters.reset()
    operator = browser.filters.combos["operator"]
    assert [operator.itemText(k) for k in range(operator.count())] == ["any", "BE", "CW"]
    operator.setCurrentIndex(operator.findData("CW"))
    assert listed(browser) == [lab["agc"]]
    browser.filters.reset()
    browser.filters.combos["lot"].setEditText("lp-12")                           # part of a lot, any case
    assert listed(browser) == [lab["bare"]]
    browser.filters.reset()
    status = browser.filters.combos["status"]
    status.setCurrentIndex(status.findData("shorted"))
    assert listed(browser) == [lab["bare"]] and "1 run(s), 1 build(s) matching" == browser.count.text()
    browser.filters.reset()
    browser.filters.use_until.setChecked(True)
    browser.filters.until.setDate(QtCore.QDate.currentDate().addDays(-1))        # before anything was recorded
    assert listed(browser) == []


def test_opening_a_run_shows_its_build_protocol_and_events(browser, lab):
    browser.select_runs([lab["bare"]])
    text = browser.detail.text.toPlainText()
    assert f"Run {lab['bare']}: shorted" in text and "Protocol plate-strip-0.16 v1" in text
    assert "Build: BE-007: Li | LPSCl | Li" in text and "LP-120" in text
    assert browser.detail.events.rowCount() == 1
    assert browser.detail.events.item(0, 0).text() == "2.000" and browser.detail.events.item(0, 1).text() == "hard_short"
    assert browser.detail.lower.tabText(1) == "Events (1)"
    assert [browser.detail.notes.item(k).text().split("   ")[0] for k in range(browser.detail.notes.count())] == \
        ["dendrite seen at the edge after opening"]


def test_notes_and_tags_added_in_the_browser_are_kept(browser, lab, qtbot, db_path):
    browser.select_runs([lab["agc"]])
    qtbot.keyClicks(browser.detail.note_text, "pressure held at 5.0 MPa throughout")
    qtbot.keyClick(browser.detail.note_text, QtCore.Qt.Key.Key_Return)
    qtbot.keyClicks(browser.detail.tag_text, "paper-fig3")
    qtbot.mouseClick(browser.detail.add_tag, QtCore.Qt.MouseButton.LeftButton)
    qtbot.keyClicks(browser.detail.tag_text, "bad, tag")
    qtbot.mouseClick(browser.detail.add_tag, QtCore.Qt.MouseButton.LeftButton)
    assert "without commas" in browser.detail.problem.text()
    with Notebook(db_path, read_only=True) as nb:
        assert [n["text"] for n in nb.notes(run_id=lab["agc"])] == ["pressure held at 5.0 MPa throughout"]
        assert nb.tags(run_id=lab["agc"]) == ["paper-fig3"]
    row = browser.runs_model.rows[listed(browser).index(lab["agc"])]
    assert row["tags"] == "paper-fig3"                                   # the list shows it at once
    tag = browser.filters.combos["tag"]
    tag.setCurrentIndex(tag.findData("paper-fig3"))
    assert listed(browser) == [lab["agc"]]
    browser.filters.reset()
    browser.select_runs([lab["agc"]])
    browser.detail.tags.setCurrentRow(0)
    qtbot.mouseClick(browser.detail.remove_tag, QtCore.Qt.MouseButton.LeftButton)
    with Notebook(db_path, read_only=True) as nb:
        assert nb.tags(run_id=lab["agc"]) == []


def test_a_build_opens_with_its_sheet_and_takes_notes(browser, lab, db_path, qtbot):
    browser.lists.setCurrentWidget(browser.builds)
    build_id = next(b["build_id"] for b in browser.builds_model.rows if b["name"] == "CW-031")
    browser.select_build(build_id)
    assert "CW-031: Li | Ag-C | LPSCl | Ag-C | Li" in browser.detail.text.toPlainText()
    qtbot.keyClicks(browser.detail.note_text, "Ag-C sheet from the new roll")
    qtbot.keyClick(browser.detail.note_text, QtCore.Qt.Key.Key_Return)
    assert "Ag-C sheet from the new roll" in browser.detail.text.toPlainText()   # the sheet lists build notes
    with Notebook(db_path, read_only=True) as nb:
        assert [n["text"] for n in nb.notes(build_id=build_id)] == ["Ag-C sheet from the new roll"]


def test_compare_overlays_the_selected_runs(browser, lab, qtbot):
    browser.select_runs([lab["agc"], lab["bare"]])
    assert browser.compare_button.isEnabled() and not browser.open_analysis.isEnabled()
    qtbot.mouseClick(browser.compare_button, QtCore.Qt.MouseButton.LeftButton)
    assert browser.right.currentWidget() is browser.compare
    assert browser.compare.labels() == [f"#{lab['agc']} CW-031 (completed)", f"#{lab['bare']} BE-007 (shorted)"]
    curves = browser.compare.curves()
    assert [c.xData.size for c in curves] == [20_000, 8_000]
    assert curves[0].xData[-1] == pytest.approx(20_000 / 3600)          # hours
    browser.compare.channel.setCurrentIndex(browser.compare.channel.findData("ref"))
    assert len(browser.compare.curves()) == 1                             # only one run has a reference electrode
    assert browser.compare.caption.text() == "1 run(s) overlaid; 1 without this channel"


def test_export_and_import_from_the_browser(browser, lab, tmp_path, db_path):
    browser.select_runs([lab["agc"]])
    out = browser.export_to("bdf-csv", tmp_path / "agc.csv")
    table = pd.read_csv(out)
    assert len(table) == 20_000 and table["Reference Potential / V"].iloc[0] == 0.002
    assert browser.status.text() == f"Exported to {out}"
    run_id = browser.import_path(TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv")
    assert browser.selected_run_ids() == [run_id] and listed(browser)[0] == run_id
    # the import's stored warning (the start taken in this computer's zone) follows the result
    status = browser.status.text()
    assert status.startswith(f"Imported nw_regular_export_ife_example.csv as run {run_id}.\nwarning: ")
    assert "taken as this computer's zone" in status
    bad = tmp_path / "bad.csv"
    bad.write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,0.1\n1,x,0.1\n")
    assert browser.import_path(bad) is None
    assert browser.status.text().startswith(f"Not imported: {bad}, line 3, field 'Voltage / V'")
    assert len(listed(browser)) == 3


def test_a_read_only_notebook_is_browsed_without_editing(qtbot, db_path, lab):
    with Notebook(db_path, read_only=True) as nb:
        view = NotebookBrowser(nb)
        qtbot.addWidget(view)
        view.select_runs([lab["bare"]])
        assert "dendrite" in view.detail.notes.item(0).text()
        assert not view.detail.note_text.isEnabled() and not view.detail.add_tag.isEnabled()
        assert not view.import_button.isEnabled() and view.import_button.toolTip() == "The notebook is open read-only"
        view.close()


def test_open_in_analysis_hands_the_run_to_the_analysis_view(qtbot, db_path, lab):
    from gui.main_window import MainWindow
    nb = Notebook(db_path)
    window = MainWindow(nb)
    qtbot.addWidget(window)
    try:
        window.tabs.setCurrentWidget(window.browser)
        window.browser.select_runs([lab["agc"]])
        assert window.browser.open_analysis.isEnabled()
        shown = []
        window.analysis.show_run = lambda notebook, run_id: shown.append((notebook, run_id))
        qtbot.mouseClick(window.browser.open_analysis, QtCore.Qt.MouseButton.LeftButton)
        assert shown == [(nb, lab["agc"])] and window.tabs.currentWidget() is window.analysis
    finally:
        window.shutdown()
        window.close()
        nb.close()


def notes_in_sqlite(db_path) -> list[tuple]:
    """Every note as stored: (text, run_id, build_id), read by a plain SQLite connection."""
    import sqlite3
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [tuple(r) for r in conn.execute("SELECT text, run_id, build_id FROM notes ORDER BY id")]
    finally:
        conn.close()


def test_a_note_goes_to_the_run_the_filtered_list_shows_selected(browser, lab, qtbot, db_path):
    """Issue 18: a search narrowed the list to run 1 while the details still showed run 2,
    and the note typed there was saved on run 2."""
    browser.select_runs([lab["bare"]])
    assert browser.detail.target == {"run_id": lab["bare"]}
    qtbot.keyClicks(browser.detail.note_text, "half-typed for BE-007")
    qtbot.keyClicks(browser.filters.text, "CW-031")                      # the list narrows to the other run
    assert listed(browser) == [lab["agc"]] and browser.selected_run_ids() == []
    qtbot.keyClicks(browser.detail.note_text, "should go nowhere")       # what the operator did in the issue
    qtbot.keyClick(browser.detail.note_text, QtCore.Qt.Key.Key_Return)
    qtbot.mouseClick(browser.detail.add_note, QtCore.Qt.MouseButton.LeftButton)
    assert notes_in_sqlite(db_path) == [("dendrite seen at the edge after opening", lab["bare"], None)]
    # nothing selected: nothing shown, nothing to annotate, the half-typed note is gone
    assert browser.detail.target == {}
    assert f"Run {lab['bare']}" not in browser.detail.text.toPlainText()
    assert not browser.detail.note_text.isEnabled() and not browser.detail.add_note.isEnabled()
    assert not browser.detail.add_tag.isEnabled() and not browser.detail.figures.save.isEnabled()
    assert not browser.open_analysis.isEnabled() and not browser.replay_button.isEnabled()
    assert not browser.export_button.isEnabled()
    assert browser.detail.note_text.text() == ""
    browser.detail._add_note()                                           # even if invoked anyway
    before = notes_in_sqlite(db_path)
    assert before == [("dendrite seen at the edge after opening", lab["bare"], None)]
    # the operator selects the row the list shows, and the note goes there
    browser.runs.selectRow(0)
    assert browser.detail.target == {"run_id": lab["agc"]}
    assert f"Run {lab['agc']}: completed" in browser.detail.text.toPlainText()
    qtbot.keyClicks(browser.detail.note_text, "interlayer intact")
    qtbot.keyClick(browser.detail.note_text, QtCore.Qt.Key.Key_Return)
    assert notes_in_sqlite(db_path) == before + [("interlayer intact", lab["agc"], None)]
    # the actions on the selection agree with the details
    assert browser.open_analysis.isEnabled()
    shown = []
    browser.analysis_requested.connect(shown.append)
    browser.replay_requested.connect(shown.append)
    browser.open_analysis.click()
    browser.replay_button.click()
    assert shown == [lab["agc"], lab["agc"]]


def test_a_note_goes_to_the_build_the_filtered_list_shows_selected(browser, lab, qtbot, db_path):
    browser.lists.setCurrentWidget(browser.builds)
    builds = {b["name"]: b["build_id"] for b in browser.builds_model.rows}
    browser.select_build(builds["BE-007"])
    assert browser.detail.target == {"build_id": builds["BE-007"]}
    operator = browser.filters.combos["operator"]
    operator.setCurrentIndex(operator.findData("CW"))
    assert [b["name"] for b in browser.builds_model.rows] == ["CW-031"]
    assert browser.detail.target == {} and not browser.detail.note_text.isEnabled()
    browser.builds.selectRow(0)
    qtbot.keyClicks(browser.detail.note_text, "new Ag-C roll")
    qtbot.keyClick(browser.detail.note_text, QtCore.Qt.Key.Key_Return)
    assert notes_in_sqlite(db_path)[-1] == ("new Ag-C roll", None, builds["CW-031"])
    # a build sheet is exported for the build selected, not the one shown before the filter
    assert browser.export_actions["build-sheet"].isEnabled()


def test_the_details_follow_the_list_on_screen_and_clear_for_several_runs(browser, lab, qtbot, db_path):
    browser.select_runs([lab["bare"]])
    browser.lists.setCurrentWidget(browser.builds)
    assert browser.detail.target == {}                                   # no build selected in this list
    browser.builds.selectRow(0)
    build = browser.selected_build_id()
    assert browser.detail.target == {"build_id": build}
    browser.lists.setCurrentWidget(browser.runs)                         # back: the run still selected there
    assert browser.detail.target == {"run_id": lab["bare"]}
    browser.select_runs([lab["bare"], lab["agc"]])
    assert browser.detail.target == {} and "2 runs are selected" in browser.detail.text.toPlainText()
    browser.detail._add_tag()
    assert notes_in_sqlite(db_path) == [("dendrite seen at the edge after opening", lab["bare"], None)]
    with Notebook(db_path, read_only=True) as nb:
        assert nb.tags(run_id=lab["bare"]) == [] and nb.tags(run_id=lab["agc"]) == []


def test_build_run_counts_follow_runs_started_and_ended(browser, lab, qtbot, db_path):
    """Issue 18: the build list's run counts were stale. A run recorded by another
    connection (a channel's writer, another process) shows while the tab is on screen."""
    def runs_of(name: str) -> int:
        return next(b["n_runs"] for b in browser.builds_model.rows if b["name"] == name)

    assert runs_of("CW-031") == 1
    build_id = next(b["build_id"] for b in browser.builds_model.rows if b["name"] == "CW-031")
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", '{"cycles": 50}', {"app_version": "test"})
    assert browser.refresh_if_changed()
    assert runs_of("CW-031") == 2 and listed(browser)[0] == run_id
    assert browser.runs_model.rows[0]["status"] == "running"
    assert not browser.refresh_if_changed()                             # nothing new: no re-query
    browser.select_runs([run_id])
    assert f"Run {run_id}: running" in browser.detail.text.toPlainText()
    s = empty_samples(10)
    s["t"] = np.arange(1, 11, dtype=float)
    writer.append(s)
    writer.finish("completed")
    qtbot.waitUntil(lambda: browser.runs_model.rows[0]["status"] == "completed", timeout=5000)   # the poll
    assert f"Run {run_id}: completed" in browser.detail.text.toPlainText()          # the details too
    assert browser.selected_run_ids() == [run_id]


def test_the_protocol_reads_as_steps_with_the_definition_on_demand(qtbot, db_path):
    """Issue 18: the details showed the protocol as raw JSON."""
    from acquisition.protocol import plate_strip
    protocol = plate_strip(current_density_mA_cm2=0.16, half_cycle_h=2.0, cycles=7)
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-bare", name="BE-008"))
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, protocol.name, protocol.to_json(), {"app_version": "test"})
    writer.finish("completed")
    with Notebook(db_path) as nb:
        view = NotebookBrowser(nb)
        qtbot.addWidget(view)
        view.select_runs([run_id])
        text = view.detail.text.toPlainText()
        # the figures given to plate_strip above, in the lab's units: 2 h half cycles, 7 cycles, ±0.16 mA/cm²
        assert "1 Loop: × 7, 2 steps, each pass a cycle" in text
        assert "1.1 Constant current (plate): +0.16 mA/cm², up to 2 h, a sample every 1 s" in text
        assert "1.2 Constant current (strip): -0.16 mA/cm², up to 2 h" in text
        assert "voltage limit (compliance) 1 V" in text
        assert '"kind"' not in text and "Show definition" in text
        view.detail.text.anchorClicked.emit(QtCore.QUrl("#definition"))
        shown = view.detail.text.toPlainText()
        assert '"kind": "loop"' in shown and '"repeat": 7' in shown and "Hide definition" in shown
        view.detail.toggle_definition()
        assert '"kind"' not in view.detail.text.toPlainText()
        view.close()


def test_a_definition_without_a_program_says_so():
    from gui.browser_detail import protocol_lines
    assert protocol_lines({"format": "neware-csv"}) == [
        "- the steps the imported file recorded (neware-csv); no program is stored"]
    assert protocol_lines({"cycles": 50}) == ["- no step program is stored with this run"]
    assert protocol_lines({"name": "odd", "program": [3]}) == ["- 1 unreadable step 3"]
    eis = protocol_lines({"name": "eis", "voltage_limit_v": 5.0, "program": [
        {"kind": "eis", "f_start_hz": 1e6, "f_stop_hz": 20.0, "points": 51, "amplitude_v": 0.01}]})
    assert eis[0] == "- voltage limit (compliance) 5 V" and eis[1].startswith("- 1 EIS sweep: 1 MHz → 20 Hz")
    assert "10 mV" in eis[1]
