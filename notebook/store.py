"""Opening a notebook file safely, and everything done to it outside a run: saving
builds, listing and reading runs, samples, steps and events.

Opening never damages a file: a path that is not a SolidStack notebook, is from a
newer version, or cannot be written raises NotebookError and leaves the file as it was.
"""
from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import platformdirs

from cell import Stack
from notebook.errors import NotebookError
from notebook.samples import SAMPLE_DTYPE, from_blob
from notebook.schema import APPLICATION_ID, SCHEMA_VERSION, migrate

SQLITE_HEADER = b"SQLite format 3\x00"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_path() -> Path:
    """The notebook in the platform's user data directory."""
    return Path(platformdirs.user_data_dir("SolidStack", appauthor=False)) / "notebook.sqlite"


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the settings every notebook connection uses."""
    if read_only:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # a commit survives a power cut
    conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


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
            raise NotebookError(f"{path} is not writable; open it read-only to browse it")
    else:
        if read_only:
            raise NotebookError(f"{path} does not exist")
        folder = path.parent
        if not folder.is_dir():
            raise NotebookError(f"cannot create notebook {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise NotebookError(f"cannot create notebook {path}: folder {folder} is not writable")


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
            if is_new:
                raise NotebookError(f"cannot create notebook {self.path}: {exc}") from exc
            raise NotebookError(f"{self.path} cannot be opened as a notebook: {exc}") from exc
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
        if version < SCHEMA_VERSION and self.read_only:
            raise NotebookError(f"{self.path} has schema v{version} and needs migrating; open it writable once")

    def _mark_interrupted(self) -> list[int]:
        """Runs left `running` by a crash become `interrupted`; their data stays."""
        with self.conn:
            ids = [row[0] for row in self.conn.execute("SELECT id FROM runs WHERE status = 'running'")]
            self.conn.executemany(
                "UPDATE runs SET status = 'interrupted', ended_utc = ?, n_samples = "
                "(SELECT COALESCE(SUM(n), 0) FROM sample_chunks WHERE run_id = ?) WHERE id = ?",
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
    def save_build(self, stack: Stack) -> int:
        if self.read_only:
            raise NotebookError(f"{self.path} is open read-only")
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO builds (created_utc, name, template, description, operator, area_cm2,"
                " stack_pressure_mpa, densification_pressure_mpa, temperature_c, notes, stack_json)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (utc_now(), stack.name, stack.template, stack.describe(), stack.operator, stack.area_cm2,
                 stack.stack_pressure_mpa, stack.densification_pressure_mpa, stack.temperature_c,
                 stack.notes, json.dumps(stack.to_dict())),
            )
            build_id = cur.lastrowid
            self.conn.executemany(
                "INSERT INTO build_layers (build_id, position, material, thickness_um, areal_mass_mg_cm2, lot)"
                " VALUES (?,?,?,?,?,?)",
                [(build_id, i, l.material, l.thickness_um, l.areal_mass_mg_cm2, l.lot) for i, l in enumerate(stack.layers)],
            )
        return build_id

    def build(self, build_id: int) -> Stack:
        row = self.conn.execute("SELECT stack_json FROM builds WHERE id = ?", (build_id,)).fetchone()
        if row is None:
            raise NotebookError(f"no build {build_id} in {self.path}")
        return Stack.from_dict(json.loads(row["stack_json"]))

    def builds(self) -> list[dict]:
        """Saved builds, newest first, with how many runs were made on each."""
        rows = self.conn.execute(
            "SELECT b.id AS build_id, b.created_utc, b.name, b.template, b.description, b.operator, b.area_cm2,"
            " b.stack_pressure_mpa, b.temperature_c, json_extract(b.stack_json, '$.based_on_build') AS based_on_build,"
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

    def samples(self, run_id: int) -> np.ndarray:
        self.run(run_id)
        blobs = [from_blob(r[0]) for r in self.conn.execute(
            "SELECT data FROM sample_chunks WHERE run_id = ? ORDER BY first_index", (run_id,))]
        return np.concatenate(blobs) if blobs else np.zeros(0, dtype=SAMPLE_DTYPE)

    def steps(self, run_id: int) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM run_steps WHERE run_id = ? ORDER BY step", (run_id,))]

    def spectra(self, run_id: int) -> list[dict]:
        """The run's impedance spectra: metadata plus freq_hz and z (complex ohm) arrays."""
        out = []
        for row in self.conn.execute("SELECT * FROM spectra WHERE run_id = ? ORDER BY spectrum", (run_id,)):
            spectrum = dict(row)
            points = np.array(self.conn.execute(
                "SELECT freq_hz, z_real_ohm, z_imag_ohm FROM spectrum_points WHERE run_id = ? AND spectrum = ? ORDER BY point",
                (run_id, row["spectrum"])).fetchall(), dtype=float).reshape(-1, 3)
            spectrum["freq_hz"] = points[:, 0]
            spectrum["z"] = points[:, 1] + 1j * points[:, 2]
            out.append(spectrum)
        return out

    def events(self, run_id: int) -> list[dict]:
        rows = self.conn.execute("SELECT * FROM events WHERE run_id = ? ORDER BY t_s, id", (run_id,))
        out = []
        for row in rows:
            event = dict(row)
            event["evidence"] = json.loads(event.pop("evidence_json"))
            out.append(event)
        return out

    def acknowledge_run(self, run_id: int) -> int:
        """Mark a run's alarms seen; returns how many. Events themselves are never deleted."""
        with self.conn:
            cur = self.conn.execute("UPDATE events SET acknowledged_utc = ? WHERE run_id = ? AND acknowledged_utc IS NULL",
                                    (utc_now(), run_id))
        return cur.rowcount
