"""Pushing a notebook to the lab store: the outbox (notebook schema v5) drained in seq order,
in bounded batches, each batch one PostgreSQL transaction of upserts keyed by uuid (or a
natural key), and only after its COMMIT the outbox rows it covered deleted locally.

Why this survives being killed anywhere: the lab's writes are idempotent (a row is inserted,
or updated to the notebook's current values, or left alone when already there), and the
outbox rows go only after the lab has committed. A sync killed between the two pushes the
same batch again and changes nothing; one killed earlier pushed nothing.

What a batch sends: the current notebook row each outbox row names (never a history: a run
updated a hundred times is sent once, as it is now), plus, inserted only when the lab lacks
them, the build, protocol and run those rows hang on, so the lab never refuses a row for a
missing parent. Rows that change (builds, runs, steps, events, operators, lots) are upserted
with DO UPDATE, only where a value differs; rows written once (chunks, spectra, notes, tags)
with DO NOTHING; a tag removed locally gets removed_utc in the lab (nothing is deleted there).
After the outbox is drained, every ended run of the station that the lab has no outcome
figures for gets them (lab/outcomes.py), computed from the notebook.

`SyncWorker` does this on its own daemon thread, about once a second or when woken, backing
off up to 30 s while the server does not answer, and keeps a `SyncStatus` any thread may read.
Its SQLite connection is its own; its local writes (deleting outbox rows) are one short
transaction per batch, so a run's writer never waits on it for long."""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg import sql

from lab.backlog import Backlog, backlog
from lab.connection import LabError, connect, describe, redact
from notebook.errors import NotebookError
from notebook.jsontext import dumps
from notebook.store import connect as notebook_connect
from notebook.store import utc_now

BATCH_ROWS = 2000                  # outbox rows per batch
BATCH_BYTES = 32 * 1024 * 1024     # sample bytes per batch (~600 k samples; one chunk more at most)
INTERVAL_S = 1.0                   # how often the worker looks for new outbox rows
MAX_BACKOFF_S = 30.0               # longest wait between attempts while the server does not answer
OUTCOMES_INTERVAL_S = 10.0          # how often the outcomes thread looks for ended runs without figures
LAST_SYNC_KEY = "lab_last_sync_utc"   # station table: when this notebook last finished a sync
NOT_A_STATION = "this login is not a station of the lab: ask the lab admin to run `lab add-station`"


class LabOffline(LabError):
    """The lab store could not be reached (refused, timed out, connection lost)."""


# -- the lab's statements --
@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]            # the conflict target (also used to count what was sent)
    changes: bool                   # DO UPDATE where a value differs; else DO NOTHING

    def statement(self, update: bool | None = None) -> sql.Composed:
        update = self.changes if update is None else update
        ident = sql.Identifier("solidstack", self.name)
        columns = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        values = sql.SQL(", ").join(sql.Placeholder() * len(self.columns))
        head = sql.SQL("INSERT INTO {} AS t ({}) VALUES ({}) ").format(ident, columns, values)
        rest = [c for c in self.columns if c not in self.key]
        if not update or not rest:
            return head + sql.SQL("ON CONFLICT DO NOTHING")
        target = sql.SQL(", ").join(map(sql.Identifier, self.key))
        sets = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in rest)
        mine = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in rest)
        theirs = sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in rest)
        # only where something differs: a replayed batch rewrites no row at all
        return head + sql.SQL("ON CONFLICT ({}) DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})").format(
            target, sets, sql.SQL("ROW({})").format(mine), sql.SQL("ROW({})").format(theirs))


BUILDS = _Table("builds", ("uuid", "station_uuid", "local_id", "created_utc", "name", "template", "description",
                           "operator", "area_cm2", "stack_pressure_mpa", "densification_pressure_mpa",
                           "temperature_c", "notes", "stack_json"), ("uuid",), True)
LAYERS = _Table("build_layers", ("build_uuid", "position", "material", "thickness_um", "areal_mass_mg_cm2", "lot"),
                ("build_uuid", "position"), True)
PROTOCOLS = _Table("protocols", ("uuid", "name", "version", "protocol_json", "created_utc"), ("uuid",), False)
RUNS = _Table("runs", ("uuid", "station_uuid", "local_id", "build_uuid", "protocol_uuid", "protocol", "protocol_json",
                       "status", "started_utc", "ended_utc", "n_samples", "message", "provenance_json", "source"),
              ("uuid",), True)
CHUNKS = _Table("sample_chunks", ("run_uuid", "first_index", "n", "t_first", "t_last", "data"),
                ("run_uuid", "first_index"), False)
STEPS = _Table("run_steps", ("run_uuid", "step", "cycle", "label", "current_a", "t_start", "t_end", "n_samples",
                             "charge_mah", "v_mean", "v_end"), ("run_uuid", "step"), True)
EVENTS = _Table("events", ("uuid", "run_uuid", "t_s", "sample_index", "kind", "severity", "message", "evidence_json",
                           "acknowledged_utc", "acknowledged_by"), ("uuid",), True)
SPECTRA = _Table("spectra", ("uuid", "run_uuid", "spectrum", "t_s", "step", "cycle", "amplitude_v", "instrument"),
                 ("uuid",), False)
POINTS = _Table("spectrum_points", ("spectrum_uuid", "point", "freq_hz", "z_real_ohm", "z_imag_ohm", "flag"),
                ("spectrum_uuid", "point"), False)
NOTES = _Table("notes", ("uuid", "station_uuid", "build_uuid", "run_uuid", "created_utc", "author", "text"),
               ("uuid",), False)
BUILD_TAGS = _Table("build_tags", ("uuid", "build_uuid", "tag", "created_utc"), ("uuid",), False)
RUN_TAGS = _Table("run_tags", ("uuid", "run_uuid", "tag", "created_utc"), ("uuid",), False)
OPERATORS = _Table("operators", ("name", "full_name", "created_utc"), ("station", "name"), True)
LOTS = _Table("material_lots", ("material", "lot", "supplier", "received", "notes", "created_utc"),
              ("station", "material", "lot"), True)
OUTCOMES = _Table("run_outcomes", ("run_uuid", "computed_utc", "r_int_ohm_cm2", "t_short_h", "capacity_first_mah",
                                   "capacity_n_mah", "retention_cycle", "retention_pct", "ce_avg_pct", "n_cycles",
                                   "energy_wh_kg"), ("run_uuid",), True)
_INTEGER_OUTCOMES = ("retention_cycle", "n_cycles")

# what a report counts, in the order it prints them
KINDS = ("builds", "protocols", "runs", "chunks", "samples", "steps", "events", "spectra", "spectrum_points", "notes",
         "tags", "tags_removed", "operators", "lots", "outcomes")


def _jsonb(text: str | None) -> str | None:
    """Notebook JSON as the lab's jsonb takes it: non-finite numbers as null (PostgreSQL
    refuses NaN in JSON); text that is not JSON kept whole as a JSON string."""
    if text is None:
        return None
    try:
        return dumps(json.loads(text))
    except (ValueError, RecursionError):
        return json.dumps(text)


# -- a batch: what the outbox names, read from the notebook --
@dataclass
class _Batch:
    seqs: list[int] = field(default_factory=list)
    builds: set[int] = field(default_factory=set)       # outbox-named (sent in full, updated)
    protocols: set[int] = field(default_factory=set)
    runs: set[int] = field(default_factory=set)
    chunks: dict[tuple[int, int], None] = field(default_factory=dict)    # ordered sets
    steps: dict[tuple[int, int], None] = field(default_factory=dict)
    events: dict[int, None] = field(default_factory=dict)
    spectra: dict[tuple[int, int], None] = field(default_factory=dict)
    notes: dict[int, None] = field(default_factory=dict)
    build_tags: dict[int, None] = field(default_factory=dict)
    run_tags: dict[int, None] = field(default_factory=dict)
    removed_build_tags: dict[str, None] = field(default_factory=dict)
    removed_run_tags: dict[str, None] = field(default_factory=dict)
    operators: dict[int, None] = field(default_factory=dict)
    lots: dict[int, None] = field(default_factory=dict)

    def add(self, kind: str, ref: int | None, sub: int | None, uuid: str | None) -> None:
        if kind == "build":
            self.builds.add(ref)
        elif kind == "protocol":
            self.protocols.add(ref)
        elif kind == "run":
            self.runs.add(ref)
        elif kind == "chunk":
            self.chunks[ref, sub] = None
        elif kind == "step":
            self.steps[ref, sub] = None
        elif kind == "event":
            self.events[ref] = None
        elif kind == "spectrum":
            self.spectra[ref, sub] = None
        elif kind == "note":
            self.notes[ref] = None
        elif kind == "build_tag":
            self.build_tags[ref] = None
        elif kind == "run_tag":
            self.run_tags[ref] = None
        elif kind == "build_tag_removed":
            self.removed_build_tags[uuid] = None
        elif kind == "run_tag_removed":
            self.removed_run_tags[uuid] = None
        elif kind == "operator":
            self.operators[ref] = None
        elif kind == "lot":
            self.lots[ref] = None
        else:
            raise LabError(f"the notebook's outbox holds a record of unknown kind {kind!r}: this SolidStack is older "
                           "than the notebook; update it to sync")


def _read_outbox(conn: sqlite3.Connection, max_rows: int, max_bytes: int) -> _Batch:
    """The next outbox rows in seq order: at most max_rows, and stopping once the chunks
    taken hold max_bytes (one chunk at least, however large)."""
    batch, size = _Batch(), 0
    for seq, kind, ref, sub, uuid, nbytes in conn.execute(
            "SELECT o.seq, o.kind, o.ref, o.sub, o.uuid, CASE WHEN o.kind = 'chunk' THEN (SELECT length(c.data)"
            " FROM sample_chunks c WHERE c.run_id = o.ref AND c.first_index = o.sub) END"
            " FROM outbox o ORDER BY o.seq LIMIT ?", (max_rows,)):
        if nbytes and batch.seqs and size + nbytes > max_bytes:
            break
        size += nbytes or 0
        batch.seqs.append(seq)
        batch.add(kind, ref, sub, uuid)
    return batch


def _one(conn: sqlite3.Connection, query: str, key) -> sqlite3.Row | None:
    return conn.execute(query, key if isinstance(key, tuple) else (key,)).fetchone()


@dataclass
class _Rows:
    """A batch as the lab's rows: table -> parameter tuples, and the parent rows to insert
    only when missing."""
    rows: dict[_Table, list[tuple]] = field(default_factory=dict)
    ensure: dict[_Table, list[tuple]] = field(default_factory=dict)
    removed: dict[str, list[tuple]] = field(default_factory=dict)     # table -> (removed_utc, uuid)
    final_runs: dict[str, int] = field(default_factory=dict)          # uuid -> local id of an ended run

    def put(self, table: _Table, row: tuple) -> None:
        self.rows.setdefault(table, []).append(row)


class _Reader:
    """Reads what a batch names from the notebook, in one read transaction (a consistent
    snapshot: a run's writer committing meanwhile is seen next time)."""

    def __init__(self, conn: sqlite3.Connection, station_uuid: str):
        self.conn = conn
        self.station_uuid = station_uuid
        self._build_uuid: dict[int, str | None] = {}
        self._run_uuid: dict[int, str | None] = {}

    def build_uuid(self, build_id: int | None) -> str | None:
        if build_id is None:
            return None
        if build_id not in self._build_uuid:
            row = _one(self.conn, "SELECT uuid FROM builds WHERE id = ?", build_id)
            self._build_uuid[build_id] = row[0] if row else None
        return self._build_uuid[build_id]

    def run_uuid(self, run_id: int | None) -> str | None:
        if run_id is None:
            return None
        if run_id not in self._run_uuid:
            row = _one(self.conn, "SELECT uuid FROM runs WHERE id = ?", run_id)
            self._run_uuid[run_id] = row[0] if row else None
        return self._run_uuid[run_id]

    def read(self, batch: _Batch) -> _Rows:
        out = _Rows()
        parent_runs: set[int] = set()
        parent_builds: set[int] = set()
        parent_protocols: set[int] = set()
        for run_id, first in batch.chunks:
            row = _one(self.conn, "SELECT n, t_first, t_last, data FROM sample_chunks"
                                  " WHERE run_id = ? AND first_index = ?", (run_id, first))
            if row is not None and self.run_uuid(run_id):
                out.put(CHUNKS, (self.run_uuid(run_id), first, row["n"], row["t_first"], row["t_last"], row["data"]))
                parent_runs.add(run_id)
        for run_id, step in batch.steps:
            row = _one(self.conn, "SELECT * FROM run_steps WHERE run_id = ? AND step = ?", (run_id, step))
            if row is not None and self.run_uuid(run_id):
                out.put(STEPS, (self.run_uuid(run_id), step, row["cycle"], row["label"], row["current_a"],
                                row["t_start"], row["t_end"], row["n_samples"], row["charge_mah"], row["v_mean"],
                                row["v_end"]))
                parent_runs.add(run_id)
        for event_id in batch.events:
            row = _one(self.conn, "SELECT * FROM events WHERE id = ?", event_id)
            if row is not None and self.run_uuid(row["run_id"]):
                out.put(EVENTS, (row["uuid"], self.run_uuid(row["run_id"]), row["t_s"], row["sample_index"],
                                 row["kind"], row["severity"], row["message"], _jsonb(row["evidence_json"]),
                                 row["acknowledged_utc"], row["acknowledged_by"]))
                parent_runs.add(row["run_id"])
        for run_id, number in batch.spectra:
            row = _one(self.conn, "SELECT * FROM spectra WHERE run_id = ? AND spectrum = ?", (run_id, number))
            if row is None or not self.run_uuid(run_id):
                continue
            out.put(SPECTRA, (row["uuid"], self.run_uuid(run_id), number, row["t_s"], row["step"], row["cycle"],
                              row["amplitude_v"], row["instrument"]))
            for point in self.conn.execute(
                    "SELECT point, freq_hz, z_real_ohm, z_imag_ohm, flag FROM spectrum_points"
                    " WHERE run_id = ? AND spectrum = ? ORDER BY point", (run_id, number)):
                out.put(POINTS, (row["uuid"], *tuple(point)))
            parent_runs.add(run_id)
        for note_id in batch.notes:
            row = _one(self.conn, "SELECT * FROM notes WHERE id = ?", note_id)
            if row is None:
                continue
            out.put(NOTES, (row["uuid"], self.station_uuid, self.build_uuid(row["build_id"]),
                            self.run_uuid(row["run_id"]), row["created_utc"], row["author"], row["text"]))
            if row["run_id"] is not None:
                parent_runs.add(row["run_id"])
            if row["build_id"] is not None:
                parent_builds.add(row["build_id"])
        for rowid in batch.build_tags:
            row = _one(self.conn, "SELECT uuid, build_id, tag, created_utc FROM build_tags WHERE rowid = ?", rowid)
            if row is not None and row["uuid"]:
                out.put(BUILD_TAGS, (row["uuid"], self.build_uuid(row["build_id"]), row["tag"], row["created_utc"]))
                parent_builds.add(row["build_id"])
        for rowid in batch.run_tags:
            row = _one(self.conn, "SELECT uuid, run_id, tag, created_utc FROM run_tags WHERE rowid = ?", rowid)
            if row is not None and row["uuid"]:
                out.put(RUN_TAGS, (row["uuid"], self.run_uuid(row["run_id"]), row["tag"], row["created_utc"]))
                parent_runs.add(row["run_id"])
        now = utc_now()
        out.removed["build_tags"] = [(now, u) for u in batch.removed_build_tags if u]
        out.removed["run_tags"] = [(now, u) for u in batch.removed_run_tags if u]
        for rowid in batch.operators:
            row = _one(self.conn, "SELECT name, full_name, created_utc FROM operators WHERE rowid = ?", rowid)
            if row is not None:
                out.put(OPERATORS, tuple(row))
        for rowid in batch.lots:
            row = _one(self.conn, "SELECT material, lot, supplier, received, notes, created_utc FROM material_lots"
                                  " WHERE rowid = ?", rowid)
            if row is not None:
                out.put(LOTS, tuple(row))
        # runs: those named in full, those only hung on (inserted when the lab lacks them)
        for run_id in sorted(batch.runs | parent_runs):
            row = _one(self.conn, "SELECT * FROM runs WHERE id = ?", run_id)
            if row is None:
                continue
            protocol_uuid = None
            if row["protocol_id"] is not None:
                protocol = _one(self.conn, "SELECT uuid FROM protocols WHERE id = ?", row["protocol_id"])
                protocol_uuid = protocol[0] if protocol else None
                parent_protocols.add(row["protocol_id"])
            parent_builds.add(row["build_id"])
            values = (row["uuid"], self.station_uuid, run_id, self.build_uuid(row["build_id"]), protocol_uuid,
                      row["protocol"], _jsonb(row["protocol_json"]), row["status"], row["started_utc"],
                      row["ended_utc"], row["n_samples"], row["message"], _jsonb(row["provenance_json"]),
                      row["source"])
            if run_id in batch.runs:
                out.put(RUNS, values)
                if row["status"] != "running":
                    out.final_runs[row["uuid"]] = run_id
            else:
                out.ensure.setdefault(RUNS, []).append(values)
        for protocol_id in sorted(batch.protocols | parent_protocols):
            row = _one(self.conn, "SELECT uuid, name, version, protocol_json, created_utc FROM protocols WHERE id = ?",
                       protocol_id)
            if row is not None:
                target = out.rows if protocol_id in batch.protocols else out.ensure
                target.setdefault(PROTOCOLS, []).append((row["uuid"], row["name"], row["version"],
                                                         _jsonb(row["protocol_json"]), row["created_utc"]))
        for build_id in sorted(batch.builds | parent_builds):
            row = _one(self.conn, "SELECT * FROM builds WHERE id = ?", build_id)
            if row is None:
                continue
            target = out.rows if build_id in batch.builds else out.ensure
            target.setdefault(BUILDS, []).append((
                row["uuid"], self.station_uuid, build_id, row["created_utc"], row["name"], row["template"],
                row["description"], row["operator"], row["area_cm2"], row["stack_pressure_mpa"],
                row["densification_pressure_mpa"], row["temperature_c"], row["notes"], _jsonb(row["stack_json"])))
            for layer in self.conn.execute(
                    "SELECT position, material, thickness_um, areal_mass_mg_cm2, lot FROM build_layers"
                    " WHERE build_id = ? ORDER BY position", (build_id,)):
                target.setdefault(LAYERS, []).append((row["uuid"], *tuple(layer)))
        return out


# -- the outcome figures, from lab/outcomes.py when this build has it --
def _outcomes_function() -> Callable[[sqlite3.Connection, int], dict] | None:
    try:
        from lab.outcomes import run_outcomes
    except ModuleNotFoundError as exc:
        if exc.name != "lab.outcomes":
            raise
        return None
    return run_outcomes


def _outcome_row(run_uuid: str, figures: dict) -> tuple:
    values = {k: figures.get(k) for k in OUTCOMES.columns[1:]}
    for key in _INTEGER_OUTCOMES:
        if values[key] is not None:
            values[key] = int(values[key])
    return (run_uuid, *values.values())


# -- the report --
@dataclass
class SyncReport:
    """What one sync pushed (distinct records per kind; `samples` in the chunks pushed) and
    what is still behind."""
    batches: int = 0
    behind: Backlog = field(default_factory=lambda: Backlog(0, 0, 0))
    seconds: float = 0.0
    station: str = ""               # the station's name in the lab
    url: str = ""                   # where, without credentials
    warnings: list[str] = field(default_factory=list)
    sent: dict[str, set] = field(default_factory=dict, repr=False)
    chunk_sizes: dict[tuple, int] = field(default_factory=dict, repr=False)

    def add(self, keys: dict[str, set]) -> None:
        for kind, found in keys.items():
            self.sent.setdefault(kind, set()).update(found)

    @property
    def pushed(self) -> dict[str, int]:
        counts = {kind: len(self.sent.get(kind, ())) for kind in KINDS}
        counts["samples"] = sum(self.chunk_sizes.values())
        return counts

    def as_dict(self) -> dict:
        return {"url": self.url, "station": self.station, "pushed": dict(self.pushed), "batches": self.batches,
                "behind": self.behind.as_dict(), "seconds": round(self.seconds, 3), "warnings": list(self.warnings)}


def _server_error(exc: psycopg.Error, url: str) -> LabError:
    """A server's refusal (or a lost connection) as one line without credentials."""
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, psycopg.errors.QueryCanceled):
        return LabOffline(f"the connection to the lab store at {describe(url)} was lost: "
                          f"{redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)}")
    diag = getattr(exc, "diag", None)
    detail = redact((diag.message_primary if diag is not None else None) or str(exc).splitlines()[0] or
                    type(exc).__name__)
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return LabError(f"the lab store at {describe(url)} refused this station's write ({detail}): a station "
                        "writes only its own records; ask the lab admin whether this login is this notebook's station")
    return LabError(f"the lab store at {describe(url)} refused the sync: {detail}")


# -- one connection's worth of syncing --
class Syncer:
    """The notebook at `db_path` and the lab at `url`, connected: `drain()` pushes the
    outbox batch by batch. Used by sync_once (the CLI) and by the SyncWorker thread."""

    def __init__(self, db_path: str | Path, url: str, *, batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES):
        self.db_path = Path(db_path)
        self.url = url
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.local = _open_notebook(self.db_path)
        self.pg: psycopg.Connection | None = None
        self.station = ""
        self._outcomes_failed: set[str] = set()   # runs whose figures could not be computed: not retried
        self._outcomes_due = True                  # look for ended runs without figures (at least once)

    def close(self) -> None:
        if self.pg is not None:
            self.pg.close()
            self.pg = None
        self.local.close()

    # -- the lab side --
    def connect(self) -> None:
        """Connect (if not connected) and make sure this login is a station whose uuid is
        this notebook's; the first sync sets it."""
        if self.pg is not None and not self.pg.closed and not self.pg.broken:
            try:
                # a connection kept since the last drain may have died with a server restart
                self.pg.execute("SELECT 1")
                self.pg.rollback()
                return
            except psycopg.OperationalError:
                pass
        if self.pg is not None:
            self.pg.close()
        try:
            self.pg = connect(self.url, role_hint="station")
        except LabError as exc:
            raise LabOffline(str(exc)) from None
        try:
            self.station = self._attach()
        except BaseException:
            self.pg.close()
            self.pg = None
            raise

    def _attach(self) -> str:
        from lab.schema import check_version
        me = _station_uuid(self.local)
        try:
            check_version(self.pg)
            row = self.pg.execute("SELECT name, uuid::text, kind FROM solidstack.stations WHERE role = current_user"
                                  ).fetchone()
            if row is None:
                raise LabError(f"{NOT_A_STATION} (login {self.pg.info.user!r} at {describe(self.url)})")
            name, uuid, kind = row
            if kind != "station":
                raise LabError(f"the login {self.pg.info.user!r} is a reader of the lab, which cannot sync: give this "
                               "station its own login (the lab admin runs `lab add-station`)")
            if uuid is None:
                self.pg.execute("UPDATE solidstack.stations SET uuid = %s WHERE role = current_user", (me,))
            elif uuid != me:
                raise LabError(f"the login {self.pg.info.user!r} is station {name!r} of the lab, which already syncs "
                               f"another notebook (station {uuid}; this notebook is station {me}): each notebook "
                               "syncs through a login of its own (the lab admin runs `lab add-station`)")
            self.pg.commit()
        except psycopg.errors.InsufficientPrivilege:
            self._rollback()        # a login outside the lab's groups may not even read its tables
            raise LabError(f"{NOT_A_STATION} (login {self.pg.info.user!r} at {describe(self.url)} may not read the "
                           "lab store)") from None
        except psycopg.errors.UniqueViolation:
            self.pg.rollback()
            raise LabError(f"this notebook (station {me}) already syncs to the lab through another login: use "
                           "that login's URL") from None
        except psycopg.Error as exc:
            self._rollback()
            raise _server_error(exc, self.url) from None
        except LabError:
            self._rollback()
            raise
        return name

    def _rollback(self) -> None:
        if self.pg is not None and not self.pg.closed and not self.pg.broken:
            try:
                self.pg.rollback()
            except psycopg.OperationalError:
                pass    # the connection is gone; the transaction went with it

    # -- draining --
    def pending(self) -> bool:
        return self.local.execute("SELECT 1 FROM outbox LIMIT 1").fetchone() is not None

    def drain(self, report: SyncReport, stop: threading.Event | None = None,
              progress: Callable[[SyncReport], None] | None = None, outcomes: bool = True) -> SyncReport:
        """Push batches until the outbox is empty (or `stop` is set), then, with `outcomes`,
        the outcome figures of runs that ended (the SyncWorker computes those on a thread of
        their own: a circuit fit must not hold back a live run's samples)."""
        self.connect()
        report.station, report.url = self.station, redact(self.url)
        while stop is None or not stop.is_set():
            if not self.push_batch(report):
                break
            if progress is not None:
                progress(report)
        if outcomes and self._outcomes_due and (stop is None or not stop.is_set()):
            self.push_outcomes(report)
        return report

    def push_outcomes(self, report: SyncReport) -> None:
        """Outcome figures (lab/outcomes.py) of this station's ended runs that the lab has none
        of, computed from the notebook and pushed in one transaction. Asked of the lab, not
        remembered here: a sync killed before this step, or run by a build without
        lab/outcomes.py, is made good by the next one."""
        self._outcomes_due = False
        try:
            missing = self.pg.execute(
                "SELECT r.uuid::text FROM solidstack.runs r LEFT JOIN solidstack.run_outcomes o ON o.run_uuid = r.uuid"
                " WHERE r.station = current_user AND r.status <> 'running' AND o.run_uuid IS NULL").fetchall()
            self.pg.rollback()
        except psycopg.Error as exc:
            self._rollback()
            raise _server_error(exc, self.url) from None
        todo = [u for (u,) in missing if u not in self._outcomes_failed]
        compute = _outcomes_function() if todo else None
        if compute is None:
            return
        rows = []
        for run_uuid in todo:
            found = self.local.execute("SELECT id FROM runs WHERE uuid = ?", (run_uuid,)).fetchone()
            if found is None:
                continue
            try:
                figures = compute(self.local, found[0])
            except (NotebookError, ValueError, ArithmeticError) as exc:
                # the run is in the lab all the same; only its figures are missing, and said so
                self._outcomes_failed.add(run_uuid)
                report.warnings.append(f"run {found[0]}'s outcome figures could not be computed: {exc}")
                continue
            finally:
                self.local.rollback()       # outcomes only read: end the snapshot
            rows.append(_outcome_row(run_uuid, figures))
        if not rows:
            return
        try:
            with self.pg.cursor() as cur:
                cur.executemany(OUTCOMES.statement(), rows)
            self.pg.commit()
        except psycopg.Error as exc:
            self._rollback()
            raise _server_error(exc, self.url) from None
        report.add({"outcomes": {row[0] for row in rows}})

    def push_batch(self, report: SyncReport) -> bool:
        """One batch: read, upsert and commit in the lab, then delete its outbox rows.
        False when the outbox was empty."""
        me = _station_uuid(self.local)
        self.local.execute("BEGIN")
        try:
            batch = _read_outbox(self.local, self.batch_rows, self.batch_bytes)
            if not batch.seqs:
                return False
            rows = _Reader(self.local, me).read(batch)
        finally:
            self.local.rollback()        # only read: ends the snapshot
        try:
            counts = self._write(rows, report)
            self.pg.commit()
        except psycopg.Error as exc:
            self._rollback()
            raise _server_error(exc, self.url) from None
        # the lab has it: now, and only now, the outbox rows go (by seq, exactly those read)
        self.local.execute("BEGIN IMMEDIATE")
        try:
            self.local.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in batch.seqs])
            self.local.execute("INSERT OR REPLACE INTO station (key, value) VALUES (?, ?)", (LAST_SYNC_KEY, utc_now()))
            self.local.commit()
        except BaseException:
            self.local.rollback()
            raise
        report.add(counts)
        report.batches += 1
        return True

    def _write(self, rows: _Rows, report: SyncReport) -> dict[str, set]:
        """The batch's upserts, in the transaction the caller commits; the keys of what was
        sent per kind (a record sent in two batches is counted once)."""
        counts: dict[str, set] = {}
        with self.pg.cursor() as cur:
            # parents first, in dependency order; those only hung on are inserted if missing
            for table in (BUILDS, LAYERS, PROTOCOLS, RUNS):
                if rows.ensure.get(table):
                    cur.executemany(table.statement(update=False), rows.ensure[table])
                if rows.rows.get(table):
                    cur.executemany(table.statement(), rows.rows[table])
            for table in (CHUNKS, STEPS, EVENTS, SPECTRA, POINTS, NOTES, BUILD_TAGS, RUN_TAGS, OPERATORS, LOTS):
                if rows.rows.get(table):
                    cur.executemany(table.statement(), rows.rows[table])
            for table, removed in rows.removed.items():
                if removed:
                    # the first removal stands: a replay does not move removed_utc
                    cur.executemany(sql.SQL("UPDATE {} SET removed_utc = %s WHERE uuid = %s AND removed_utc IS NULL"
                                            ).format(sql.Identifier("solidstack", table)), removed)
            if rows.final_runs:
                self._outcomes_due = True       # pushed after the drain (push_outcomes)
        keys = {BUILDS: ("builds", 0), PROTOCOLS: ("protocols", 0), RUNS: ("runs", 0), CHUNKS: ("chunks", 2),
                STEPS: ("steps", 2), EVENTS: ("events", 0), SPECTRA: ("spectra", 0), POINTS: ("spectrum_points", 2),
                NOTES: ("notes", 0), BUILD_TAGS: ("tags", 0), RUN_TAGS: ("tags", 0), OPERATORS: ("operators", 1),
                LOTS: ("lots", 2)}
        for table, (name, width) in keys.items():
            counts.setdefault(name, set()).update(row[:width] if width else row[0] for row in rows.rows.get(table, ()))
        counts["tags_removed"] = {u for removed in rows.removed.values() for _, u in removed}
        report.chunk_sizes.update({row[:2]: row[2] for row in rows.rows.get(CHUNKS, ())})
        return counts


def _station_uuid(conn: sqlite3.Connection) -> str:
    """This notebook's station uuid (made by the v5 migration), read without writing."""
    row = conn.execute("SELECT value FROM station WHERE key = 'uuid'").fetchone()
    if row is None:
        raise NotebookError("the notebook has no station identity (its station table lacks a uuid): it is damaged")
    return row[0]


def _open_notebook(path: Path) -> sqlite3.Connection:
    """The sync's own connection to the notebook, which must have an outbox (schema v5)."""
    if not path.is_file():
        raise NotebookError(f"no notebook at {path}")
    conn = notebook_connect(path)
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version < 5:
        conn.close()
        raise NotebookError(f"{path} has notebook schema v{version}, older than the lab sync needs (v5): open it once "
                            "with this SolidStack to migrate it")
    return conn


def sync_once(db_path: str | Path, url: str, *, batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES,
              progress: Callable[[SyncReport], None] | None = None) -> SyncReport:
    """Push everything the notebook's outbox holds to the lab at `url`; the report says what
    went and what is still behind. LabError (LabOffline when the server cannot be reached)
    or NotebookError, in words and without credentials; what was committed stays committed."""
    started = time.monotonic()
    report = SyncReport(url=redact(url))
    syncer = Syncer(db_path, url, batch_rows=batch_rows, batch_bytes=batch_bytes)
    try:
        syncer.drain(report, progress=progress)
        report.behind = backlog(syncer.local)
    finally:
        syncer.close()
    report.seconds = time.monotonic() - started
    return report


# -- the worker --
@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of a SyncWorker: `state` is 'synced', 'behind', 'offline', 'error',
    'not_set_up', or 'starting' until its thread has first read the notebook; `since` when it
    went offline or wrong (local time); `error` the last problem in words (no credentials)."""
    state: str
    behind: Backlog = Backlog(0, 0, 0)
    since: datetime | None = None
    last_sync: datetime | None = None
    error: str = ""

    def text(self) -> str:
        if self.state == "not_set_up":
            return "lab: not set up"
        if self.state == "starting":
            return "lab: connecting…"
        if self.state == "offline":
            return f"lab: offline since {self.since:%H:%M}"
        if self.state == "error":
            return f"lab: error since {self.since:%H:%M}"
        if self.behind.records:
            return f"lab: {self.behind.text()} behind"
        return "lab: synced"


class SyncWorker:
    """Drains a notebook's outbox to the lab on a daemon thread of its own: about every
    `interval_s`, or at once after wake(); while the server does not answer, it waits
    1, 2, 4 ... up to `max_backoff_s` between attempts. `url` None: the notebook's remembered
    lab URL (read at each attempt; none is "not set up")."""

    def __init__(self, db_path: str | Path, url: str | None = None, *, interval_s: float = INTERVAL_S,
                 max_backoff_s: float = MAX_BACKOFF_S, batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES):
        self.db_path = Path(db_path)
        self.url = url
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self._lock = threading.Lock()
        self._status = SyncStatus("starting")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._outcomes_thread: threading.Thread | None = None
        self._outcomes_wake = threading.Event()
        self._syncer: Syncer | None = None
        self.pushed: dict[str, int] = dict.fromkeys(KINDS, 0)   # since start, read by tests and tools

    # -- any thread --
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="solidstack-lab-sync", daemon=True)
            self._thread.start()
            self._outcomes_thread = threading.Thread(target=self._outcomes_loop, name="solidstack-lab-outcomes",
                                                     daemon=True)
            self._outcomes_thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the thread to stop after the batch in hand and wait up to `timeout` s; True
        when it has ended (a thread stuck on the network is a daemon and ends by itself)."""
        self._stop.set()
        self._wake.set()
        self._outcomes_wake.set()
        if self._thread is None:
            return True
        deadline = time.monotonic() + timeout
        self._thread.join(timeout)
        if self._outcomes_thread is not None:
            self._outcomes_thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def _set(self, **changes) -> None:
        with self._lock:
            self._status = SyncStatus(**{**self._status.__dict__, **changes})

    # -- the thread --
    def _loop(self) -> None:
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    self._attempt()
                except LabOffline as exc:
                    self._trouble("offline", str(exc))
                    failures += 1
                except (LabError, NotebookError, sqlite3.Error) as exc:
                    self._trouble("error", str(exc))
                    failures += 1
                except psycopg.Error as exc:         # one no statement of ours turned into words
                    self._trouble("error", str(_server_error(exc, self._syncer.url if self._syncer else "")))
                    failures += 1
                else:
                    failures = 0
                # 1, 2, 4 ... s while it fails; a drain that finished looks again in interval_s
                delay = self.interval_s if failures == 0 else min(self.max_backoff_s, 2.0 ** (failures - 1))
                self._wake.wait(delay)
                self._wake.clear()
        except BaseException as exc:
            # a fault of the worker itself: the status says so (the thread's excepthook prints it)
            self._set(state="error", since=datetime.now(), error=redact(f"the lab sync stopped: {exc!r}"))
            raise
        finally:
            self._close()

    def _outcomes_loop(self) -> None:
        """The outcome figures of this station's ended runs (lab/outcomes.py: a circuit fit,
        the cycle table), computed and pushed through connections of this thread's own,
        when a drain has seen a run end and every OUTCOMES_INTERVAL_S, so that the sync
        thread never waits on them. A failure here is retried at the next look; the sync
        thread's status tells whether the lab answers."""
        syncer: Syncer | None = None
        try:
            while not self._stop.is_set():
                self._outcomes_wake.wait(OUTCOMES_INTERVAL_S)
                self._outcomes_wake.clear()
                if self._stop.is_set() or self.status().state not in ("synced", "behind"):
                    continue
                url = self._url()
                if not url:
                    continue
                try:
                    if syncer is None or syncer.url != url:
                        if syncer is not None:
                            syncer.close()
                        syncer = Syncer(self.db_path, url)
                    syncer.connect()
                    report = SyncReport()
                    syncer.push_outcomes(report)
                except (LabError, NotebookError, sqlite3.Error, psycopg.Error):
                    if syncer is not None:
                        syncer.close()
                    syncer = None
                    continue
                with self._lock:
                    self.pushed["outcomes"] = self.pushed.get("outcomes", 0) + report.pushed.get("outcomes", 0)
        finally:
            if syncer is not None:
                try:
                    syncer.close()
                except (psycopg.Error, sqlite3.Error):
                    pass    # closing a connection already gone

    def _close(self) -> None:
        if self._syncer is not None:
            try:
                self._syncer.close()
            except (psycopg.Error, sqlite3.Error):
                pass    # closing a connection already gone: nothing is left to do with it
            self._syncer = None

    def _trouble(self, state: str, message: str) -> None:
        """Offline or refused: keep the message (no credentials), the time it began, and
        drop the connection so the next attempt starts clean."""
        if self._syncer is not None and self._syncer.pg is not None:
            self._syncer._rollback()
            self._syncer.pg.close()
            self._syncer.pg = None
        status = self.status()
        since = status.since if status.state == state and status.since else datetime.now()
        behind = status.behind
        if self._syncer is not None:
            try:
                behind = backlog(self._syncer.local)
            except sqlite3.Error:
                pass    # the figure stays the last one read
        self._set(state=state, since=since, error=redact(message), behind=behind)

    def _url(self) -> str | None:
        if self.url:
            return self.url
        from notebook.station import lab_url
        conn = notebook_connect(self.db_path)
        try:
            return lab_url(conn)
        finally:
            conn.close()

    def _attempt(self) -> bool:
        """One look at the outbox and, when it holds anything, a drain. False: no URL."""
        url = self._url()
        if not url:
            self._set(state="not_set_up")
            return False
        if self._syncer is None or self._syncer.url != url:
            self._close()
            self._syncer = Syncer(self.db_path, url, batch_rows=self.batch_rows, batch_bytes=self.batch_bytes)
        syncer = self._syncer
        if self.status().state in ("starting", "not_set_up"):
            # what waits is "behind" at once; an empty outbox is not "synced" before the lab answers
            behind = backlog(syncer.local)
            self._set(state="starting" if behind.empty else "behind", behind=behind)
        if syncer.pending() or syncer.pg is None:
            report = SyncReport()

            def progress(r: SyncReport) -> None:
                self._set(behind=backlog(syncer.local), state="behind", last_sync=datetime.now(), error="")

            syncer.drain(report, stop=self._stop, progress=progress, outcomes=False)
            with self._lock:
                for kind, n in report.pushed.items():
                    self.pushed[kind] = self.pushed.get(kind, 0) + n
        behind = backlog(syncer.local)
        self._set(state="synced" if behind.empty else "behind", behind=behind, since=None, error="",
                  last_sync=datetime.now())
        if syncer._outcomes_due:        # a run ended (or this is the first look): its figures, elsewhere
            syncer._outcomes_due = False
            self._outcomes_wake.set()
        return True
