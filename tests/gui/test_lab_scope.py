"""The Notebook browser's Lab scope against a real PostgreSQL lab store holding two
stations' notebooks (synced by lab.sync): every station's runs with their station, the
station filter, a note written to the lab as this station, Compare across stations,
Analysis and Replay on fetched runs, and exports that pandas reads back."""
from __future__ import annotations

import pandas as pd
import pytest
from PySide6 import QtCore, QtWidgets

from gui.browser import NotebookBrowser
from gui.lab_scope import LabScope
from lab_stations import two_stations
from notebook import Notebook

WAIT_MS = 20_000


@pytest.fixture
def lab(lab_store, tmp_path):
    return two_stations(lab_store, tmp_path)


def settle(qtbot, scope: LabScope) -> None:
    qtbot.waitUntil(lambda: not scope.busy, timeout=WAIT_MS)


def listed(scope: LabScope) -> set[tuple[str, int]]:
    return {(row["station"], row["local_id"]) for row in scope.rows()}


def shown(scope: LabScope, column: str) -> list[str]:
    """What the table shows in `column` (by header), row by row."""
    k = [c.header for c in scope.model.columns].index(column)
    return [scope.model.data(scope.model.index(r, k)) for r in range(scope.model.rowCount())]


def select(scope: LabScope, *keys: tuple[str, int]) -> list[dict]:
    uuids = [row["uuid"] for row in scope.rows() if (row["station"], row["local_id"]) in keys]
    assert len(uuids) == len(keys)
    scope.select_uuids(uuids)
    return scope.selected_rows()


@pytest.fixture
def scope(qtbot, lab, tmp_path):
    view = LabScope(lab.urls["alpha"], cache=tmp_path / "cache" / "lab-cache.sqlite")
    view.author = lambda: "Carla W."
    qtbot.addWidget(view)
    view.resize(1280, 760)
    view.show()
    qtbot.waitUntil(lambda: view.rows() != [], timeout=WAIT_MS)
    settle(qtbot, view)
    yield view
    settle(qtbot, view)
    view.reader.close()


def test_the_browser_offers_the_lab_once_the_notebook_knows_it(qtbot, lab, tmp_path):
    with Notebook(tmp_path / "own.sqlite") as nb:
        browser = NotebookBrowser(nb)
        qtbot.addWidget(browser)
        assert not browser.scope_lab.isEnabled() and not browser.set_scope("lab") and browser.scope() == "station"
        browser.close()
    nb = Notebook(lab.notebooks["alpha"])
    browser = NotebookBrowser(nb)
    qtbot.addWidget(browser)
    browser.show()
    assert browser.scope_lab.isEnabled()
    browser.scope_lab.click()
    assert browser.scope() == "lab" and browser.lab is not None and browser.lab.isVisible()
    assert "lab store: postgresql://station_alpha@" in browser.scope_note.text()
    qtbot.waitUntil(lambda: browser.lab.rows() != [], timeout=WAIT_MS)
    settle(qtbot, browser.lab)
    # every station's runs, station as a column, each under its own station's name
    assert listed(browser.lab) == {("alpha", 1), ("alpha", 2), ("beta", 1)}
    assert sorted(zip(shown(browser.lab, "Station"), shown(browser.lab, "Run"))) == \
        [("alpha", "1"), ("alpha", "2"), ("beta", "1")]
    assert sorted(shown(browser.lab, "Samples")) == ["12,000", "3,000", "5,000"]
    assert browser.lab.count.text() == "3 run(s) from 2 station(s) in the lab"
    browser.scope_station.click()
    assert browser.scope() == "station" and [r["run_id"] for r in browser.runs_model.rows] == [2, 1]
    browser.lab.reader.close()
    browser.close()
    nb.close()


def test_the_station_filter_and_the_others_ask_the_lab(qtbot, scope, lab):
    stations = scope.filters.combos["station"]
    assert [stations.itemText(k) for k in range(stations.count())] == ["any", "alpha", "beta"]
    stations.setCurrentIndex(stations.findData("beta"))
    qtbot.waitUntil(lambda: listed(scope) == {("beta", 1)}, timeout=WAIT_MS)
    assert scope.count.text() == "1 run(s) from 1 station(s) matching"
    scope.filters.reset()
    qtbot.waitUntil(lambda: len(listed(scope)) == 3, timeout=WAIT_MS)
    # a part of a lot, in any case, across stations
    scope.filters.combos["lot"].setEditText("lp-118")
    qtbot.waitUntil(lambda: listed(scope) == {("alpha", 1), ("beta", 1)}, timeout=WAIT_MS)
    status = scope.filters.combos["status"]
    status.setCurrentIndex(status.findData("shorted"))
    qtbot.waitUntil(lambda: listed(scope) == {("beta", 1)}, timeout=WAIT_MS)
    scope.filters.reset()
    qtbot.keyClicks(scope.filters.text, "CW-031")
    qtbot.waitUntil(lambda: listed(scope) == {("alpha", 2)}, timeout=WAIT_MS)


def test_details_show_the_build_and_a_note_goes_to_the_lab_as_this_station(qtbot, scope, lab):
    select(scope, ("beta", 1))       # another station's run
    settle(qtbot, scope)
    text = scope.detail.text.toPlainText()
    assert "Run 1 of station beta: shorted" in text and "5,000 samples, 1 event(s)" in text
    assert "electrolyte lot: LP-118" in text and "Li 30 µm | LPSCl 40 µm | Li 30 µm" in text
    assert "time to short: 1 h" in text           # the alarm at 3600 s
    assert scope.detail.notes.count() == 0
    qtbot.keyClicks(scope.detail.note_text, "same LP-118 bag as alpha's CW-029")
    qtbot.keyClick(scope.detail.note_text, QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: scope.detail.notes.count() == 1, timeout=WAIT_MS)
    settle(qtbot, scope)
    listed_note = scope.detail.notes.item(0).text()
    assert listed_note.startswith("same LP-118 bag as alpha's CW-029") and "Carla W., alpha" in listed_note
    assert scope.detail.note_text.text() == ""
    with lab.store.connect() as conn:
        rows = conn.execute("SELECT n.author, n.station::text, n.text, r.station::text FROM solidstack.notes n"
                            " JOIN solidstack.runs r ON r.uuid = n.run_uuid").fetchall()
    assert rows == [("Carla W.", "station_alpha", "same LP-118 bag as alpha's CW-029", "station_beta")]
    # a tag likewise, and the list's Tags column follows
    qtbot.keyClicks(scope.detail.tag_text, "LP-118 study")
    scope.detail.add_tag.click()
    qtbot.waitUntil(lambda: scope.detail.tags.count() == 1, timeout=WAIT_MS)
    assert scope.detail.tags.item(0).text() == "LP-118 study   (alpha)"
    settle(qtbot, scope)
    assert "LP-118 study" in shown(scope, "Tags")


def test_a_reader_login_cannot_annotate_and_is_told_so(qtbot, lab, tmp_path):
    view = LabScope(lab.reader_url, cache=tmp_path / "cache.sqlite")
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: len(view.rows()) == 3, timeout=WAIT_MS)
    select(view, ("alpha", 1))
    settle(qtbot, view)
    view.add_note(view.selected_uuids()[0], "not allowed")
    settle(qtbot, view)
    assert "The note was not written to the lab" in view.detail.problem.text()
    assert "may only read" in view.detail.problem.text() and "password" not in view.detail.problem.text()
    with lab.store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM solidstack.notes").fetchone()[0] == 0
    view.reader.close()


def test_an_unreachable_lab_is_said_in_words_and_the_window_goes_on(qtbot, tmp_path):
    import socket
    with socket.socket() as s:           # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    view = LabScope(f"postgresql://station_x@127.0.0.1:{port}/lab", cache=tmp_path / "cache.sqlite")
    qtbot.addWidget(view)
    view.show()
    assert view.count.text() == "loading…"
    qtbot.waitUntil(lambda: not view.busy, timeout=WAIT_MS)
    assert view.count.text() == "the lab did not answer"
    assert f"no PostgreSQL server answers at station_x@127.0.0.1:{port}/lab" in view.status.text()


def test_a_url_holding_a_password_is_refused_without_showing_it(qtbot, tmp_path):
    view = LabScope("postgresql://station_x:s3cret-pw@127.0.0.1:5432/lab", cache=tmp_path / "cache.sqlite")
    qtbot.addWidget(view)
    view.show()
    assert view.reader is None and not view.busy
    assert "holds a password" in view.status.text() and "s3cret-pw" not in view.status.text()
    assert view.count.text() == "the lab did not answer" and view.rows() == []


def test_compare_overlays_runs_from_two_stations(qtbot, scope, lab):
    select(scope, ("alpha", 2), ("beta", 1))
    assert scope.compare_button.isEnabled() and not scope.open_analysis.isEnabled()
    scope.compare_button.click()
    assert scope.progress.isVisible() and not scope.compare_button.isEnabled()
    settle(qtbot, scope)
    assert not scope.progress.isVisible()
    assert sorted(scope.compare.labels()) == ["alpha #2 CW-031 (shorted)", "beta #1 BE-007 (shorted)"]
    curves = scope.compare.curves()
    assert len(curves) == 2
    # every sample of each run came home: the last point is at its last second, in hours
    ends = sorted(float(curve.xData[-1]) if curve.xData is not None else None for curve in curves)
    assert ends == pytest.approx([5000 / 3600, 12_000 / 3600])
    assert scope.right.currentWidget() is scope.compare
    assert scope.status.text() == "2 runs from 2 station(s) compared."


def test_export_writes_files_pandas_reads_with_every_sample(qtbot, scope, lab, tmp_path):
    rows = select(scope, ("alpha", 1), ("beta", 1))
    scope.export_selection("csv", tmp_path / "csv")
    settle(qtbot, scope)
    assert scope.status.text().startswith("Exported 2 run(s), 8,000 samples, to ")
    runs = pd.read_csv(tmp_path / "csv" / "runs.csv")
    assert sorted(zip(runs["station"], runs["local_id"])) == [("alpha", 1), ("beta", 1)]
    for row in rows:
        frame = pd.read_csv(tmp_path / "csv" / f"{row['uuid']}.csv")
        expected = lab.run(row["station"], row["local_id"])["n_samples"]
        assert len(frame) == expected and frame["Test Time / s"].iloc[-1] == pytest.approx(expected)
    scope.export_selection("parquet", tmp_path / "parquet")
    settle(qtbot, scope)
    samples = pd.read_parquet(tmp_path / "parquet" / "samples.parquet")
    assert samples.groupby("station").size().to_dict() == {"alpha": 3000, "beta": 5000}
    assert len(pd.read_parquet(tmp_path / "parquet" / "runs.parquet")) == 2
    # a folder that exists is not written into
    scope.export_selection("csv", tmp_path / "csv")
    assert "exists" in scope.status.text()


@pytest.fixture
def station(qtbot, lab, tmp_path):
    """Station alpha's main window, its notebook knowing the lab."""
    from gui.main_window import MainWindow
    from gui.settings import StationSettings
    settings = StationSettings(tmp_path / "settings.ini")
    nb = Notebook(lab.notebooks["alpha"])
    win = MainWindow(nb, settings)
    win.show()
    yield win
    if win.browser.lab is not None:
        settle(qtbot, win.browser.lab)
        win.browser.lab.reader.close()
    win.shutdown()
    win.close()
    win.deleteLater()
    QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    nb.close()


def test_replay_and_analysis_open_on_a_fetched_run(qtbot, station, lab, tmp_path):
    browser = station.browser
    station.tabs.setCurrentWidget(browser)
    assert browser.set_scope("lab")
    scope = browser.lab
    scope.cache = tmp_path / "cache" / "lab-cache.sqlite"
    qtbot.waitUntil(lambda: len(scope.rows()) == 3, timeout=WAIT_MS)
    select(scope, ("beta", 1))
    scope.replay_button.click()
    qtbot.waitUntil(lambda: len(station.replays) == 1, timeout=WAIT_MS)
    window, reader = station.replays[0]
    assert reader.read_only and reader.path == scope.cache
    assert reader.run(window.run_id)["n_samples"] == 5000
    assert reader.run(window.run_id)["source"] == "lab: beta, run #1"
    assert window.windowTitle().startswith(f"Replay of run #{window.run_id}")
    select(scope, ("alpha", 2))
    scope.open_analysis.click()
    qtbot.waitUntil(lambda: station.tabs.currentWidget() is station.analysis, timeout=WAIT_MS)
    assert station.analysis.path == scope.cache
    with Notebook(scope.cache, read_only=True) as cache:
        assert cache.run(station.analysis.primary)["n_samples"] == 12_000


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)], ids=["1024x768", "1280x800"])
def test_the_lab_scope_fits_small_screens(qtbot, station, lab, size):
    from gui.tools import fit_check
    station.setWindowState(QtCore.Qt.WindowState.WindowNoState)
    station.resize(*size)
    station.tabs.setCurrentWidget(station.browser)
    assert station.browser.set_scope("lab")
    scope = station.browser.lab
    qtbot.waitUntil(lambda: len(scope.rows()) == 3, timeout=WAIT_MS)
    select(scope, ("beta", 1))
    settle(qtbot, scope)
    fit_check.settle(QtWidgets.QApplication.instance())
    assert (station.width(), station.height()) == size
    assert fit_check.problems(station, fit_check.primary_actions(station)) == []
