"""The sync from a station's notebook to the lab store, against the real test server: what the
lab holds equals the notebook (every sample decoded and compared, every kind counted), a
repeated or killed-and-restarted sync changes nothing, a run's status only moves forward, a
removed tag is marked removed, the worker rides out the server leaving the network and pushes
a live run's samples within 5 s of their local commit."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest

from lab.backlog import Backlog, backlog
from lab.connection import LabError
from lab.sync import LabOffline, SyncStatus, SyncWorker, sync_once
from notebook import Notebook
from notebook.station import identity
from notebook.store import connect as notebook_connect
from notebook.writer import RunWriter
from sync_helpers import (assert_lab_holds_notebook, copy_notebook, lab_counts, lab_snapshot, outbox_size,
                          samples, wait_for, write_run)
from tcp_gate import TcpGate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def station(lab_store):
    """(store, the station's URL, an admin connection to read the lab with)."""
    url = lab_store.add_station("alpha")
    with psycopg.connect(lab_store.url, autocommit=True) as admin:
        yield lab_store, url, admin


def test_backlog_counts_runs_samples_and_records_from_the_outbox(db_path):
    run_a = write_run(db_path, 5000, chunk=2000, spectra=1)
    run_b = write_run(db_path, 1500, chunk=1000, spectra=0)
    conn = notebook_connect(db_path)
    try:
        got = backlog(conn)
        # by hand: two runs; 5000 + 1500 samples in chunks; every outbox row
        assert got == Backlog(2, 6500, conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
        conn.execute("DELETE FROM outbox WHERE kind = 'chunk' AND ref = ?", (run_a,))
        conn.commit()
        assert backlog(conn).samples == 1500 and backlog(conn).runs == 2     # run a's row updates still wait
        conn.execute("DELETE FROM outbox WHERE ref = ? AND kind IN ('run', 'step', 'spectrum')", (run_a,))
        conn.execute("DELETE FROM outbox WHERE kind = 'event' AND ref IN (SELECT id FROM events WHERE run_id = ?)",
                     (run_a,))
        conn.commit()
        assert backlog(conn).runs == 1
        conn.execute("DELETE FROM outbox")
        conn.commit()
        assert backlog(conn) == Backlog(0, 0, 0) and backlog(conn).empty
    finally:
        conn.close()
    assert run_b


def test_status_texts():
    at = datetime(2026, 12, 2, 14, 5)
    assert SyncStatus("synced").text() == "lab: synced"
    assert SyncStatus("behind", Backlog(3, 120000, 40)).text() == "lab: 3 runs / 120,000 samples behind"
    assert SyncStatus("behind", Backlog(1, 2500, 3)).text() == "lab: 1 run / 2,500 samples behind"
    assert SyncStatus("offline", Backlog(3, 1, 4), since=at).text() == "lab: offline since 14:05"
    assert SyncStatus("not_set_up").text() == "lab: not set up"
    assert SyncStatus("starting").text() == "lab: connecting…"      # until the thread has read the outbox
    assert SyncStatus("error", since=at, error="refused").text() == "lab: error since 14:05"


def test_a_synced_notebook_is_in_the_lab_sample_for_sample_and_a_second_sync_changes_nothing(
        station, shorted_run, tmp_path):
    store, url, lab = station
    path = copy_notebook(shorted_run[0], tmp_path / "station.sqlite")    # the simulated bench's run to its short
    write_run(path, 23_456, chunk=1000, spectra=3)                       # and one with spectra and odd chunks
    with Notebook(path) as nb:
        run_id = nb.conn.execute("SELECT MIN(id) FROM runs").fetchone()[0]
        nb.add_note("looked fine until cycle 40", run_id=run_id, author="CW")
        nb.add_tag("agc", run_id=run_id)
        nb.add_tag("first", build_id=nb.run(run_id)["build_id"])
        nb.acknowledge_alarms(run_id, "CW")
        n_samples = nb.conn.execute("SELECT SUM(n_samples) FROM runs").fetchone()[0]
    report = sync_once(path, url, batch_rows=300, batch_bytes=256 * 1024)
    assert report.batches > 3 and report.behind == Backlog(0, 0, 0) and outbox_size(path) == 0
    assert report.pushed["runs"] == 2 and report.pushed["samples"] == n_samples
    assert report.pushed["spectra"] == 3 and report.pushed["spectrum_points"] == 36 and report.pushed["notes"] == 1
    assert report.station == "alpha" and "station_alpha@" in report.url
    assert_lab_holds_notebook(lab, path)
    # the station's row now carries this notebook's identity
    with Notebook(path) as nb:
        me = identity(nb.conn)
    mine = lab.execute("SELECT uuid::text FROM solidstack.stations WHERE role = 'station_alpha'").fetchone()[0]
    assert mine == me.uuid
    # every run ended: its outcome figures went too (the shorted run's time to short, from its alarm)
    t_short = lab.execute("SELECT o.t_short_h FROM solidstack.run_outcomes o JOIN solidstack.runs r"
                          " ON r.uuid = o.run_uuid WHERE r.local_id = %s", (run_id,)).fetchone()[0]
    assert t_short == pytest.approx(shorted_run[2]["t_s"] / 3600.0)
    assert lab.execute("SELECT count(*) FROM solidstack.run_outcomes").fetchone()[0] == 2
    # NaN in the notebook's JSON became null in the lab's jsonb; nothing else changed
    assert lab.execute("SELECT protocol_json FROM solidstack.runs WHERE local_id = 2").fetchone()[0] == {
        "cycles": 3, "bad": None}
    before = lab_snapshot(lab)
    again = sync_once(path, url)
    assert again.batches == 0 and not any(again.pushed.values())
    assert lab_snapshot(lab) == before


def test_a_sync_replayed_after_its_commit_rewrites_no_row(station, tmp_path):
    """As if killed between the lab's COMMIT and deleting the outbox rows: the whole outbox
    is pushed again and the lab's rows keep their row versions."""
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    write_run(path, 12_000, chunk=1500, spectra=2)
    kept = copy_notebook(path, tmp_path / "before.sqlite")
    sync_once(path, url)
    before = lab_snapshot(lab)
    copy_notebook(kept, path)                 # the outbox as it was before the sync
    replay = sync_once(path, url, batch_rows=50)
    assert replay.pushed["samples"] == 12_000 and replay.batches > 1
    assert lab_snapshot(lab) == before
    assert_lab_holds_notebook(lab, path)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_sync_killed_mid_drain_and_restarted_leaves_the_lab_equal_to_the_notebook(station, tmp_path, seed):
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    write_run(path, 300_000, chunk=1000, spectra=4)
    write_run(path, 40_000, chunk=700, spectra=1, status="shorted")
    total_chunks = _count(path, "sample_chunks")
    assert total_chunks >= 300 + 58
    # a real process SIGKILLed once the lab holds a seeded number of chunks
    kill_at = random.Random(seed).randrange(20, total_chunks - 60)
    code = (f"from lab.sync import sync_once; sync_once({str(path)!r}, {url!r}, batch_rows=40, "
            f"batch_bytes=4 * 56000)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        wait_for(lambda: lab.execute("SELECT count(*) FROM solidstack.sample_chunks").fetchone()[0] >= kill_at
                 or proc.poll() is not None, 60, 0.005, "the sync reaching its kill point")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, "the sync ended before it was killed: give it more to do"
    partial = lab_counts(lab)["sample_chunks"]
    assert 0 < partial < total_chunks and outbox_size(path) > 0
    report = sync_once(path, url)
    assert report.behind.empty
    assert lab_counts(lab)["sample_chunks"] == total_chunks
    assert_lab_holds_notebook(lab, path)
    before = lab_snapshot(lab)
    sync_once(path, url)
    assert lab_snapshot(lab) == before


def test_a_runs_status_only_moves_forward_and_a_removed_tag_is_marked_removed(station, tmp_path):
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    with Notebook(path) as nb:
        import cell
        build_id = nb.save_build(cell.from_template("sym-agc", operator="CW"))
    writer = RunWriter(path, chunk_samples=500)
    run_id = writer.start_run(build_id, "p", "{}", {})
    writer.append(samples(1200))
    wait_for(lambda: _n_samples(path, run_id) == 1200, 10, what="the writer's commit")
    running = copy_notebook(path, tmp_path / "running.sqlite")     # a stale copy: the run still running
    sync_once(path, url)
    assert lab.execute("SELECT status FROM solidstack.runs").fetchone()[0] == "running"
    writer.finish("completed")
    with Notebook(path) as nb:
        nb.add_tag("keep", run_id=run_id)
        nb.add_tag("drop", run_id=run_id)
    sync_once(path, url)
    status, ended = lab.execute("SELECT status, ended_utc FROM solidstack.runs").fetchone()
    assert status == "completed" and ended
    # the stale copy pushed again cannot take the run back to running
    sync_once(running, url)
    assert lab.execute("SELECT status, ended_utc FROM solidstack.runs").fetchone() == (status, ended)
    with Notebook(path) as nb:
        assert nb.remove_tag("drop", run_id=run_id)
    sync_once(path, url)
    tags = dict(lab.execute("SELECT tag, removed_utc FROM solidstack.run_tags").fetchall())
    assert tags["keep"] is None
    removed = datetime.fromisoformat(tags["drop"])
    assert abs((datetime.now(removed.tzinfo) - removed).total_seconds()) < 60
    assert lab.execute("SELECT tags FROM solidstack.lab_runs").fetchone()[0] == "keep"


def test_a_login_that_is_not_a_station_is_told_so_and_nothing_is_pushed(lab_store, tmp_path):
    reader = lab_store.add_reader("desk")
    path = tmp_path / "nb.sqlite"
    write_run(path, 1000)
    before = outbox_size(path)
    with pytest.raises(LabError, match="reader"):
        sync_once(path, reader)
    with psycopg.connect(lab_store.url, autocommit=True) as admin:
        admin.execute("CREATE ROLE lost LOGIN IN ROLE solidstack_station PASSWORD 'x'")
        lab_store.db.server.add_password("lost", "x", lab_store.db.name)
        with pytest.raises(LabError, match="this login is not a station of the lab: ask the lab admin to run "
                                           "`lab add-station`"):
            sync_once(path, lab_store.url_for("lost"))
        admin.execute("CREATE ROLE stranger LOGIN PASSWORD 'y'")      # in no group of the lab's
        lab_store.db.server.add_password("stranger", "y", lab_store.db.name)
        with pytest.raises(LabError, match="this login is not a station of the lab.*may not read"):
            sync_once(path, lab_store.url_for("stranger"))
        assert admin.execute("SELECT count(*) FROM solidstack.runs").fetchone()[0] == 0
    assert outbox_size(path) == before


def test_a_second_notebook_on_the_same_login_is_refused(station, tmp_path):
    store, url, lab = station
    first, second = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    write_run(first, 1000)
    write_run(second, 1000)
    sync_once(first, url)
    with pytest.raises(LabError, match="already syncs another notebook"):
        sync_once(second, url)
    assert outbox_size(second) > 0 and lab_counts(lab)["runs"] == 1


def test_an_unreachable_lab_is_offline_and_changes_nothing(tmp_path, db_path):
    write_run(db_path, 1000)
    before = outbox_size(db_path)
    with pytest.raises(LabOffline, match="connection refused"):
        sync_once(db_path, f"postgresql://station_x@127.0.0.1:{_closed_port()}/lab")
    assert outbox_size(db_path) == before


def _count(path: Path, table: str) -> int:
    conn = notebook_connect(path)
    try:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def _n_samples(path: Path, run_id: int) -> int:
    conn = notebook_connect(path)
    try:
        return conn.execute("SELECT n_samples FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    finally:
        conn.close()


def _closed_port() -> int:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_the_worker_goes_offline_keeps_the_run_going_and_drains_when_the_lab_is_back(station, tmp_path):
    store, url, lab = station
    gate = TcpGate(store.db.server.port)
    gated = url.replace(f":{store.db.server.port}/", f":{gate.port}/")
    server = store.db.server
    lines = server.pgpass.read_text().splitlines()     # libpq looks passwords up by port too
    with server.pgpass.open("a") as f:
        f.writelines(line.replace(f":{server.port}:", f":{gate.port}:", 1) + "\n" for line in lines)
    path = tmp_path / "nb.sqlite"
    write_run(path, 3000)
    worker = SyncWorker(path, gated, interval_s=0.2, max_backoff_s=1.0)
    worker.start()
    try:
        wait_for(lambda: worker.status().text() == "lab: synced", 20, what=f"the first sync ({worker.status()})")
        gate.shut()
        # a run writes while the lab is away: it runs on, the backlog grows
        with Notebook(path) as nb:
            build_id = nb.conn.execute("SELECT MAX(id) FROM builds").fetchone()[0]
        writer = RunWriter(path, chunk_samples=400, commit_interval_s=0.2)
        run_id = writer.start_run(build_id, "p", "{}", {})
        worker.wake()
        status = wait_for(lambda: (s := worker.status()).state == "offline" and s, 20, what="offline")
        assert status.text() == f"lab: offline since {status.since:%H:%M}"
        assert abs((datetime.now() - status.since).total_seconds()) < 60
        assert "127.0.0.1" in status.error and "password" not in status.error.lower()
        seen = []
        for k in range(6):
            writer.append(samples(1000, 1000 * k))
            time.sleep(0.3)
            seen.append(worker.status().behind.samples)
        wait_for(lambda: worker.status().behind.samples == 6000, 20, what="the whole run in the backlog")
        assert seen == sorted(seen) and seen[-1] > seen[0]
        assert worker.status().state == "offline" and worker.status().behind.runs == 1
        assert lab.execute("SELECT count(*) FROM solidstack.runs").fetchone()[0] == 1   # only the first run
        writer.finish("completed")
        gate.open()
        wait_for(lambda: worker.status().text() == "lab: synced", 30, what="the backlog drained")
        assert worker.status().error == ""
        assert_lab_holds_notebook(lab, path)
        assert lab.execute("SELECT n_samples FROM solidstack.runs WHERE local_id = %s", (run_id,)).fetchone()[0] == 6000
    finally:
        assert worker.stop(timeout=10)
        gate.shut()


def test_a_live_runs_samples_reach_the_lab_within_5_s_of_their_local_commit(station, tmp_path):
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    write_run(path, 1000)
    worker = SyncWorker(path, url)          # the worker as the station runs it: looks every second
    worker.start()
    watcher = notebook_connect(path)
    try:
        wait_for(lambda: worker.status().text() == "lab: synced", 20, what="the first sync")
        with Notebook(path) as nb:
            build_id = nb.conn.execute("SELECT MAX(id) FROM builds").fetchone()[0]
        writer = RunWriter(path)             # commits once a second, as during a run
        run_id = writer.start_run(build_id, "p", "{}", {})
        committed, arrived = {}, {}
        end = time.monotonic() + 8
        k = 0
        while time.monotonic() < end or len(arrived) < len(committed):
            if time.monotonic() < end:
                writer.append(samples(100, 100 * k))
                k += 1
            now = time.monotonic()
            for (first,) in watcher.execute("SELECT first_index FROM sample_chunks WHERE run_id = ?", (run_id,)):
                committed.setdefault(first, now)
            watcher.rollback()
            for (first,) in lab.execute("SELECT c.first_index FROM solidstack.sample_chunks c JOIN solidstack.runs r"
                                        " ON r.uuid = c.run_uuid WHERE r.local_id = %s", (run_id,)):
                arrived.setdefault(first, now)
            assert now < end + 10, "samples did not reach the lab"
            time.sleep(0.05)
        writer.finish("completed")
        lags = [arrived[first] - committed[first] for first in committed]
        assert len(lags) >= 5, "the writer committed too few times to measure"
        assert max(lags) < 5.0, f"lags {sorted(lags)}"
        assert worker.status().error == ""
    finally:
        watcher.close()
        assert worker.stop(timeout=10)


def test_a_worker_without_a_url_is_not_set_up_and_stops_at_once(db_path):
    write_run(db_path, 100)
    worker = SyncWorker(db_path)
    worker.start()
    try:
        wait_for(lambda: worker.status().text() == "lab: not set up", 10, what="not set up")
    finally:
        started = time.monotonic()
        assert worker.stop(timeout=5)
        assert time.monotonic() - started < 1.0


def test_a_worker_keeps_a_refusal_as_a_clear_message(lab_store, tmp_path):
    reader = lab_store.add_reader("desk")
    path = tmp_path / "nb.sqlite"
    write_run(path, 100)
    worker = SyncWorker(path, reader, interval_s=0.2)
    worker.start()
    try:
        status = wait_for(lambda: (s := worker.status()).state == "error" and s, 20, what="the refusal")
        assert status.text().startswith("lab: error since ")
        assert "reader" in status.error and "add-station" in status.error
        assert status.behind.runs == 1 and status.behind.samples == 100
    finally:
        assert worker.stop(timeout=10)
    assert np.all(outbox_size(path) > 0)


STATION = """
import sys, time
sys.path.insert(0, {helpers!r})
from sync_helpers import samples
from lab.sync import SyncWorker
from notebook.writer import RunWriter
worker = SyncWorker({path!r}, {url!r})
worker.start()
writer = RunWriter({path!r}, commit_interval_s=0.25)
writer.start_run({build_id}, "plate-strip-0.16", "{{}}", {{}})
k = 0
while True:          # a live run at 25 k samples/s until the station is killed
    writer.append(samples(500, 500 * k))
    k += 1
    time.sleep(0.02)
"""


@pytest.mark.parametrize("seed", [3])
def test_a_station_killed_during_a_live_run_agrees_with_the_lab_after_it_restarts(station, tmp_path, seed):
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    write_run(path, 2000)
    with Notebook(path) as nb:
        build_id = nb.conn.execute("SELECT MAX(id) FROM builds").fetchone()[0]
    code = STATION.format(helpers=str(Path(__file__).parent), path=str(path), url=url, build_id=build_id)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    kill_at = random.Random(seed).randrange(10_000, 40_000)
    try:
        wait_for(lambda: proc.poll() is not None or (lab.execute(
            "SELECT COALESCE(sum(c.n), 0) FROM solidstack.sample_chunks c JOIN solidstack.runs r ON r.uuid = c.run_uuid"
            " WHERE r.status = 'running'").fetchone()[0] >= kill_at), 60, 0.01, "the live run reaching the lab")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert lab.execute("SELECT status FROM solidstack.runs ORDER BY local_id DESC LIMIT 1").fetchone()[0] == "running"
    with Notebook(path) as nb:                 # the station starts again: the run it lost is interrupted
        assert len(nb.interrupted) == 1
        live = nb.interrupted[0]
        n_local = nb.run(live)["n_samples"]
    assert n_local >= kill_at
    sync_once(path, url)
    assert lab.execute("SELECT status, n_samples FROM solidstack.runs WHERE local_id = %s", (live,)).fetchone() == (
        "interrupted", n_local)
    assert_lab_holds_notebook(lab, path)


def test_outcome_figures_missing_in_the_lab_are_made_good_by_the_next_sync(station, tmp_path):
    """As after a sync killed before its outcome step, or run by a build without lab/outcomes.py."""
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    write_run(path, 3000)
    first = sync_once(path, url)
    assert first.pushed["outcomes"] == 1
    row = lab.execute("SELECT * FROM solidstack.run_outcomes").fetchone()
    lab.execute("DELETE FROM solidstack.run_outcomes")
    again = sync_once(path, url)               # nothing in the outbox
    assert again.batches == 0 and again.pushed["outcomes"] == 1
    healed = lab.execute("SELECT * FROM solidstack.run_outcomes").fetchone()
    assert healed[:2] == row[:2] and healed[3:] == row[3:]      # all but computed_utc
    assert sync_once(path, url).pushed["outcomes"] == 0


def test_draining_a_large_backlog_never_holds_up_a_local_write(station, tmp_path):
    """The worker's deletes are one short transaction per batch: a write made meanwhile (as a
    run's writer commits every second) waits well under a second."""
    store, url, lab = station
    path = tmp_path / "nb.sqlite"
    write_run(path, 400_000, chunk=1000, spectra=0)
    worker = SyncWorker(path, url, batch_rows=20, batch_bytes=20 * 56_000)
    waits = []
    with Notebook(path) as nb:
        run_id = nb.conn.execute("SELECT MAX(id) FROM runs").fetchone()[0]
        worker.start()
        try:
            wait_for(lambda: worker.status().state == "behind" and worker.status().last_sync, 30, what="draining")
            while worker.status().state == "behind":
                t0 = time.monotonic()
                nb.add_tag(f"t{len(waits)}", run_id=run_id)
                waits.append(time.monotonic() - t0)
                time.sleep(0.02)
            wait_for(lambda: worker.status().text() == "lab: synced", 60, what="the drain")
        finally:
            assert worker.stop(timeout=10)
    assert len(waits) >= 10, "the drain ended before writes could be timed: give it more"
    assert max(waits) < 1.0, sorted(waits)[-5:]


def _pg_ctl(server, action: str) -> None:
    """Stop or start the session's server itself (same data folder, same port)."""
    args = ["-D", str(server.data), "-m", "fast", "-w", "stop"] if action == "stop" else \
        ["-D", str(server.data), "-l", str(server.log), "-w", "-t", "30", "start"]
    result = subprocess.run(server._command("pg_ctl", *args), capture_output=True, text=True, timeout=60,
                            cwd=server.root)
    assert result.returncode == 0, result.stderr


def test_the_server_stopped_during_a_live_run_loses_nothing_once_it_is_back(station, tmp_path):
    store, url, lab = station
    server = store.db.server
    path = tmp_path / "nb.sqlite"
    write_run(path, 1000)
    with Notebook(path) as nb:
        build_id = nb.conn.execute("SELECT MAX(id) FROM builds").fetchone()[0]
    worker = SyncWorker(path, url, interval_s=0.2, max_backoff_s=1.0)
    worker.start()
    writer = RunWriter(path, chunk_samples=500, commit_interval_s=0.2)
    run_id = writer.start_run(build_id, "p", "{}", {})
    lab.close()
    stopped = False
    try:
        writer.append(samples(2000))
        wait_for(lambda: worker.pushed["samples"] >= 1000, 20, what="the live run reaching the lab")
        _pg_ctl(server, "stop")
        stopped = True
        for k in range(2, 10):                 # the run goes on
            writer.append(samples(1000, 1000 * k))
            time.sleep(0.15)
        wait_for(lambda: worker.status().state == "offline", 20, what="offline")
        assert worker.status().behind.samples > 0 and writer.error is None
        writer.finish("completed")
        _pg_ctl(server, "start")
        stopped = False
        wait_for(lambda: worker.status().text() == "lab: synced", 30, what=f"the drain ({worker.status()})")
    finally:
        if stopped:
            _pg_ctl(server, "start")
        assert worker.stop(timeout=10)
    with psycopg.connect(store.url, autocommit=True) as lab:
        assert lab.execute("SELECT status, n_samples FROM solidstack.runs WHERE local_id = %s", (run_id,)
                           ).fetchone() == ("completed", 10_000)
        assert_lab_holds_notebook(lab, path)
