"""A lab run brought home: `fetch_run` copies one run of the lab store (its build with
layers, protocol version, run row, sample chunks, steps, events, spectra and their points)
into a local cache notebook, an ordinary SolidStack notebook file, so that the analysis,
replay and export code that reads notebooks works on lab runs unchanged, given
(cache path, local run id).

The cached rows keep their lab UUIDs, so a run is found again by its UUID: fetching an
unchanged run again writes nothing, and a run that grew (still running at its station)
brings only the chunks and rows that are new. A run's `source` says where it came from:
"lab: <station name>, run #<its id at that station>".

The cache is marked as one (station key `kind` = 'lab cache') and a notebook without that
mark is refused: fetching must never write into a station's own notebook. The cache is
never synced anywhere (see `_clear_outbox`)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import psycopg

from lab.connection import LabError, connect, describe
from lab.query import check_uuid, error_text
from lab.schema import check_version
from notebook.errors import NotebookError
from notebook.jsontext import dumps
from notebook.samples import SAMPLE_DTYPE
from notebook.store import Notebook
from notebook.store import connect as connect_notebook

CACHE_KIND = "lab cache"        # station table: key 'kind'
CHUNKS_PER_FETCH = 32           # sample chunks held in memory at once (~0.5 MB each)


def default_cache_path() -> Path:
    """The cache notebook in the platform's user cache directory."""
    return Path(platformdirs.user_cache_dir("SolidStack", appauthor=False)) / "lab-cache.sqlite"


@dataclass
class FetchReport:
    """What one fetch brought: counts of rows written (all 0: the cache already had it all)."""
    path: Path
    run_id: int
    run_uuid: str
    new_chunks: int = 0
    new_samples: int = 0
    steps: int = 0
    events: int = 0
    spectra: int = 0
    points: int = 0
    run_row: bool = False           # the run row was written (new, or changed in the lab)
    build_row: bool = False
    lab_samples: int = 0            # what the lab's run row says it has
    cached_samples: int = 0         # what the cache holds now: fewer while its station is still syncing

    @property
    def changed(self) -> bool:
        return bool(self.new_chunks or self.steps or self.events or self.spectra or self.points or self.run_row
                    or self.build_row)

    @property
    def behind(self) -> int:
        """Samples the run's row counts that have not reached the lab yet (0 when complete)."""
        return max(self.lab_samples - self.cached_samples, 0)


def fetch_run(url: str, run_uuid: str, cache_path: str | Path | None = None) -> tuple[Path, int]:
    """Copy lab run `run_uuid` into the cache notebook (default: default_cache_path());
    (cache path, the run's id there). LabError names a bad or unknown UUID, an
    unreachable store or a cache that cannot be written."""
    report = fetch_run_report(url, run_uuid, cache_path)
    return report.path, report.run_id


def fetch_run_report(url: str, run_uuid: str, cache_path: str | Path | None = None) -> FetchReport:
    """fetch_run, saying what it wrote."""
    key = check_uuid(run_uuid)
    path = Path(cache_path) if cache_path is not None else default_cache_path()
    lab = connect(url, role_hint="lab reader or station")
    try:
        check_version(lab)
        lab.rollback()
        with lab.transaction():
            # one consistent snapshot of the run: its row, chunks and steps as of one moment
            lab.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            run = _one(lab, "SELECT r.*, COALESCE(s.name, r.station::text) AS station_name FROM solidstack.runs r"
                            " LEFT JOIN solidstack.stations s ON s.role = r.station WHERE r.uuid = %s", (key,))
            if run is None:         # before the cache is touched: a wrong UUID changes nothing
                raise LabError(f"no run {key} in the lab store at {describe(url)}")
            cache = open_cache(path, create_folder=cache_path is None)
            try:
                return _fetch(lab, cache, path, run)
            finally:
                cache.close()
    except psycopg.Error as exc:
        raise LabError(f"reading run {key} from the lab store at {describe(url)} failed: {error_text(exc)}") from None
    finally:
        lab.close()


def open_cache(path: Path, create_folder: bool = False) -> sqlite3.Connection:
    """A writable connection to the cache notebook at `path`, made (and marked) when new.
    Opened with the notebook's own connect, not Notebook(): opening a notebook writable
    marks its `running` runs interrupted, and a cached run running at its station is not."""
    if create_folder:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if not path.exists() or path.stat().st_size == 0:
            Notebook(path).close()                      # a new notebook: schema made, nothing to mark
        else:
            Notebook(path, read_only=True).close()      # refuses a file that is not a notebook of ours
        conn = connect_notebook(path)
        # A cache is refetched, never the only copy: WAL with NORMAL stays consistent through a
        # crash and skips the fsync a station's notebook makes at every commit (~40 % of a fetch)
        conn.execute("PRAGMA synchronous = NORMAL")
    except (NotebookError, sqlite3.Error, OSError) as exc:
        raise LabError(f"the lab cache {path} cannot be used: {exc}") from None
    try:
        with conn:
            kind = conn.execute("SELECT value FROM station WHERE key = 'kind'").fetchone()
            if kind is None:
                if conn.execute("SELECT EXISTS (SELECT 1 FROM builds UNION ALL SELECT 1 FROM runs)").fetchone()[0]:
                    raise LabError(f"{path} is a station's notebook, not a lab cache: lab runs are fetched only into "
                                   "a cache of their own (leave the cache path out, or name a new file)")
                conn.execute("INSERT INTO station (key, value) VALUES ('kind', ?)", (CACHE_KIND,))
            elif kind[0] != CACHE_KIND:
                raise LabError(f"{path} is not a lab cache (it says it is a {kind[0]!r})")
    except sqlite3.Error as exc:
        conn.close()
        raise LabError(f"the lab cache {path} cannot be used: {exc}") from None
    except LabError:
        conn.close()
        raise
    return conn


def _one(lab: psycopg.Connection, sql: str, params: tuple) -> dict | None:
    with lab.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(sql, params).fetchone()


def _all(lab: psycopg.Connection, sql: str, params: tuple) -> list[dict]:
    with lab.cursor(row_factory=psycopg.rows.dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def _text(value) -> str | None:
    return None if value is None else str(value)


def _fetch(lab: psycopg.Connection, cache: sqlite3.Connection, path: Path, run: dict) -> FetchReport:
    key = str(run["uuid"])
    if run["build_uuid"] is None:
        raise LabError(f"run {key} in the lab has no build yet: its station has not synced it fully; try again later")
    build = _one(lab, "SELECT * FROM solidstack.builds WHERE uuid = %s", (run["build_uuid"],))
    layers = _all(lab, "SELECT position, material, thickness_um, areal_mass_mg_cm2, lot FROM solidstack.build_layers"
                       " WHERE build_uuid = %s ORDER BY position", (run["build_uuid"],))
    protocol = None if run["protocol_uuid"] is None else _one(
        lab, "SELECT * FROM solidstack.protocols WHERE uuid = %s", (run["protocol_uuid"],))

    report = FetchReport(path, 0, key, lab_samples=int(run["n_samples"] or 0))
    # Read the cache's state and write inside one IMMEDIATE transaction: two fetches of the
    # same run at once (the browser and a command) then add its rows once. Rolled back when
    # nothing changed, so a repeated fetch leaves the file exactly as it was.
    cache.execute("BEGIN IMMEDIATE")
    try:
        build_id = _put_build(cache, build, layers, report)
        protocol_id = _protocol_id(cache, protocol, run)
        run_id = _put_run_row(cache, run, build_id, protocol_id, report)
        report.run_id = run_id
        total = _put_chunks(lab, cache, run_id, key, report)
        _put_steps(lab, cache, run_id, key, report)
        _put_events(lab, cache, run_id, key, report)
        _put_spectra(lab, cache, run_id, key, report)
        # the cached row counts what the cache holds (a run whose station is still syncing
        # has fewer samples here than its row says; the notebook's readers check the two agree)
        if cache.execute("UPDATE runs SET n_samples = ? WHERE id = ? AND n_samples != ?",
                         (total, run_id, total)).rowcount:
            report.run_row = True
        report.cached_samples = total
        if report.changed:
            _clear_outbox(cache)
            cache.commit()
        else:
            cache.rollback()
    except sqlite3.Error as exc:
        cache.rollback()
        raise LabError(f"run {key} could not be written into the lab cache {path}: {exc}") from None
    except BaseException:
        cache.rollback()
        raise
    return report


def _clear_outbox(cache: sqlite3.Connection) -> None:
    # The cache is a copy of what the lab holds, not a station: its rows belong to other
    # stations and must never be pushed back (their station's role owns them in the lab, and
    # a sync from here would be refused or, worse, claim them). The notebook's triggers put
    # every insert in the outbox all the same; emptying it keeps `lab status` on a cache
    # from reporting a backlog that is not one.
    cache.execute("DELETE FROM outbox")


def _put_build(cache: sqlite3.Connection, build: dict, layers: list[dict], report: FetchReport) -> int:
    values = (build["created_utc"], build["name"], build["template"], build["description"], build["operator"],
              build["area_cm2"], build["stack_pressure_mpa"], build["densification_pressure_mpa"],
              build["temperature_c"], build["notes"], dumps(build["stack_json"] or {}))
    columns = ("created_utc", "name", "template", "description", "operator", "area_cm2", "stack_pressure_mpa",
               "densification_pressure_mpa", "temperature_c", "notes", "stack_json")
    uuid = str(build["uuid"])
    row = cache.execute(f"SELECT id, {', '.join(columns)} FROM builds WHERE uuid = ?", (uuid,)).fetchone()
    wanted_layers = [(l["position"], l["material"], l["thickness_um"], l["areal_mass_mg_cm2"], l["lot"])
                     for l in layers]
    if row is None:
        build_id = cache.execute(f"INSERT INTO builds ({', '.join(columns)}, uuid) VALUES ({', '.join('?' * 12)})",
                                 (*values, uuid)).lastrowid
        report.build_row = True
    else:
        build_id = row["id"]
        # stack_json compared as data: the lab keeps it as jsonb, whose key order is its own
        if tuple(row)[1:-1] != values[:-1] or not _same_json(row["stack_json"], values[-1]):
            cache.execute(f"UPDATE builds SET {', '.join(c + ' = ?' for c in columns)} WHERE id = ?",
                          (*values, build_id))
            report.build_row = True
    have = [tuple(r) for r in cache.execute(
        "SELECT position, material, thickness_um, areal_mass_mg_cm2, lot FROM build_layers WHERE build_id = ?"
        " ORDER BY position", (build_id,))]
    if have != wanted_layers:
        cache.execute("DELETE FROM build_layers WHERE build_id = ?", (build_id,))
        cache.executemany("INSERT INTO build_layers (build_id, position, material, thickness_um, areal_mass_mg_cm2,"
                          " lot) VALUES (?,?,?,?,?,?)", [(build_id, *layer) for layer in wanted_layers])
        report.build_row = True
    return build_id


def _same_json(stored: str, wanted: str) -> bool:
    import json
    return json.loads(stored) == json.loads(wanted)


def _protocol_id(cache: sqlite3.Connection, protocol: dict | None, run: dict) -> int | None:
    """The cache's row for the run's protocol version. Versions are numbered per station,
    so two stations' "cycling" v1 can differ: the cache keeps the first it met and a run
    whose version clashes with it keeps its own definition (runs.protocol_json) with no
    version row, which every reader of a run already falls back to."""
    if protocol is None:
        return None
    uuid = str(protocol["uuid"])
    row = cache.execute("SELECT id FROM protocols WHERE uuid = ?", (uuid,)).fetchone()
    if row is not None:
        return row[0]
    canonical = dumps(protocol["protocol_json"], sort_keys=True)
    clash = cache.execute("SELECT id, version, protocol_json FROM protocols WHERE name = ? AND"
                          " (version = ? OR protocol_json = ?)",
                          (protocol["name"], protocol["version"], canonical)).fetchall()
    if clash:
        same = [r[0] for r in clash if r[1] == protocol["version"] and r[2] == canonical]
        return same[0] if same else None
    return cache.execute("INSERT INTO protocols (name, version, protocol_json, created_utc, uuid) VALUES (?,?,?,?,?)",
                         (protocol["name"], protocol["version"], canonical,
                          protocol["created_utc"] or run["started_utc"], uuid)).lastrowid


def _put_run_row(cache: sqlite3.Connection, run: dict, build_id: int, protocol_id: int | None,
                 report: FetchReport) -> int:
    source = f"lab: {run['station_name']}" + (f", run #{run['local_id']}" if run["local_id"] is not None else "")
    values = {"build_id": build_id, "protocol": run["protocol"], "protocol_id": protocol_id,
              "protocol_json": dumps(run["protocol_json"] if run["protocol_json"] is not None else {}),
              "status": run["status"], "started_utc": run["started_utc"], "ended_utc": run["ended_utc"],
              "message": run["message"], "provenance_json": dumps(run["provenance_json"] or {}), "source": source}
    uuid = str(run["uuid"])
    row = cache.execute(f"SELECT id, {', '.join(values)} FROM runs WHERE uuid = ?", (uuid,)).fetchone()
    if row is None:
        columns = [*values, "n_samples", "uuid"]
        report.run_row = True
        return cache.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             (*values.values(), 0, uuid)).lastrowid
    run_id = row["id"]
    json_columns = ("protocol_json", "provenance_json")
    changed = any(row[c] != v for c, v in values.items() if c not in json_columns) or any(
        not _same_json(row[c], values[c]) for c in json_columns)
    if changed:
        cache.execute(f"UPDATE runs SET {', '.join(c + ' = ?' for c in values)} WHERE id = ?",
                      (*values.values(), run_id))
        report.run_row = True
    return run_id


def _put_chunks(lab: psycopg.Connection, cache: sqlite3.Connection, run_id: int, key: str,
                report: FetchReport) -> int:
    """The lab's chunks after those the cache holds, in order, up to the first gap (a chunk
    its station has not pushed yet); the cache's sample count after them."""
    total = cache.execute("SELECT COALESCE(SUM(n), 0) FROM sample_chunks WHERE run_id = ?", (run_id,)).fetchone()[0]
    size = SAMPLE_DTYPE.itemsize
    # binary: bytea arrives as the bytes themselves, not as hex text to decode
    with lab.cursor(name=f"chunks_{run_id}", binary=True) as cur:
        cur.itersize = CHUNKS_PER_FETCH
        cur.execute("SELECT first_index, n, t_first, t_last, data FROM solidstack.sample_chunks"
                    " WHERE run_uuid = %s AND first_index >= %s ORDER BY first_index", (key, total))
        for first, n, t_first, t_last, data in cur:
            if first != total:
                break           # a gap: the rest comes with a later fetch, once its station sent it
            if n <= 0 or len(data) != n * size:
                raise LabError(f"run {key} in the lab is damaged: its sample chunk at index {first} holds "
                               f"{len(data)} bytes for {n} samples")
            cache.execute("INSERT INTO sample_chunks (run_id, first_index, n, t_first, t_last, data)"
                          " VALUES (?,?,?,?,?,?)", (run_id, first, n, t_first, t_last, bytes(data)))
            total += n
            report.new_chunks += 1
            report.new_samples += n
    return total


STEP_COLUMNS = ("step", "cycle", "label", "current_a", "t_start", "t_end", "n_samples", "charge_mah", "v_mean", "v_end")


def _put_steps(lab: psycopg.Connection, cache: sqlite3.Connection, run_id: int, key: str,
               report: FetchReport) -> None:
    """Steps from the cache's last one on (the last may have grown since: it was running)."""
    last = cache.execute("SELECT MAX(step) FROM run_steps WHERE run_id = ?", (run_id,)).fetchone()[0]
    rows = _all(lab, f"SELECT {', '.join(STEP_COLUMNS)} FROM solidstack.run_steps WHERE run_uuid = %s AND step >= %s"
                     " ORDER BY step", (key, -(2**31) if last is None else last))
    have = {r[0]: tuple(r) for r in cache.execute(
        f"SELECT {', '.join(STEP_COLUMNS)} FROM run_steps WHERE run_id = ? AND step >= ?",
        (run_id, -(2**31) if last is None else last))}
    for row in rows:
        values = tuple(row[c] for c in STEP_COLUMNS)
        if have.get(values[0]) == values:
            continue
        cache.execute(f"INSERT OR REPLACE INTO run_steps (run_id, {', '.join(STEP_COLUMNS)})"
                      f" VALUES (?, {', '.join('?' * len(STEP_COLUMNS))})", (run_id, *values))
        report.steps += 1


EVENT_COLUMNS = ("t_s", "sample_index", "kind", "severity", "message", "evidence_json", "acknowledged_utc",
                 "acknowledged_by")


def _put_events(lab: psycopg.Connection, cache: sqlite3.Connection, run_id: int, key: str,
                report: FetchReport) -> None:
    """New events, and those acknowledged since (events are few: all are compared)."""
    rows = _all(lab, f"SELECT uuid, {', '.join(EVENT_COLUMNS)} FROM solidstack.events WHERE run_uuid = %s"
                     " ORDER BY t_s, uuid", (key,))
    have = {r["uuid"]: r for r in cache.execute(
        f"SELECT id, uuid, {', '.join(EVENT_COLUMNS)} FROM events WHERE run_id = ?", (run_id,))}
    for row in rows:
        uuid = str(row["uuid"])
        values = tuple(dumps(row[c] if row[c] is not None else {}) if c == "evidence_json" else row[c]
                       for c in EVENT_COLUMNS)
        old = have.get(uuid)
        if old is None:
            cache.execute(f"INSERT INTO events (run_id, {', '.join(EVENT_COLUMNS)}, uuid)"
                          f" VALUES (?, {', '.join('?' * len(EVENT_COLUMNS))}, ?)", (run_id, *values, uuid))
            report.events += 1
        elif any(old[c] != v for c, v in zip(EVENT_COLUMNS, values) if c != "evidence_json") \
                or not _same_json(old["evidence_json"], values[EVENT_COLUMNS.index("evidence_json")]):
            cache.execute(f"UPDATE events SET {', '.join(c + ' = ?' for c in EVENT_COLUMNS)} WHERE id = ?",
                          (*values, old["id"]))
            report.events += 1


SPECTRUM_COLUMNS = ("spectrum", "t_s", "step", "cycle", "amplitude_v", "instrument")


def _put_spectra(lab: psycopg.Connection, cache: sqlite3.Connection, run_id: int, key: str,
                 report: FetchReport) -> None:
    """New spectra, and the points of any whose points are not all here yet."""
    rows = _all(lab, f"SELECT s.uuid, {', '.join('s.' + c for c in SPECTRUM_COLUMNS)},"
                     " (SELECT count(*) FROM solidstack.spectrum_points p WHERE p.spectrum_uuid = s.uuid) AS n_points"
                     " FROM solidstack.spectra s WHERE s.run_uuid = %s ORDER BY s.spectrum", (key,))
    have = {r["uuid"]: r for r in cache.execute(
        "SELECT s.uuid, s.spectrum, (SELECT COUNT(*) FROM spectrum_points p WHERE p.run_id = s.run_id"
        " AND p.spectrum = s.spectrum) AS n_points FROM spectra s WHERE s.run_id = ?", (run_id,))}
    for row in rows:
        uuid = str(row["uuid"])
        old = have.get(uuid)
        if old is None:
            cache.execute(f"INSERT INTO spectra (run_id, {', '.join(SPECTRUM_COLUMNS)}, uuid)"
                          f" VALUES (?, {', '.join('?' * len(SPECTRUM_COLUMNS))}, ?)",
                          (run_id, *(row[c] for c in SPECTRUM_COLUMNS), uuid))
            report.spectra += 1
            n_have = 0
        else:
            n_have = old["n_points"]
        if row["n_points"] == n_have:
            continue
        points = _all(lab, "SELECT point, freq_hz, z_real_ohm, z_imag_ohm, flag FROM solidstack.spectrum_points"
                           " WHERE spectrum_uuid = %s AND point >= %s ORDER BY point", (uuid, n_have))
        cache.executemany("INSERT OR REPLACE INTO spectrum_points (run_id, spectrum, point, freq_hz, z_real_ohm,"
                          " z_imag_ohm, flag) VALUES (?,?,?,?,?,?,?)",
                          [(run_id, row["spectrum"], p["point"], p["freq_hz"], p["z_real_ohm"], p["z_imag_ohm"],
                            p["flag"]) for p in points])
        report.points += len(points)
