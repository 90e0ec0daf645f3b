"""Linking a watched cycler channel's run to a saved build from the Cyclers tab: an
emulated Neware BTS over real TCP whose tests carry barcodes no build is named for, so
each channel is watched on a placeholder build. The operator picks a build in the
picker (a cell id scanned into its filter + Enter); the run moves onto that build in
the notebook, keeps receiving samples under the same run id, carries an event saying
who linked it, and its tile shows the build's cell id. A scan that names no build, and
a placeholder build, change nothing."""
from __future__ import annotations

import sqlite3

import pytest
from PySide6 import QtCore

import cell
from cycler_fixtures import channels
from gui.cycler_view import CyclerView
from instruments.sim.cyclers.neware_emulator import NewareEmulator, NewareServer
from notebook import Notebook, NotebookError

# slow enough that the healthy cells' tests run for minutes: the watch is still going when linked
SPEED, SAMPLE_S, POLL_S = 600.0, 10.0, 0.05


@pytest.fixture
def neware():
    server = NewareServer(NewareEmulator(channels("sym-agc,full-agc", sample_interval_s=SAMPLE_S), speed=SPEED))
    yield server
    server.close()


def _query(db_path, sql: str, *params):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _n_samples(db_path, run_id: int) -> int:
    return _query(db_path, "SELECT COALESCE(SUM(n), 0) FROM sample_chunks WHERE run_id = ?", run_id)[0][0]


def test_a_watched_run_is_linked_to_the_build_picked_and_goes_on(qtbot, window, db_path, neware):
    window.settings.set("operator", "C. Wu")
    view: CyclerView = window.cyclers
    window.tabs.setCurrentWidget(view)
    view.add_cycler("neware", "127.0.0.1", neware.port, poll_s=POLL_S)
    qtbot.waitUntil(lambda: len(view.tiles) == 2 and all(f.run_id is not None for f in view.feeds()), timeout=10000)
    feed = next(f for f in view.feeds() if f.info.channel == 1)
    run_id = feed.run_id
    placeholder = _query(db_path, "SELECT build_id FROM runs WHERE id = ?", run_id)[0][0]
    qtbot.waitUntil(lambda: _n_samples(db_path, run_id) > 0, timeout=10000)

    with Notebook(db_path) as nb:        # saved in the builder meanwhile: an older cell and the one on channel 1
        older = nb.save_build(cell.from_template("sym-bare", name="CELL-0041"))
        chosen = nb.save_build(cell.from_template("sym-agc", name="CELL-0042", area_cm2=0.785))

    # a placeholder describes no cell: refused in one line, the run stays where it was
    with pytest.raises(NotebookError, match="describes no cell"):
        view.link_to_build(feed, placeholder)
    # the picker lists the saved builds only (no watch placeholder), newest first
    view.select(feed)
    assert view.link_button.isEnabled()
    dialog = view.ask_link(feed)
    assert [dialog.table.topLevelItem(i).text(1) for i in range(dialog.table.topLevelItemCount())] == \
        ["CELL-0042", "CELL-0041"]
    assert [dialog.table.topLevelItem(i).text(0) for i in range(2)] == [f"#{chosen}", f"#{older}"]
    # a scanned cell id no build has: the dialog stays open and says so; cancelling changes nothing
    qtbot.keyClicks(dialog.filter, "CELL-9999")
    qtbot.keyClick(dialog.filter, QtCore.Qt.Key.Key_Return)
    assert dialog.isVisible() and "CELL-9999" in dialog.problem.text()
    dialog.reject()
    assert _query(db_path, "SELECT build_id FROM runs WHERE id = ?", run_id)[0][0] == placeholder

    # typing filters; the scanned cell id + Enter links the run to that build
    dialog = view.ask_link(feed)
    qtbot.keyClicks(dialog.filter, "cell-0042")
    assert [dialog.table.topLevelItem(i).isHidden() for i in range(2)] == [False, True]
    before = _n_samples(db_path, run_id)
    qtbot.keyClick(dialog.filter, QtCore.Qt.Key.Key_Return)
    assert not dialog.isVisible()

    build_id, area = _query(db_path, "SELECT r.build_id, b.area_cm2 FROM runs r JOIN builds b ON b.id = r.build_id"
                                     " WHERE r.id = ?", run_id)[0]
    assert (build_id, area) == (chosen, pytest.approx(0.785))
    events = _query(db_path, "SELECT message FROM events WHERE run_id = ? AND kind = 'build_linked'", run_id)
    assert events == [(f"linked to build #{chosen} by C. Wu",)]
    view.refresh()
    assert view.tiles[feed.key].cell.text() == "CELL-0042"
    # the other channel was not touched
    other = next(f for f in view.feeds() if f.info.channel == 2)
    assert _query(db_path, "SELECT build_id FROM runs WHERE id = ?", other.run_id)[0][0] != chosen

    # the watch goes on: more samples on the same run, no new run for the channel, still running
    qtbot.waitUntil(lambda: _n_samples(db_path, run_id) > before + 5, timeout=10000)
    assert feed.run_id == run_id and feed.running
    assert _query(db_path, "SELECT COUNT(*) FROM runs")[0][0] == 2

    # closed by the watch, the run keeps its link, though the watch rewrites its provenance
    # then with the detectors it chose from the trace
    qtbot.waitUntil(lambda: feed.channel_watch.detectors is not None, timeout=20000)
    window.shutdown()
    with Notebook(db_path) as nb:
        assert nb.run(run_id)["build_id"] == chosen
        assert nb.provenance(run_id)["linked_build"]["build_id"] == chosen
