"""The lab sync (issue 15) against a throwaway PostgreSQL server started here (the tests'
tests/pgserver.py: the system's binaries, fsync off, 127.0.0.1):

(a) latency: a run written live through the station's RunWriter (1 kHz samples handed over
    every 0.1 s, committed once a second, as the engine does) while the station's SyncWorker
    runs as it does in the station (looks every second). For every chunk, the time from the
    moment it is visible in the notebook (a watcher polling every 20 ms) to the moment it is
    visible in the lab (polled every 20 ms): median, p95 and max. Goal: < 5 s.
(b) drain rate: a backlog left by a station that was offline, pushed batch by batch as
    sync_once does (the outcome figures computed after the drain are timed apart):
    "bulk": a 2 M-sample run (16 k-sample chunks) with 20 impedance spectra of 61 points;
    "live": a 600 k-sample run committed as a live run does (1 k-sample chunks, a run-row
    update per commit). Baseline, measured in the same run on the same backlog: the same
    sync with one outbox row per transaction (that record's INSERT, with its run and build
    inserted if missing, then COMMIT, then its outbox row deleted): no batching. Each
    repeat drains a fresh copy of the notebook into an emptied lab. Also the bulk drain
    with the lab's sample column compressed by lz4 rather than PostgreSQL's default pglz
    (ALTER TABLE ... SET COMPRESSION, here only).
    Medians of 3 repeats (--quick: 1, and a shorter latency run).

    .venv/bin/python benchmarks/bench_lab_sync.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import cell  # noqa: E402
from lab.admin import create_login  # noqa: E402
from lab.schema import init_lab  # noqa: E402
from lab.sync import BATCH_ROWS, SyncReport, Syncer, SyncWorker, sync_once  # noqa: E402
from notebook import Notebook  # noqa: E402
from notebook.store import connect as notebook_connect  # noqa: E402
from notebook.writer import RunWriter  # noqa: E402
from pgserver import start_server  # noqa: E402
from synthetic_runs import synthetic_samples  # noqa: E402
from timing import report  # noqa: E402

DATA_TABLES = ("run_outcomes", "spectrum_points", "spectra", "sample_chunks", "run_steps", "events", "notes",
               "run_tags", "build_tags", "runs", "protocols", "build_layers", "builds", "operators", "material_lots")


def backlog_notebook(path: Path, n: int, chunk: int, spectra: int, batch: int) -> None:
    """A notebook holding one run of n samples (chunks of `chunk`) and `spectra` sweeps, all
    still in the outbox."""
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc", operator="CW"))
    writer = RunWriter(path, chunk_samples=chunk)
    writer.start_run(build_id, "bench", "{}", {"app_version": "bench"})
    data = synthetic_samples(n)
    for start in range(0, n, batch):
        writer.append(data[start:start + batch])
    freq = np.logspace(6, -1, 61)
    for k in range(spectra):
        writer.spectrum({"spectrum": k, "t_s": 10.0 * k, "step": 0, "cycle": 1, "amplitude_v": 0.01,
                         "instrument": "sim", "freq_hz": freq, "z": 50 + 200 / (1 + 1j * freq / 30)})
    writer.finish("completed")


def copy(source: Path, target: Path) -> Path:
    if target.exists():
        target.unlink()
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def empty_lab(server, dbname: str) -> None:
    with server.admin_connect(dbname) as conn:
        conn.execute("TRUNCATE " + ", ".join(f"solidstack.{t}" for t in DATA_TABLES) + " CASCADE")
        conn.execute("UPDATE solidstack.stations SET uuid = NULL")


def drain(server, dbname: str, url: str, source: Path, work: Path, repeats: int,
          batch_rows: int = BATCH_ROWS) -> tuple[float, float]:
    """Median seconds to push the whole outbox of a fresh copy of `source` (batches of
    `batch_rows` outbox rows), and then to compute and push the ended run's outcome figures
    (the sync's last step, the same whatever the batching)."""
    pushes, outcomes = [], []
    for _ in range(repeats):
        empty_lab(server, dbname)
        path = copy(source, work)
        syncer = Syncer(path, url, batch_rows=batch_rows)
        result = SyncReport()
        try:
            syncer.connect()
            t0 = time.perf_counter()
            while syncer.push_batch(result):
                pass
            t1 = time.perf_counter()
            syncer.push_outcomes(result)
            outcomes.append(time.perf_counter() - t1)
            pushes.append(t1 - t0)
            assert not syncer.pending() and result.pushed["outcomes"] == 1, (result.pushed, result.warnings)
        finally:
            syncer.close()
    return statistics.median(pushes), statistics.median(outcomes)


def latency(server, dbname: str, url: str, folder: Path, seconds: float) -> list[float]:
    """Lag (s) from local commit to lab for every chunk of a live run of `seconds`."""
    path = folder / "latency.sqlite"
    backlog_notebook(path, 1000, 1000, 0, 1000)
    sync_once(path, url)
    worker = SyncWorker(path, url)
    worker.start()
    with Notebook(path) as nb:
        build_id = nb.conn.execute("SELECT MAX(id) FROM builds").fetchone()[0]
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "bench-live", "{}", {})
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    stop = threading.Event()

    def feed() -> None:
        k = 0
        data = synthetic_samples(100)
        while not stop.is_set():
            block = data.copy()
            block["t"] += 0.1 * k
            writer.append(block)
            k += 1
            time.sleep(0.1)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    watcher = notebook_connect(path)
    lab = server.admin_connect(dbname)
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end + 10 and (time.monotonic() < end or len(arrived) < len(committed)):
            if time.monotonic() >= end:
                stop.set()
            now = time.monotonic()
            for (first,) in watcher.execute("SELECT first_index FROM sample_chunks WHERE run_id = ?", (run_id,)):
                committed.setdefault(first, now)
            watcher.rollback()
            for (first,) in lab.execute("SELECT c.first_index FROM solidstack.sample_chunks c JOIN solidstack.runs r "
                                        "ON r.uuid = c.run_uuid WHERE r.local_id = %s", (run_id,)):
                arrived.setdefault(first, now)
            time.sleep(0.02)
    finally:
        stop.set()
        feeder.join()
        writer.finish("completed")
        worker.stop()
        watcher.close()
        lab.close()
    missing = set(committed) - set(arrived)
    assert not missing, f"{len(missing)} chunks never reached the lab"
    return [arrived[k] - committed[k] for k in committed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat and a 10 s live run (default: 3 and 30 s)")
    args = parser.parse_args()
    repeats, live_s = (1, 10.0) if args.quick else (3, 30.0)
    server = start_server()
    os.environ["PGPASSFILE"] = str(server.pgpass)
    dbname = "bench_lab_sync"
    with server.admin_connect() as conn:
        conn.execute(f"CREATE DATABASE {dbname}")
    init_lab(server.url(dbname))
    password = secrets.token_urlsafe(18)
    made = create_login(server.url(dbname), "bench", "station", password)
    server.add_password(made.role, password, dbname)
    url = server.url(dbname, made.role)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            lags = sorted(latency(server, dbname, url, folder, live_s))
            rows.append(("latency, local commit to lab (median)", statistics.median(lags), "s", None, "< 5 s"))
            rows.append(("latency, local commit to lab (p95)", lags[int(0.95 * (len(lags) - 1))], "s", None, "< 5 s"))
            rows.append(("latency, local commit to lab (max)", lags[-1], "s", None, "< 5 s"))
            print(f"# {len(lags)} chunks of a live run over {live_s:g} s", file=sys.stderr)
            for name, n, chunk, spectra in (("bulk", 2_000_000, 16384, 20), ("live", 600_000, 1000, 0)):
                source = folder / f"{name}.sqlite"
                backlog_notebook(source, n, chunk, spectra, 10_000 if name == "bulk" else 1000)
                conn = sqlite3.connect(source)
                records = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                conn.close()
                work = folder / "work.sqlite"
                ours, outcome_s = drain(server, dbname, url, source, work, repeats)
                base, _ = drain(server, dbname, url, source, work, repeats, batch_rows=1)
                print(f"# backlog {name}: {n:,} samples, {records:,} outbox records", file=sys.stderr)
                rows.append((f"drain {name} backlog ({n / 1e6:g} M samples), batched", n / ours / 1e6, "M/s",
                             n / base / 1e6, "batched >> one row per commit"))
                rows.append((f"drain {name} backlog, time", ours, "s", base, ""))
                rows.append((f"{name}: then the run's outcome figures", outcome_s, "s", None, ""))
                if name == "bulk":
                    # what the lab's column compression costs: PostgreSQL's default pglz against lz4
                    with server.admin_connect(dbname) as conn:
                        conn.execute("ALTER TABLE solidstack.sample_chunks ALTER COLUMN data SET COMPRESSION lz4")
                    lz4, _ = drain(server, dbname, url, source, work, repeats)
                    with server.admin_connect(dbname) as conn:
                        conn.execute("ALTER TABLE solidstack.sample_chunks ALTER COLUMN data SET COMPRESSION pglz")
                    rows.append(("drain bulk backlog, sample_chunks.data lz4", n / lz4 / 1e6, "M/s", n / ours / 1e6,
                                 "(baseline: pglz, the default)"))
    finally:
        server.stop()
    for figure, value, unit, baseline, goal in rows:
        report(figure, value, unit, baseline, goal)
    print(f"{'figure':52} {'median':>10} {'baseline':>10} {'ratio':>7}", file=sys.stderr)
    for figure, value, unit, baseline, _ in rows:
        base = "" if baseline is None else f"{baseline:.3g}"
        ratio = "" if baseline is None else f"{value / baseline:.1f}x"
        print(f"{figure:52} {value:>8.3g} {unit:<3} {base:>8} {ratio:>7}", file=sys.stderr)


if __name__ == "__main__":
    main()
