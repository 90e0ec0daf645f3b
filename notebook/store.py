"""Opening a notebook file safely, and everything done to it outside a run: saving
builds (registering their operator and lots), listing, searching and reading runs,
samples, steps, spectra and events, and annotating builds and runs with notes and tags.

Opening never damages a file: a path that is not a SolidStack notebook, is from a
newer version, or cannot be written raises NotebookError and leaves the file as it was.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import platformdirs

from cell import Stack
from notebook.errors import NotebookError
from notebook.jsontext import dumps, loads_stored
from notebook.liveness import written_elsewhere
from notebook.rows import insert_event
from notebook.samples import SAMPLE_DTYPE
from notebook.schema import APPLICATION_ID, SCHEMA_VERSION, migrate, schema_problems
from notebook.search import RunQuery, find_builds, find_runs

SQLITE_HEADER = b"SQLite format 3\x00"
# Samples are stored as ~1 MB blobs: with 64 KiB pages SQLite follows 16x fewer overflow
# pages per blob than with the default 4 KiB, which made writing a 10 M-sample run ~3x
# faster here. The page size is fixed when a file is created (existing notebooks keep theirs).
PAGE_SIZE = 65536
BUSY_TIMEOUT_S = 10.0   # how long a write waits for another connection's lock


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def locked(exc: BaseException) -> bool:
    """Whether an SQLite error is another connection's lock outlasting the busy timeout."""
    return isinstance(exc, sqlite3.OperationalError) and (
        getattr(exc, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
        or "locked" in str(exc))


def locked_error(path: Path, what: str) -> NotebookError:
    return NotebookError(f"{path} is locked by another program (it held its lock for more than {BUSY_TIMEOUT_S:g} s), "
                         f"so {what}: finish or close the change open in that program and try again, or open the "
                         "notebook read-only to browse it")


def default_path() -> Path:
    """The notebook in the platform's user data directory."""
    return Path(platformdirs.user_data_dir("SolidStack", appauthor=False)) / "notebook.sqlite"


class Connection(sqlite3.Connection):
    """sqlite3's connection, saying whether it reads a snapshot (see connect)."""
    snapshot = False


def connect(path: Path, read_only: bool = False) -> Connection:
    """A connection with the settings every notebook connection uses.

    Read-only, a WAL notebook needs its `-shm` file, which SQLite cannot create in a folder
    the user may not write (a shared drive, a copy on read-only media). There the file is
    read as a snapshot (SQLite's immutable mode): complete when nothing waits in a `-wal`
    file, as after any clean close, but blind to changes another program makes while it is
    open (`conn.snapshot` is True)."""
    if read_only:
        uri = path.resolve().as_uri()
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                               factory=Connection)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            conn.close()
            if os.access(path.parent, os.W_OK):
                raise
            wal = path.with_name(path.name + "-wal")
            if wal.exists() and wal.stat().st_size:
                raise NotebookError(
                    f"{path} cannot be read here: its folder is not writable and changes wait in {wal.name}, which "
                    "SQLite can only merge where it may write. Copy the notebook together with its -wal file to a "
                    "folder you can write, or open it once where it was written") from None
            conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, check_same_thread=False,
                                   factory=Connection)
            conn.snapshot = True
    else:
        is_new = not path.exists() or path.stat().st_size == 0
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, factory=Connection)
        if is_new:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # before WAL mode fixes it
        _wal(conn)
        conn.execute("PRAGMA synchronous = FULL")  # a commit survives a power cut
    conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


def _wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL. SQLite answers a journal-mode change that meets another connection's
    lock with 'database is locked' at once, without waiting on the busy timeout: two
    processes creating one notebook met exactly that, so wait here as a write would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _check_path(path: Path, read_only: bool) -> None:
    """Refuse, before SQLite touches it, a path we must not or cannot open."""
    if path.exists():
        if not path.is_file():
            raise NotebookError(f"{path} is not a file")
        with open(path, "rb") as fh:
            head = fh.read(16)
        if head and head != SQLITE_HEADER:
            raise NotebookError(f"{path} is not a SolidStack notebook (it is not an SQLite database); it was left untouched")
        if not read_only and not os.access(path, os.W_OK):
            raise NotebookError(f"{path} is not writable: open it read-only to browse it (the station's --read-only, "
                                "or a command that only reads, such as runs, export or analyze)")
    else:
        if read_only:
            raise NotebookError(f"{path} does not exist")
        folder = path.parent
        if not folder.is_dir():
            raise NotebookError(f"cannot create notebook {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise NotebookError(f"cannot create notebook {path}: folder {folder} is not writable")


def protocol_version_id(conn: sqlite3.Connection, name: str, protocol_json: str) -> int:
    """The protocols row of this definition: an existing version, or the next version
    of `name` when its parameters differ from every earlier one. Runs inside the
    caller's transaction."""
    canonical = dumps(json.loads(protocol_json), sort_keys=True)
    row = conn.execute("SELECT id FROM protocols WHERE name = ? AND protocol_json = ?", (name, canonical)).fetchone()
    if row is not None:
        return row[0]
    return conn.execute(
        "INSERT INTO protocols (name, version, protocol_json, created_utc)"
        " SELECT ?, COALESCE(MAX(version), 0) + 1, ?, ? FROM protocols WHERE name = ?",
        (name, canonical, utc_now(), name)).lastrowid


def clean_tag(tag: str) -> str:
    """A tag as stored: trimmed, one line, no comma (lists of tags are comma-separated)."""
    text = " ".join(str(tag).split())
    if not text or "," in text:
        raise NotebookError(f"a tag must be a non-empty word or phrase without commas, got {tag!r}")
    return text


class Notebook:
    def __init__(self, path: str | os.PathLike, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        _check_path(self.path, read_only)
        is_new = not self.path.exists()
        try:
            if self.path.exists() and self.path.stat().st_size:
                # Inspect through a read-only connection first: a file we refuse is never written.
                probe = connect(self.path, read_only=True)
                try:
                    self._check(probe)
                finally:
                    probe.close()
            self.conn = connect(self.path, read_only)
            if not read_only:
                migrate(self.conn)
        except sqlite3.DatabaseError as exc:
            if locked(exc):
                raise locked_error(self.path, "it could not be opened") from exc
            if is_new:
                raise NotebookError(f"cannot create notebook {self.path}: {exc}") from exc
            raise NotebookError(f"{self.path} cannot be opened as a notebook: {exc}") from exc
        # read as a snapshot (a folder the user cannot write): what to tell them
        self.notice = (f"{self.path.name} is read as a snapshot, since its folder is not writable: changes another "
                       "program makes while it is open are not seen") if self.conn.snapshot else ""
        self.live_elsewhere: list[int] = []     # runs being written by another process right now
        self.interrupted: list[int] = [] if read_only else self._mark_interrupted()

    def _check(self, conn: sqlite3.Connection) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and tables:
            raise NotebookError(f"{self.path} is an SQLite database but not a SolidStack notebook; it was left untouched")
        if version > SCHEMA_VERSION:
            raise NotebookError(
                f"{self.path} was written by a newer SolidStack (schema v{version}); this version reads up to v{SCHEMA_VERSION}"
            )
        problems = schema_problems(conn, version)
        if problems:
            raise NotebookError(f"{self.path} was refused and left untouched: its schema is not SolidStack's "
                                f"({'; '.join(problems)}). A trigger or view not ours could change or delete data "
                                "when the notebook is opened; remove it with the sqlite3 tool if you trust the file")
        if version < SCHEMA_VERSION and self.read_only:
            raise NotebookError(f"{self.path} has schema v{version} and needs migrating; open it writable once")

    @contextmanager
    def _writing(self, what: str):
        """One write transaction; another program's lock becomes a NotebookError saying
        so (the transaction is rolled back: nothing is half-written)."""
        try:
            with self.conn:
                yield
        except sqlite3.OperationalError as exc:
            if locked(exc):
                raise locked_error(self.path, what) from exc
            raise

    def _mark_interrupted(self) -> list[int]:
        """Runs left `running` by a crash become `interrupted`; their data stays. A run
        another process is writing right now (its writer holds the run's live lock:
        notebook/liveness.py) is left alone and listed in `live_elsewhere`."""
        with self._writing("runs left running by an earlier session could not be marked interrupted"):
            running = [row[0] for row in self.conn.execute("SELECT id FROM runs WHERE status = 'running'")]
            self.live_elsewhere = [i for i in running if written_elsewhere(self.path, i)]
            ids = [i for i in running if i not in self.live_elsewhere]
            # status = 'running' again: a run closed since the SELECT keeps its own status
            self.conn.executemany(
                "UPDATE runs SET status = 'interrupted', ended_utc = ?, n_samples = "
                "(SELECT COALESCE(SUM(n), 0) FROM sample_chunks WHERE run_id = ?) WHERE id = ? AND status = 'running'",
                [(utc_now(), i, i) for i in ids],
            )
        return ids

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Notebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- builds --
    def require_writable(self) -> None:
        if self.read_only:
            raise NotebookError(f"{self.path} is open read-only: nothing can be added to it")

    def save_build(self, stack: Stack) -> int:
        self.require_writable()
        with self._writing("the build was not saved"):
            return self.insert_build(stack)

    def insert_build(self, stack: Stack) -> int:
        """Save a build inside the caller's transaction, registering its operator and lots."""
        now = utc_now()
        cur = self.conn.execute(
            "INSERT INTO builds (created_utc, name, template, description, operator, area_cm2,"
            " stack_pressure_mpa, densification_pressure_mpa, temperature_c, notes, stack_json)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (now, stack.name, stack.template, stack.describe(), stack.operator, stack.area_cm2,
             stack.stack_pressure_mpa, stack.densification_pressure_mpa, stack.temperature_c,
             stack.notes, dumps(stack.to_dict())),
        )
        build_id = cur.lastrowid
        self.conn.executemany(
            "INSERT INTO build_layers (build_id, position, material, thickness_um, areal_mass_mg_cm2, lot)"
            " VALUES (?,?,?,?,?,?)",
            [(build_id, i, l.material, l.thickness_um, l.areal_mass_mg_cm2, l.lot) for i, l in enumerate(stack.layers)],
        )
        if stack.operator:
            self.conn.execute("INSERT OR IGNORE INTO operators (name, created_utc) VALUES (?, ?)", (stack.operator, now))
        self.conn.executemany("INSERT OR IGNORE INTO material_lots (material, lot, created_utc) VALUES (?, ?, ?)",
                              [(l.material, l.lot, now) for l in stack.layers if l.lot])
        return build_id

    def build(self, build_id: int) -> Stack:
        row = self.conn.execute("SELECT stack_json FROM builds WHERE id = ?", (build_id,)).fetchone()
        if row is None:
            raise NotebookError(f"no build {build_id} in {self.path}")
        data = loads_stored(row["stack_json"], f"build {build_id}'s stack record in {self.path}")
        try:
            return Stack.from_dict(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NotebookError(f"build {build_id}'s stack record in {self.path} is damaged ({exc!r}); "
                                "its runs and their samples are still readable") from None

    def builds(self) -> list[dict]:
        """Saved builds, newest first, with how many runs were made on each."""
        rows = self.conn.execute(
            "SELECT b.id AS build_id, b.created_utc, b.name, b.template, b.description, b.operator, b.area_cm2,"
            " b.stack_pressure_mpa, b.temperature_c, CASE WHEN json_valid(b.stack_json) THEN json_extract(b.stack_json, '$.based_on_build') END AS based_on_build,"
            " (SELECT COUNT(*) FROM runs r WHERE r.build_id = b.id) AS n_runs"
            " FROM builds b ORDER BY b.id DESC")
        return [dict(r) for r in rows]

    def clone_build(self, build_id: int) -> Stack:
        """A new, unsaved stack to start the next cell from build `build_id`: the same
        layers, lots and set-points, with the cell's own id and notes left blank."""
        return self.build(build_id).with_changes(name="", notes="", based_on_build=build_id)

    def lots(self) -> dict[str, list[str]]:
        """Lot ids recorded so far per material, most recently used first."""
        out: dict[str, list[str]] = {}
        for row in self.conn.execute(
                "SELECT material, lot FROM build_layers WHERE lot != ''"
                " GROUP BY material, lot ORDER BY MAX(build_id) DESC, lot"):
            out.setdefault(row["material"], []).append(row["lot"])
        return out

    # -- runs --
    def runs(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM run_overview ORDER BY run_id")]

    def run(self, run_id: int) -> dict:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotebookError(f"no run {run_id} in {self.path}")
        return dict(row)

    def provenance(self, run_id: int, run: dict | None = None) -> dict:
        """The run's provenance (what recorded or imported it); damaged JSON is a
        NotebookError about this run alone."""
        run = run if run is not None else self.run(run_id)
        return loads_stored(run["provenance_json"], f"run {run_id}'s provenance in {self.path}", default={})

    def samples(self, run_id: int) -> np.ndarray:
        """Every sample of a run, in order, as one SAMPLE_DTYPE array.

        Each chunk is copied straight into one array sized from the chunk counts: a list of
        chunk arrays joined with np.concatenate held the run twice and was what made
        reading 2 M samples take 0.4 s (10 M now read in ~0.2 s; benchmarks/bench_notebook_read.py)."""
        run = self.run(run_id)
        total = self._checked_total(run)
        out = np.empty(total, dtype=SAMPLE_DTYPE)
        raw = out.view(np.uint8)
        pos = 0
        # first_index < total: chunks a live writer appends meanwhile come after those counted
        for first, n, blob in self.conn.execute(
                "SELECT first_index, n, data FROM sample_chunks WHERE run_id = ? AND first_index < ?"
                " ORDER BY first_index", (run_id, total)):
            if first * SAMPLE_DTYPE.itemsize != pos or len(blob) != n * SAMPLE_DTYPE.itemsize:
                raise NotebookError(f"run {run_id} in {self.path}: the sample chunk at index {first} is damaged "
                                    f"(expected index {pos // SAMPLE_DTYPE.itemsize} and {n} samples)")
            raw[pos:pos + len(blob)] = np.frombuffer(blob, dtype=np.uint8)
            pos += len(blob)
        if pos != raw.size:
            raise NotebookError(f"run {run_id} in {self.path}: sample chunks are missing after index {pos // SAMPLE_DTYPE.itemsize}")
        return out

    def _checked_total(self, run: dict) -> int:
        """How many samples a run's chunks hold, after checking, before anything is allocated,
        that every chunk's count matches its blob (a damaged count once asked for 50 TiB) and,
        for a run no writer is adding to, that the chunks hold the n_samples the run row says."""
        run_id = run["id"]
        total, stored, bad = self.conn.execute(
            "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(length(data)), 0),"
            " (SELECT first_index FROM sample_chunks WHERE run_id = ?1 AND (n < 0 OR length(data) != n * ?2)"
            "  ORDER BY first_index LIMIT 1)"
            " FROM sample_chunks WHERE run_id = ?1", (run_id, SAMPLE_DTYPE.itemsize)).fetchone()
        if bad is not None:
            raise NotebookError(f"run {run_id} in {self.path} is damaged: the sample chunk at index {bad} says it holds "
                                "a different number of samples than its data does")
        if run["status"] != "running" and total != run["n_samples"]:
            raise NotebookError(f"run {run_id} in {self.path} is damaged: it recorded {run['n_samples']} samples but "
                                f"its stored chunks hold {total}; its events, steps and spectra are still readable")
        return int(total)

    def sample_range(self, run_id: int, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) of a run, as far as they are stored (a live run's newest
        second may not be yet): the chunks overlapping the range, found by the primary key."""
        if not 0 <= start <= stop:
            raise ValueError(f"sample range must be 0 <= start <= stop, got [{start}, {stop})")
        row = self.conn.execute("SELECT MAX(first_index) FROM sample_chunks WHERE run_id = ? AND first_index <= ?",
                                (run_id, start)).fetchone()
        lower = row[0] if row[0] is not None else start
        parts, pos = [], start
        for first, n, blob in self.conn.execute(
                "SELECT first_index, n, data FROM sample_chunks WHERE run_id = ? AND first_index >= ? AND first_index < ?"
                " ORDER BY first_index", (run_id, lower, stop)):
            if first > pos or len(blob) != n * SAMPLE_DTYPE.itemsize:
                raise NotebookError(f"run {run_id} in {self.path}: the sample chunk at index {first} is damaged "
                                    f"or one before it is missing")
            chunk = np.frombuffer(blob, dtype=SAMPLE_DTYPE)
            parts.append(chunk[max(pos - first, 0) : stop - first])
            pos = first + n
        return np.concatenate(parts) if parts else np.empty(0, dtype=SAMPLE_DTYPE)

    def steps(self, run_id: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM run_steps WHERE run_id = ? ORDER BY step", (run_id,))]

    def spectra(self, run_id: int) -> list[dict]:
        """The run's impedance spectra: metadata plus freq_hz and z (complex ohm) arrays and
        flags, a list with per point None (a good reading) or what the analyser reported."""
        out = []
        for row in self.conn.execute("SELECT * FROM spectra WHERE run_id = ? ORDER BY spectrum", (run_id,)):
            spectrum = dict(row)
            rows = self.conn.execute(
                "SELECT freq_hz, z_real_ohm, z_imag_ohm, flag FROM spectrum_points WHERE run_id = ? AND spectrum = ? "
                "ORDER BY point", (run_id, row["spectrum"])).fetchall()
            points = np.array([r[:3] for r in rows], dtype=float).reshape(-1, 3)
            spectrum["freq_hz"] = points[:, 0]
            spectrum["z"] = points[:, 1] + 1j * points[:, 2]
            spectrum["flags"] = [r[3] for r in rows]
            out.append(spectrum)
        return out

    def events(self, run_id: int) -> list[dict]:
        rows = self.conn.execute("SELECT * FROM events WHERE run_id = ? ORDER BY t_s, id", (run_id,))
        out = []
        for row in rows:
            event = dict(row)
            event["evidence"] = loads_stored(event.pop("evidence_json"), f"the evidence of event {event['id']} of run "
                                             f"{run_id} in {self.path}", default={})
            out.append(event)
        return out

    def acknowledge_run(self, run_id: int) -> int:
        """Mark a run's alarms seen; returns how many. Events themselves are never deleted."""
        with self._writing("the alarms were not marked acknowledged"):
            cur = self.conn.execute("UPDATE events SET acknowledged_utc = ? WHERE run_id = ? AND acknowledged_utc IS NULL",
                                    (utc_now(), run_id))
        return cur.rowcount

    def acknowledge_alarms(self, run_id: int, by: str) -> int:
        """Mark a run's unacknowledged alarms seen by `by`, now; returns how many. Earlier
        acknowledgements keep their own who and when; events are never deleted."""
        if not by.strip():
            raise NotebookError("an alarm's acknowledgement must name who gave it")
        with self._writing("the alarm was not marked acknowledged"):
            cur = self.conn.execute(
                "UPDATE events SET acknowledged_utc = ?, acknowledged_by = ? "
                "WHERE run_id = ? AND severity = 'alarm' AND acknowledged_utc IS NULL", (utc_now(), by.strip(), run_id))
        return cur.rowcount

    def unacknowledged_alarms(self) -> list[dict]:
        """Alarms nobody has acknowledged yet, oldest run first: what the station shows
        again after a restart."""
        rows = self.conn.execute(
            "SELECT id, run_id, t_s, sample_index, kind, message FROM events "
            "WHERE severity = 'alarm' AND acknowledged_utc IS NULL ORDER BY run_id, t_s, id")
        return [dict(row) for row in rows]

    def log_event(self, run_id: int, kind: str, severity: str, message: str, t_s: float, sample_index: int,
                  evidence: dict | None = None) -> None:
        """An event about a run recorded after its engine finished (e.g. the station closing it)."""
        self.require_writable()
        with self._writing(f"the {kind} event was not recorded"):
            insert_event(self.conn, run_id, {"t_s": t_s, "sample_index": sample_index, "kind": kind,
                                             "severity": severity, "message": message, "evidence": evidence or {}})

    # -- protocols, operators, lots, notes and tags --
    def protocol(self, run_id: int) -> dict:
        """The run's protocol: name, version (per name, in order of first use) and definition."""
        row = self.conn.execute(
            "SELECT r.protocol AS name, p.version, COALESCE(p.protocol_json, r.protocol_json) AS protocol_json"
            " FROM runs r LEFT JOIN protocols p ON p.id = r.protocol_id WHERE r.id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotebookError(f"no run {run_id} in {self.path}")
        return {"name": row["name"], "version": row["version"], "definition": loads_stored(
            row["protocol_json"], f"run {run_id}'s protocol in {self.path}")}

    def vocabulary(self) -> dict[str, list[str]]:
        """What the browser offers to filter by: values that occur in this notebook."""
        def column(sql: str) -> list[str]:
            return [r[0] for r in self.conn.execute(sql)]
        return {
            "operators": column("SELECT name FROM operators UNION SELECT operator FROM builds WHERE operator != ''"
                                " ORDER BY 1"),
            "templates": column("SELECT DISTINCT template FROM builds ORDER BY 1"),
            "materials": column("SELECT DISTINCT material FROM build_layers ORDER BY 1"),
            "lots": column("SELECT lot FROM material_lots UNION SELECT lot FROM build_layers WHERE lot != '' ORDER BY 1"),
            "statuses": column("SELECT DISTINCT status FROM runs ORDER BY 1"),
            "tags": column("SELECT tag FROM run_tags UNION SELECT tag FROM build_tags ORDER BY 1"),
        }

    def _target(self, build_id: int | None, run_id: int | None) -> tuple[str, int]:
        """('build' | 'run', id) of an annotation, checked to exist."""
        if (build_id is None) == (run_id is None):
            raise ValueError("give a build_id or a run_id, not both")
        if run_id is not None:
            self.run(run_id)
            return "run", run_id
        if self.conn.execute("SELECT 1 FROM builds WHERE id = ?", (build_id,)).fetchone() is None:
            raise NotebookError(f"no build {build_id} in {self.path}")
        return "build", build_id

    def add_note(self, text: str, *, build_id: int | None = None, run_id: int | None = None, author: str = "") -> int:
        """Annotate a build or a run. Notes are added, never edited or deleted."""
        self.require_writable()
        self._target(build_id, run_id)
        if not text.strip():
            raise NotebookError("a note needs some text")
        with self._writing("the note was not added"):
            return self.conn.execute("INSERT INTO notes (build_id, run_id, created_utc, author, text) VALUES (?,?,?,?,?)",
                                     (build_id, run_id, utc_now(), author.strip(), text.strip())).lastrowid

    def notes(self, *, build_id: int | None = None, run_id: int | None = None) -> list[dict]:
        kind, key = self._target(build_id, run_id)
        column = "run_id" if kind == "run" else "build_id"
        return [dict(r) for r in self.conn.execute(
            f"SELECT id, created_utc, author, text FROM notes WHERE {column} = ? ORDER BY id", (key,))]

    def add_tag(self, tag: str, *, build_id: int | None = None, run_id: int | None = None) -> str:
        self.require_writable()
        kind, key = self._target(build_id, run_id)
        tag = clean_tag(tag)
        with self._writing("the tag was not added"):
            self.conn.execute(f"INSERT OR IGNORE INTO {kind}_tags ({kind}_id, tag, created_utc) VALUES (?,?,?)",
                              (key, tag, utc_now()))
        return tag

    def remove_tag(self, tag: str, *, build_id: int | None = None, run_id: int | None = None) -> bool:
        self.require_writable()
        kind, key = self._target(build_id, run_id)
        with self._writing("the tag was not removed"):
            cur = self.conn.execute(f"DELETE FROM {kind}_tags WHERE {kind}_id = ? AND tag = ?", (key, tag))
        return cur.rowcount > 0

    def tags(self, *, build_id: int | None = None, run_id: int | None = None) -> list[str]:
        kind, key = self._target(build_id, run_id)
        return [r[0] for r in self.conn.execute(f"SELECT tag FROM {kind}_tags WHERE {kind}_id = ? ORDER BY tag", (key,))]

    def find_runs(self, query: RunQuery | None = None) -> list[dict]:
        """Runs matching every criterion of `query` (all runs without one), newest first."""
        return find_runs(self.conn, query or RunQuery())

    def find_builds(self, query: RunQuery | None = None) -> list[dict]:
        """Builds matching `query` (a status: having a run with it), newest first."""
        return find_builds(self.conn, query or RunQuery())
