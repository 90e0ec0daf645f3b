"""The station's Outcomes tab: every station's runs from the lab store (or this station's own
from its notebook) in the Outcomes view, "which electrolyte lot shorts, and how soon" in two
clicks, and runs selected there compared in the Notebook browser or opened in Analysis.
Real PostgreSQL, two stations' notebooks synced (tests/gui/lab_stations.py, whose alarm
times give the figures by hand)."""
from __future__ import annotations

import pytest
from PySide6 import QtCore, QtWidgets

from lab_stations import two_stations
from notebook import Notebook

WAIT_MS = 20_000


@pytest.fixture
def lab(lab_store, tmp_path):
    return two_stations(lab_store, tmp_path)


@pytest.fixture
def station(qtbot, lab, tmp_path):
    """Station alpha's main window; its notebook knows the lab."""
    from gui.main_window import MainWindow
    from gui.settings import StationSettings
    nb = Notebook(lab.notebooks["alpha"])
    win = MainWindow(nb, StationSettings(tmp_path / "settings.ini"))
    win.show()
    yield win
    qtbot.waitUntil(lambda: not win.outcomes.busy, timeout=WAIT_MS)
    if win.browser.lab is not None:
        qtbot.waitUntil(lambda: not win.browser.lab.busy, timeout=WAIT_MS)
        win.browser.lab.reader.close()
    win.shutdown()
    win.close()
    win.deleteLater()
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    nb.close()


def click_item(qtbot, listing: QtWidgets.QListWidget, text: str) -> None:
    item = next(listing.item(k) for k in range(listing.count()) if listing.item(k).text() == text)
    qtbot.mouseClick(listing.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=listing.visualItemRect(item).center())


def groups_shown(view) -> list[list[str]]:
    table = view.groups
    return [[table.item(r, c).text() if table.item(r, c) else "" for c in range(4)] for r in range(table.rowCount())]


def open_tab(qtbot, station) -> None:
    tabs = station.tabs
    assert tabs.tabText(tabs.indexOf(station.outcomes)) == "Outcomes"
    assert tabs.indexOf(station.outcomes) == tabs.indexOf(station.browser) + 1
    tabs.setCurrentWidget(station.outcomes)
    qtbot.waitUntil(lambda: not station.outcomes.busy and bool(station.outcomes.view.visible_rows()), timeout=WAIT_MS)


def test_which_electrolyte_lot_shorts_and_how_soon_in_two_clicks(qtbot, station, lab):
    tab = station.outcomes
    assert tab.scope() == "lab"           # the notebook knows its lab: the lab's runs
    open_tab(qtbot, station)
    view = tab.view
    assert {(r["station"], r["local_id"]) for r in view.visible_rows()} == {("alpha", 1), ("alpha", 2), ("beta", 1)}
    assert tab.state.text() == "3 run(s) of the lab, 2 station(s)"
    view.outcome_list.setCurrentRow(view.outcome_list.count() - 1)    # start away from the answer
    click_item(qtbot, view.outcome_list, "Time to short (h)")          # click 1
    click_item(qtbot, view.group_list, "Electrolyte lot")              # click 2
    assert (view.outcome(), view.group_by()) == ("t_short_h", "electrolyte_lot")
    # by hand: LP-118 has alpha's completed run and beta's short at 1 h; LP-120 alpha's at 3 h
    assert groups_shown(view) == [["LP-118", "2", "1", "1"], ["LP-120", "1", "1", "3"]]


def test_runs_selected_in_outcomes_go_to_compare_and_analysis(qtbot, station, lab, tmp_path):
    tab = station.outcomes
    open_tab(qtbot, station)
    shorted = [r["uuid"] for r in lab.runs if r["status"] == "shorted"]
    tab.view.select_runs(shorted)
    qtbot.waitUntil(lambda: tab.compare_button.isEnabled(), timeout=WAIT_MS)
    assert sorted(tab.selected) == sorted(shorted) and not tab.analysis_button.isEnabled()
    tab.compare_button.click()
    browser = station.browser
    assert station.tabs.currentWidget() is browser and browser.scope() == "lab"
    browser.lab.cache = tmp_path / "cache.sqlite"
    qtbot.waitUntil(lambda: len(browser.lab.compare.labels()) == 2, timeout=WAIT_MS)
    assert sorted(browser.lab.compare.labels()) == ["alpha #2 CW-031 (shorted)", "beta #1 BE-007 (shorted)"]
    station.tabs.setCurrentWidget(tab)
    tab.view.select_runs([lab.run("beta", 1)["uuid"]])
    qtbot.waitUntil(lambda: tab.analysis_button.isEnabled(), timeout=WAIT_MS)
    tab.analysis_button.click()
    qtbot.waitUntil(lambda: station.tabs.currentWidget() is station.analysis, timeout=WAIT_MS)
    with Notebook(station.analysis.path, read_only=True) as cache:
        assert cache.run(station.analysis.primary)["source"] == "lab: beta, run #1"


def test_this_stations_outcomes_need_no_lab(qtbot, station, lab):
    tab = station.outcomes
    tab.scope_station.click()
    open_tab(qtbot, station)
    qtbot.waitUntil(lambda: tab.state.text().startswith("2 run(s) of this station"), timeout=WAIT_MS)
    rows = {r["local_id"]: r for r in tab.view.visible_rows()}
    assert set(rows) == {1, 2} and rows[2]["t_short_h"] == pytest.approx(3.0) and rows[1]["t_short_h"] is None
    tab.view.select_runs([rows[1]["uuid"], rows[2]["uuid"]])
    qtbot.waitUntil(lambda: tab.compare_button.isEnabled(), timeout=WAIT_MS)
    tab.compare_button.click()
    browser = station.browser
    assert browser.scope() == "station" and station.tabs.currentWidget() is browser
    assert sorted(browser.selected_run_ids()) == [1, 2] and len(browser.compare.labels()) == 2


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)], ids=["1024x768", "1280x800"])
def test_the_outcomes_tab_fits_small_screens(qtbot, station, lab, size):
    from gui.tools import fit_check
    station.setWindowState(QtCore.Qt.WindowState.WindowNoState)
    station.resize(*size)
    open_tab(qtbot, station)
    station.outcomes.view.set_group_by("electrolyte_lot")
    fit_check.settle(QtWidgets.QApplication.instance())
    assert (station.width(), station.height()) == size
    assert fit_check.problems(station, fit_check.primary_actions(station)) == []
