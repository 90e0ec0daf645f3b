"""An imported run given its cell figures, or linked to a saved build, in the browser's
details as an operator does it: real widgets over a notebook with a real Neware file
imported. A bad value is one line under the form and nothing is stored."""
from __future__ import annotations

import json
import sqlite3

import pytest
from PySide6 import QtCore

import cell
from conftest import TEST_DATA
from gui.analysis_runs import compute, load_run
from gui.browser import NotebookBrowser
from notebook import Notebook
from notebook.importer import import_file

NEWARE = TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv"


@pytest.fixture
def setup(db_path):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("full-agc", name="NMC-12", area_cm2=2.0))
        run_id = import_file(nb, NEWARE).run_id
    return {"run": run_id, "build": build_id}


@pytest.fixture
def browser(qtbot, db_path, setup):
    nb = Notebook(db_path)
    view = NotebookBrowser(nb)
    qtbot.addWidget(view)
    view.show()
    view.select_runs([setup["run"]])
    yield view
    view.close()
    nb.close()


def stored(db_path, run_id) -> tuple:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT build_id, provenance_json FROM runs WHERE id = ?", (run_id,)).fetchone()


def type_figures(qtbot, form, **values) -> None:
    for name, text in values.items():
        form.fields[name].clear()
        qtbot.keyClicks(form.fields[name], text)
    qtbot.mouseClick(form.save, QtCore.Qt.MouseButton.LeftButton)


def test_an_imported_run_shows_its_unknown_figures_and_takes_them(browser, setup, db_path, qtbot):
    form = browser.detail.figures
    assert form.run_id == setup["run"] and form.save.isEnabled() and form.link.isEnabled()
    assert "area, active mass, stack mass, stack thickness unknown" in form.state.text()
    assert "area unknown" in browser.detail.text.toPlainText()

    before = stored(db_path, setup["run"])
    for bad in ("0", "-2", "nan", "abc"):
        type_figures(qtbot, form, area_cm2=bad)
        assert "must be a positive number" in form.problem.text() and bad in form.problem.text()
        assert "\n" not in form.problem.text()
        assert stored(db_path, setup["run"]) == before

    type_figures(qtbot, form, area_cm2="1.54", active_mass_mg="1850")
    assert form.problem.text() == ""
    given = json.loads(stored(db_path, setup["run"])[1])["cell_basis"]
    assert (given["area_cm2"], given["active_mass_mg"]) == (1.54, 1850.0)
    assert "area 1.54 cm²" in browser.detail.text.toPlainText()
    assert ": stack mass, stack thickness unknown." in form.state.text()
    # the analysis now gives mAh/g: mAh over the mass typed in, by hand
    summary = compute("cycling", load_run(db_path, setup["run"]), {})
    assert summary.cycles["discharge_mAh_g"].to_numpy() == pytest.approx(
        summary.cycles["discharge_mAh"].to_numpy() / 1.850, rel=1e-12)


def test_an_imported_run_is_linked_to_a_saved_build(browser, setup, db_path, qtbot):
    form = browser.detail.figures
    assert [form.builds.itemData(k) for k in range(form.builds.count())] == [setup["build"]]   # no placeholder
    qtbot.mouseClick(form.link, QtCore.Qt.MouseButton.LeftButton)
    assert stored(db_path, setup["run"])[0] == setup["build"]
    assert "linked to build" in form.state.text() and not form.save.isEnabled()
    assert "NMC-12" in browser.detail.text.toPlainText()          # the sheet is the linked build's now
    run = load_run(db_path, setup["run"])
    assert run.basis.area_cm2 == 2.0 and run.describes_cell


def test_a_station_run_and_a_read_only_notebook_offer_no_editing(qtbot, db_path, setup):
    with Notebook(db_path, read_only=True) as nb:
        view = NotebookBrowser(nb)
        qtbot.addWidget(view)
        view.select_runs([setup["run"]])
        form = view.detail.figures
        assert form.run_id == setup["run"]
        assert not form.save.isEnabled() and not form.link.isEnabled()
        view.close()


def test_the_analysis_view_shows_an_imported_run_in_mAh_and_ohm_until_it_has_figures(qtbot, db_path, setup):
    from gui.analysis_view import AnalysisView
    with Notebook(db_path) as nb:
        gamry = import_file(nb, TEST_DATA / "eis" / "exampleDataGamry.DTA").run_id
        view = AnalysisView(nb)
    qtbot.addWidget(view)
    view.show()
    try:
        view.show_run(db_path, setup["run"])
        qtbot.waitUntil(lambda: not view.busy, timeout=60000)
        assert [view.tabs.widget(k).kind for k in range(view.tabs.count())] == ["cycling", "dqdv", "shorts"]
        assert "area unknown" in view.heading.text() and "cm²" not in view.heading.text()
        page = view.pages["cycling"]
        assert page.plots["capacity"].getAxis("left").labelText == "Capacity (mAh)"
        per_cycle = page.tables()["per cycle"]
        assert "Discharge (mAh)" in per_cycle.columns and not [c for c in per_cycle.columns if "/g" in c or "/cm²" in c]
        assert any(str(v).startswith("area unknown") for v in page.tables()["summary"]["Value"])

        view.show_run(db_path, gamry)
        qtbot.waitUntil(lambda: not view.busy, timeout=60000)
        nyquist = view.pages["eis"].plots["nyquist"]
        assert nyquist.getAxis("bottom").labelText == "Z' (ohm)"
        assert not [c for c in view.pages["eis"].tables()["parameters"].columns if "cm²" in c]
    finally:
        view.shutdown()
