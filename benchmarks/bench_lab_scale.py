"""The lab store at scale (issue 15), against a throwaway PostgreSQL server started here (the
tests' tests/pgserver.py: the system's binaries, fsync off, 127.0.0.1), all on this machine:

(1) streaming: 16 stations x 8 channels at once. Each station is a notebook with 8 live runs,
    each written by its own notebook.writer.RunWriter (committing once a second, as the engine
    does), and the station's real lab.sync.SyncWorker. The stations run in a few processes (4
    stations each by default: each process has its own GIL, as each station would), in three
    stretches: a realistic 10 samples/s per channel, then 10x and 100x that (--quick: 10x
    only), each into an emptied lab with new notebooks. Lag: from
    the writer's local COMMIT of a chunk to the chunk being visible in the lab (a watcher
    polling the lab every 0.1 s), median and p99; samples/s stored in the lab; the server's
    CPU (utime + stime in /proc of the postmaster and its children, the watcher's own
    backend left out) as a share of one core, over the same interval.
(2) a 10 M-sample backlog (one ended run in a notebook, all of it in the outbox) drained by
    lab.sync.sync_once, outcome figures included: samples/s. Goal >= 1 M/s.
(3) lab search over 100 k runs with builds (made on the server by generate_series):
    LabReader.runs() with the browser's typical filters, each result's size checked against
    what the generator put there. Goal < 100 ms.
(4) the 10 M-sample run read back: LabReader.samples() (goal < 2 s), and lab.fetch.fetch_run
    into a fresh cache notebook (reported apart), both checked sample for sample.
(5) baseline, in the same run: one INSERT statement per sample into a plain table of
    (run, index, t, I, V) rows, a COMMIT per second of 1 kHz data (1000 rows), as a station
    login, for a shorter stretch: samples/s, and our drain's ratio to it.

Medians of 3 repeats (search: of 7); 45 s per streaming stretch. --quick scales down (1 M
samples, 10 k runs, one 15 s stretch; 16 x 8 stay) and says so; the sizes can be set one by one (the smoke test runs a
tiny scale). Figures go to stderr as a table; stdout gets the JSON lines benchmarks/run_all.py
collects, or with --json one JSON document.

    .venv/bin/python benchmarks/bench_lab_scale.py [--quick] [--json]
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import cell  # noqa: E402
from bench_lab_sync import backlog_notebook, copy, empty_lab  # noqa: E402
from lab.admin import create_login  # noqa: E402
from lab.fetch import fetch_run  # noqa: E402
from lab.query import LabReader  # noqa: E402
from lab.schema import init_lab  # noqa: E402
from lab.sync import SyncWorker, sync_once  # noqa: E402
from notebook import Notebook  # noqa: E402
from notebook.samples import empty_samples  # noqa: E402
from notebook.writer import RunWriter  # noqa: E402
from pgserver import start_server  # noqa: E402
from synthetic_runs import synthetic_samples  # noqa: E402
from timing import report  # noqa: E402

STATIONS, CHANNELS = 16, 8
REALISTIC_RATE = 10.0          # samples/s per channel of a slow cycler channel
POLL_S = 0.1                   # how often the watcher looks at the lab: the lag's resolution


@dataclass
class Scale:
    seconds: float             # of streaming
    rates: list[float]         # samples/s per channel: a streaming stretch at each
    procs: int                 # processes the 16 stations are spread over
    samples: int               # of the backlog run (and the run read back)
    runs: int                  # in the search store
    baseline_s: float          # of one-INSERT-per-sample
    repeats: int
    search_repeats: int
    notes: list[str] = field(default_factory=list)


# -- (1) streaming --
class TimedRunWriter(RunWriter):
    """A RunWriter noting when each chunk's COMMIT returned: the moment the samples are the
    notebook's (and the sync may see them), with no watcher's polling delay added."""

    def __init__(self, *args, **kwargs):
        self.committed: dict[int, float] = {}
        super().__init__(*args, **kwargs)

    def _commit(self) -> None:
        first = self._n_written
        super()._commit()
        if self._n_written != first:
            now = time.monotonic()          # CLOCK_MONOTONIC: one clock for every process on Linux
            for start in range(first, self._n_written, self.chunk_samples):
                self.committed[start] = now


def stream_stations(stations: list[tuple[str, str]], folder: str, seconds: float, rate: float,
                    ready, go, result_path: str) -> None:
    """One process: these stations (name, lab URL), each a notebook with CHANNELS live runs
    and a SyncWorker, fed `rate` samples/s per channel for `seconds` once `go` is set; then
    the runs end and the outbox drains. Writes what it committed and when to `result_path`."""
    setups = []
    for name, url in stations:
        path = Path(folder) / f"{name}.sqlite"
        with Notebook(path) as nb:
            build_id = nb.save_build(cell.from_template("sym-agc", operator="CW"))
        sync_once(path, url)                # the build and the station's identity, before the clock runs
        writers = [TimedRunWriter(path) for _ in range(CHANNELS)]
        for channel, writer in enumerate(writers):
            writer.start_run(build_id, f"ch{channel + 1}", "{}", {"app_version": "bench"})
        worker = SyncWorker(path, url)
        worker.start()
        setups.append((path, writers, worker))
    ready.put(os.getpid())
    go.wait()
    writers = [w for _, ws, _ in setups for w in ws]
    per_tick = max(1, round(rate * POLL_S))
    block = empty_samples(per_tick)
    block["current"] = 1e-3
    block["voltage"] = 3.7
    start, tick = time.monotonic(), 0
    while time.monotonic() - start < seconds:
        for writer in writers:
            data = block.copy()
            data["t"] = (tick * per_tick + np.arange(per_tick)) / rate
            writer.append(data)
        tick += 1
        time.sleep(max(0.0, start + tick * POLL_S - time.monotonic()))
    for writer in writers:
        writer.finish("completed")
    for path, _, worker in setups:          # let the sync catch up, then stop it
        deadline = time.monotonic() + 120
        conn = sqlite3.connect(path)
        while conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        conn.close()
        worker.stop()
    Path(result_path).write_text(json.dumps({
        "ticks": tick, "per_tick": per_tick,
        "runs": {_run_uuid(path, w.run_id): {str(k): v for k, v in w.committed.items()}
                 for path, ws, _ in setups for w in ws},
        "status": [worker.status().text() for _, _, worker in setups]}))


def _run_uuid(path: Path, run_id: int) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT uuid FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    finally:
        conn.close()


def cpu_ticks(postmaster: int, leave_out: set[int]) -> int:
    """CPU clock ticks the server has used: the postmaster's own and its reaped children's,
    and every live child's (but those in `leave_out`)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue                        # a backend that just ended: its ticks are in cutime now
        fields = stat.rsplit(")", 1)[1].split()     # fields 3.. (the name may hold spaces)
        pid, ppid = int(entry), int(fields[1])
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15])       # utime stime cutime cstime
        elif ppid == postmaster and pid not in leave_out:
            total += int(fields[11]) + int(fields[12])
    return total


def station_logins(server, dbname: str) -> list[tuple[str, str]]:
    """(name, password-free URL) of STATIONS new station logins."""
    stations = []
    for i in range(STATIONS):
        password = secrets.token_urlsafe(18)
        made = create_login(server.url(dbname), f"st{i:02d}", "station", password)
        server.add_password(made.role, password, dbname)
        stations.append((made.name, server.url(dbname, made.role)))
    return stations


def streaming(server, dbname: str, folder: Path, stations: list[tuple[str, str]], seconds: float, rate: float,
              procs_n: int) -> dict:
    """One stretch of all stations streaming at `rate` samples/s per channel, into an emptied lab."""
    empty_lab(server, dbname)               # a stretch before left its stations' identities: new notebooks now
    folder.mkdir()
    ctx = multiprocessing.get_context("spawn")
    ready, go = ctx.Queue(), ctx.Event()
    groups = [stations[k::procs_n] for k in range(procs_n)]
    results = [folder / f"stream_{k}.json" for k in range(procs_n)]
    procs = [ctx.Process(target=stream_stations, args=(group, str(folder), seconds, rate, ready, go,
                                                         str(result)), daemon=True)
             for group, result in zip(groups, results)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    watcher = server.admin_connect(dbname)
    leave_out = {watcher.execute("SELECT pg_backend_pid()").fetchone()[0]}
    roles = ["station_" + name for name, _ in stations]
    last: dict[str, int] = {}
    arrived: dict[tuple[str, int], tuple[float, int]] = {}

    def look() -> None:
        if len(last) < STATIONS * CHANNELS:
            for (uuid,) in watcher.execute("SELECT uuid::text FROM solidstack.runs WHERE station = ANY(%s)", (roles,)):
                last.setdefault(uuid, -1)
        keys = list(last)
        rows = watcher.execute(
            "SELECT c.run_uuid::text, c.first_index, c.n FROM unnest(%s::uuid[], %s::bigint[]) AS k (run, last)"
            " JOIN solidstack.sample_chunks c ON c.run_uuid = k.run AND c.first_index > k.last",
            (keys, [last[k] for k in keys])).fetchall()
        now = time.monotonic()
        for uuid, first, n in rows:
            arrived[(uuid, first)] = (now, n)
            last[uuid] = max(last[uuid], first)

    look()
    hz = os.sysconf("SC_CLK_TCK")
    warm_up = min(5.0, seconds / 4)   # rate and CPU over the steady state: every writer has committed
    go.set()
    t0 = time.monotonic()
    cpu0 = cpu1 = tw = t1 = None
    while any(p.is_alive() for p in procs):
        look()
        if tw is None and time.monotonic() - t0 >= warm_up:
            tw, cpu0 = time.monotonic(), cpu_ticks(postmaster, leave_out)
        if t1 is None and time.monotonic() - t0 >= seconds:
            t1, cpu1 = time.monotonic(), cpu_ticks(postmaster, leave_out)
        time.sleep(POLL_S)
    look()
    watcher.close()
    for p in procs:
        p.join()
        assert p.exitcode == 0, f"a station process failed (exit code {p.exitcode})"
    assert tw is not None and t1 is not None, "the stations ended before the streaming did"
    committed, offered, status = {}, 0, []
    for path in results:
        part = json.loads(path.read_text())
        offered += part["ticks"] * part["per_tick"] * len(part["runs"])
        status += part["status"]
        for uuid, chunks in part["runs"].items():
            committed.update({(uuid, int(first)): at for first, at in chunks.items()})
    missing = set(committed) - set(arrived)
    assert not missing, f"{len(missing)} committed chunks never reached the lab"
    stored = sum(n for _, n in arrived.values())
    assert stored == offered, f"the lab holds {stored} samples of the {offered} the stations wrote"
    lags = sorted(arrived[key][0] - at for key, at in committed.items() if t0 <= at <= t1)
    in_window = sum(n for at, n in arrived.values() if tw <= at <= t1)
    return {"lag_median": statistics.median(lags), "lag_p99": lags[min(len(lags) - 1, int(0.99 * len(lags)))],
            "lag_max": lags[-1], "chunks": len(lags), "stored_per_s": in_window / (t1 - tw),
            "offered_per_s": STATIONS * CHANNELS * rate, "cpu_pct": 100.0 * (cpu1 - cpu0) / hz / (t1 - tw),
            "window_s": t1 - t0, "steady_s": t1 - tw, "samples": stored, "status": sorted(set(status))}


# -- (5) the baseline --
def one_insert_per_sample(server, dbname: str, role: str, seconds: float) -> float:
    """Samples/s stored by one INSERT statement per sample, a COMMIT per 1000 (1 s at 1 kHz)."""
    import psycopg
    with server.admin_connect(dbname) as admin:
        admin.execute("CREATE TABLE public.baseline_samples (run integer, index bigint, t float8, current float8,"
                      " voltage float8, PRIMARY KEY (run, index))")
        admin.execute(f"GRANT SELECT, INSERT ON public.baseline_samples TO {role}")
    data = synthetic_samples(1000)
    rows = [(1, 0, float(t), float(i), float(v)) for t, i, v in zip(data["t"], data["current"], data["voltage"])]
    n = 0
    with psycopg.connect(server.url(dbname, role)) as conn:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for run, _, t, i, v in rows:
                conn.execute("INSERT INTO public.baseline_samples (run, index, t, current, voltage)"
                             " VALUES (%s, %s, %s, %s, %s)", (run, n, t + n // 1000, i, v))
                n += 1
            conn.commit()
        elapsed = time.perf_counter() - start
        stored = conn.execute("SELECT count(*) FROM public.baseline_samples").fetchone()[0]
    assert stored == n, (stored, n)
    return n / elapsed


# -- (2) and (4) --
def backlog_and_read_back(server, dbname: str, folder: Path, scale: Scale) -> dict:
    password = secrets.token_urlsafe(18)
    made = create_login(server.url(dbname), "backlog", "station", password)
    server.add_password(made.role, password, dbname)
    url = server.url(dbname, made.role)
    reader_pw = secrets.token_urlsafe(18)
    reader = create_login(server.url(dbname), "desk", "reader", reader_pw)
    server.add_password(reader.role, reader_pw, dbname)
    reader_url = server.url(dbname, reader.role)

    source, work = folder / "backlog.sqlite", folder / "work.sqlite"
    t = time.perf_counter()
    backlog_notebook(source, scale.samples, 16384, 0, 100_000)
    made_s = time.perf_counter() - t
    drains = []
    for _ in range(scale.repeats):
        empty_lab(server, dbname)
        copy(source, work)
        t = time.perf_counter()
        result = sync_once(work, url)
        drains.append(time.perf_counter() - t)
        assert result.behind.records == 0 and not result.warnings, (result.behind, result.warnings)
    (run_uuid,) = sqlite3.connect(work).execute("SELECT uuid FROM runs").fetchone()   # noqa: closed at exit
    with server.admin_connect(dbname) as conn:
        stored = conn.execute("SELECT sum(n) FROM solidstack.sample_chunks").fetchone()[0]
        compression = conn.execute("SELECT pg_column_compression(data), count(*) FROM solidstack.sample_chunks"
                                   " GROUP BY 1").fetchall()
    assert stored == scale.samples, (stored, scale.samples)

    expected = synthetic_samples(scale.samples).view(np.uint8)
    reads = []
    with LabReader(reader_url) as lab:
        for _ in range(scale.repeats):
            t = time.perf_counter()
            got = lab.samples(run_uuid)
            reads.append(time.perf_counter() - t)
            assert np.array_equal(got.view(np.uint8), expected), "the samples read back differ from those written"
            del got
    fetches = []
    for k in range(scale.repeats):
        cache = folder / f"cache_{k}.sqlite"
        t = time.perf_counter()
        path, run_id = fetch_run(reader_url, run_uuid, cache)
        fetches.append(time.perf_counter() - t)
        with Notebook(path) as nb:
            got = nb.samples(run_id)
        assert np.array_equal(np.ascontiguousarray(got).view(np.uint8), expected), "the fetched samples differ"
        del got
        cache.unlink()
    return {"drain_s": statistics.median(drains), "drain_per_s": scale.samples / statistics.median(drains),
            "make_s": made_s, "read_s": statistics.median(reads), "fetch_s": statistics.median(fetches),
            "compression": {str(k): v for k, v in compression}, "station_role": made.role}


# -- (3) search --
LOTS, SHEETS = 20, 250
STATUSES = ("completed", "shorted", "aborted", "completed", "failed", "shorted", "completed")   # run g: g % 7


def fill_search_store(server, dbname: str, runs: int) -> None:
    """`runs` runs on STATIONS stations, two per build; each build Li | LPSCl (lot E00..E19) |
    Ag-C (lot S0..S4, every other build) | Li, with a sheet number Q000..Q249 in its notes."""
    builds = (runs + 1) // 2
    with server.admin_connect(dbname) as conn:
        conn.execute("INSERT INTO solidstack.stations (role, name, created_utc, kind)"
                     " SELECT 'station_s' || lpad(g::text, 2, '0'), 's' || lpad(g::text, 2, '0'),"
                     " '2025-01-01T00:00:00Z', 'station' FROM generate_series(0, %s) g", (STATIONS - 1,))
        with conn.transaction():
            conn.execute(
                "INSERT INTO solidstack.builds (uuid, station, local_id, created_utc, name, template, operator,"
                " area_cm2, stack_pressure_mpa, temperature_c, notes, stack_json)"
                " SELECT md5('b' || g)::uuid, 'station_s' || lpad((g %% %s)::text, 2, '0'), g,"
                " to_char(timestamp '2025-01-01' + g * interval '10 min', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                " 'cell ' || g, (ARRAY['sym-agc', 'full-agc', 'full-bare'])[1 + g %% 3], 'AB', 1.0, 5.0, 25.0,"
                " 'pressed by hand, sheet Q' || lpad((g %% %s)::text, 3, '0'), '{}'"
                " FROM generate_series(1, %s) g", (STATIONS, SHEETS, builds))
            conn.execute(
                "INSERT INTO solidstack.build_layers (build_uuid, position, material, thickness_um, lot, station)"
                " SELECT md5('b' || g)::uuid, l.position, l.material, l.um,"
                " CASE l.material WHEN 'LPSCl' THEN 'E' || lpad((g %% %s)::text, 2, '0')"
                "  WHEN 'AgC' THEN 'S' || (g %% 5) ELSE '' END, 'station_s' || lpad((g %% %s)::text, 2, '0')"
                " FROM generate_series(1, %s) g, (VALUES (0, 'Li', 30.0), (1, 'LPSCl', 600.0), (2, 'AgC', 5.0),"
                " (3, 'Li', 30.0)) AS l (position, material, um)"
                " WHERE l.material <> 'AgC' OR g %% 2 = 0", (LOTS, STATIONS, builds))
            conn.execute(
                "INSERT INTO solidstack.runs (uuid, station, local_id, build_uuid, protocol, status, started_utc,"
                " ended_utc, n_samples, message)"
                " SELECT md5('r' || g)::uuid, 'station_s' || lpad((((g - 1) / 2 + 1) %% %s)::text, 2, '0'), g,"
                " md5('b' || ((g - 1) / 2 + 1))::uuid, 'cc', (%s::text[])[1 + g %% %s],"
                " to_char(timestamp '2025-01-01' + g * interval '5 min', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
                " to_char(timestamp '2025-01-01' + g * interval '5 min' + interval '4 min',"
                " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 3600 * 10, 'run ' || g"
                " FROM generate_series(1, %s) g", (STATIONS, list(STATUSES), len(STATUSES), runs))
        conn.execute("ANALYZE")


def expected_counts(runs: int) -> dict[str, int]:
    """How many runs each search should find, counted here from the generator's rules."""
    def build(g):
        return (g - 1) // 2 + 1
    gs = range(1, runs + 1)
    return {
        "newest": runs,
        "text": sum(1 for g in gs if build(g) % SHEETS == 17),
        "lot": sum(1 for g in gs if build(g) % LOTS == 7),
        "station": sum(1 for g in gs if build(g) % STATIONS == 3),
        "status": sum(1 for g in gs if STATUSES[g % len(STATUSES)] == "shorted"),
        "lot+status": sum(1 for g in gs if build(g) % LOTS == 7 and STATUSES[g % len(STATUSES)] == "shorted"),
        "Ag-C lot+station": sum(1 for g in gs if build(g) % 2 == 0 and build(g) % 5 == 3 and build(g) % STATIONS == 2),
    }


SEARCHES = {
    "newest": {},
    "text": {"text": "q017"},
    "lot": {"lot": "E07"},
    "station": {"station": "s03"},
    "status": {"status": "shorted"},
    "lot+status": {"lot": "e07", "status": "shorted"},
    "Ag-C lot+station": {"material": "AgC", "lot": "S3", "station": "s02"},
}


def search(server, dbname: str, scale: Scale) -> dict:
    password = secrets.token_urlsafe(18)
    reader = create_login(server.url(dbname), "analyst", "reader", password)
    server.add_password(reader.role, password, dbname)
    t = time.perf_counter()
    fill_search_store(server, dbname, scale.runs)
    fill_s = time.perf_counter() - t
    expected = expected_counts(scale.runs)
    out = {"fill_s": fill_s}
    with LabReader(server.url(dbname, reader.role)) as lab:
        lab.runs(limit=1)                   # the connection and its version check, once
        for name, criteria in SEARCHES.items():
            times = []
            for _ in range(scale.search_repeats):
                t = time.perf_counter()
                rows = lab.runs(**criteria)
                times.append(time.perf_counter() - t)
            want = min(expected[name], 1000)    # LabReader's default limit: the browser's page
            assert len(rows) == want, f"search {name}: {len(rows)} runs, expected {want}"
            out[name] = (statistics.median(times), want)
    return out


# -- the whole --
def run(scale: Scale) -> list[dict]:
    server = start_server()
    os.environ["PGPASSFILE"] = str(server.pgpass)
    for dbname in ("bench_scale", "bench_search"):
        with server.admin_connect() as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        init_lab(server.url(dbname))
    rows = []

    def row(figure, value, unit, baseline=None, goal="", met=None):
        rows.append({"figure": figure, "value": value, "unit": unit, "baseline": baseline,
                     "ratio": None if baseline is None else value / baseline, "goal": goal, "met": met})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            stations = station_logins(server, "bench_scale")
            for rate in scale.rates:
                s = streaming(server, "bench_scale", folder / f"stream_{rate:g}", stations, scale.seconds, rate,
                              scale.procs)
                print(f"# streaming: {STATIONS} stations x {CHANNELS} channels, {scale.procs} processes "
                      f"({STATIONS // scale.procs} stations, {STATIONS // scale.procs * CHANNELS} RunWriters and "
                      f"{STATIONS // scale.procs} SyncWorkers each), {rate:g} samples/s per channel "
                      f"({rate / REALISTIC_RATE:g}x a realistic {REALISTIC_RATE:g}/s) for {s['window_s']:.0f} s "
                      f"(rate and CPU over the last {s['steady_s']:.0f} s): "
                      f"{s['chunks']} chunks timed, {s['samples']:,} samples all in the lab; sync: {s['status']}",
                      file=sys.stderr)
                head = f"stream 16x8 at {rate:g}/s/ch:"
                row(f"{head} lag commit->lab, median", s["lag_median"], "s", goal="< 5 s", met=s["lag_median"] < 5)
                row(f"{head} lag commit->lab, p99", s["lag_p99"], "s", goal="< 5 s", met=s["lag_p99"] < 5)
                row(f"{head} lag commit->lab, max", s["lag_max"], "s", goal="< 5 s", met=s["lag_max"] < 5)
                row(f"{head} samples/s stored (of {s['offered_per_s']:,.0f} written)", s["stored_per_s"], "1/s",
                    goal=">= 95% of written", met=s["stored_per_s"] >= 0.95 * s["offered_per_s"])
                row(f"{head} server CPU (% of one core)", s["cpu_pct"], "%")

            base = one_insert_per_sample(server, "bench_scale", "station_st00", scale.baseline_s)
            b = backlog_and_read_back(server, "bench_scale", folder, scale)
            m = scale.samples / 1e6
            print(f"# backlog: one ended run of {scale.samples:,} samples (16 k-sample chunks), notebook made in "
                  f"{b['make_s']:.1f} s; lab chunks compressed: {b['compression']}", file=sys.stderr)
            row(f"backlog {m:g} M samples drained (sync_once), vs one INSERT per sample", b["drain_per_s"], "1/s",
                base, ">= 1 M/s", b["drain_per_s"] >= 1e6)
            row(f"backlog {m:g} M samples drained, time", b["drain_s"], "s")
            row("baseline: one INSERT per sample, COMMIT per 1000", base, "1/s")
            row(f"read back {m:g} M-sample run: LabReader.samples", b["read_s"], "s", goal="< 2 s",
                met=b["read_s"] < 2)
            row(f"read back {m:g} M-sample run: fetch_run to a cache", b["fetch_s"], "s")

            q = search(server, "bench_search", scale)
            print(f"# search store: {scale.runs:,} runs, {(scale.runs + 1) // 2:,} builds with layers, made by "
                  f"generate_series in {q['fill_s']:.1f} s", file=sys.stderr)
            for name in SEARCHES:
                seconds, found = q[name]
                row(f"search {scale.runs // 1000:g} k runs: {name} ({found} found)", 1000 * seconds, "ms",
                    goal="< 100 ms", met=seconds < 0.1)
    finally:
        server.stop()
    return rows


def table(rows: list[dict]) -> str:
    lines = [f"{'figure':66} {'ours':>12} {'baseline':>10} {'ratio':>7}  {'goal':<18} met?"]
    for r in rows:
        base = "" if r["baseline"] is None else f"{r['baseline']:.3g}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.0f}x"
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(f"{r['figure']:66} {r['value']:>8.3g} {r['unit']:<3} {base:>10} {ratio:>7}  {r['goal']:<18} {met}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 M samples, 10 k runs, 15 s of streaming")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument("--seconds", type=float, help="of streaming")
    parser.add_argument("--rates", help="samples/s per channel, a stretch at each, comma-separated "
                        "(default 10,100,1000; --quick 100)")
    parser.add_argument("--procs", type=int, default=4, choices=(1, 2, 4, 8, 16), help="processes for 16 stations")
    parser.add_argument("--samples", type=int, help="of the backlog run")
    parser.add_argument("--runs", type=int, help="in the search store")
    parser.add_argument("--baseline-seconds", type=float)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args(argv)
    full = Scale(45.0, [REALISTIC_RATE, 10 * REALISTIC_RATE, 100 * REALISTIC_RATE], args.procs, 10_000_000,
                 100_000, 10.0, 3, 7)
    scale = Scale(15.0, [10 * REALISTIC_RATE], args.procs, 1_000_000, 10_000, 3.0, 1, 5) if args.quick else full
    if args.rates:
        scale.rates = [float(r) for r in args.rates.split(",")]
    for name in ("seconds", "samples", "runs", "repeats"):
        if getattr(args, name) is not None:
            setattr(scale, name, getattr(args, name))
    if args.baseline_seconds is not None:
        scale.baseline_s = args.baseline_seconds
    if scale.samples < full.samples or scale.runs < full.runs:
        scale.notes.append(f"SCALED DOWN: {scale.samples:,} samples (goal stated for {full.samples:,}), "
                           f"{scale.runs:,} runs (goal stated for {full.runs:,})")
    started = time.perf_counter()
    rows = run(scale)
    for note in scale.notes:
        print(f"# {note}", file=sys.stderr)
    print(f"# {time.perf_counter() - started:.0f} s in all", file=sys.stderr)
    print(table(rows), file=sys.stderr)
    if args.json:
        print(json.dumps({"scale": {k: v for k, v in scale.__dict__.items()}, "rows": rows}, indent=1))
    else:
        for r in rows:
            report(r["figure"], r["value"], r["unit"], r["baseline"], r["goal"])


if __name__ == "__main__":
    main()
