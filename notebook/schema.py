"""The notebook's SQLite schema, versioned with PRAGMA user_version and marked as
ours with PRAGMA application_id. Migrations only ever move forward.

v1 builds, layers, runs, sample chunks, step summaries, events and two views; v2
impedance spectra; v3 operators, material lots, versioned protocols, notes and tags
on builds and runs, and a richer run_overview view; v4 who acknowledged an alarm, and
impedance points an analyser marked (overload, out of range); v5 a UUID on every record,
the station's identity and the outbox that the lab sync drains (lab/sync.py)."""
from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping
from types import MappingProxyType

from notebook.ids import uuid7_sql

APPLICATION_ID = 0x53537431  # "SSt1": tells a SolidStack notebook from any SQLite file
SCHEMA_VERSION = 5

_V1 = """
CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    created_utc TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    template TEXT NOT NULL,
    description TEXT NOT NULL,
    operator TEXT NOT NULL DEFAULT '',
    area_cm2 REAL NOT NULL,
    stack_pressure_mpa REAL NOT NULL,
    densification_pressure_mpa REAL NOT NULL,
    temperature_c REAL NOT NULL,
    notes TEXT NOT NULL DEFAULT '',
    stack_json TEXT NOT NULL
);
CREATE TABLE build_layers (
    build_id INTEGER NOT NULL REFERENCES builds(id),
    position INTEGER NOT NULL,          -- 0 = bottom of the stack
    material TEXT NOT NULL,
    thickness_um REAL NOT NULL,
    areal_mass_mg_cm2 REAL NOT NULL,
    lot TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (build_id, position)
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    build_id INTEGER NOT NULL REFERENCES builds(id),
    protocol TEXT NOT NULL,
    protocol_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'aborted', 'shorted', 'interrupted', 'failed')),
    started_utc TEXT NOT NULL,
    ended_utc TEXT,
    n_samples INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    provenance_json TEXT NOT NULL
);
-- Samples in binary chunks of SAMPLE_DTYPE records (notebook/samples.py): ten times
-- faster to write and read than a row per sample. run_steps and the views below give
-- plain-SQL access to what a person usually asks of a run.
CREATE TABLE sample_chunks (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    first_index INTEGER NOT NULL,
    n INTEGER NOT NULL,
    t_first REAL NOT NULL,
    t_last REAL NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, first_index)
);
CREATE TABLE run_steps (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    cycle INTEGER NOT NULL,
    label TEXT NOT NULL,
    current_a REAL NOT NULL,
    t_start REAL NOT NULL,
    t_end REAL NOT NULL,
    n_samples INTEGER NOT NULL,
    charge_mah REAL NOT NULL,           -- integral of |I| dt
    v_mean REAL,
    v_end REAL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    t_s REAL NOT NULL,
    sample_index INTEGER NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    evidence_json TEXT NOT NULL DEFAULT '{}',
    acknowledged_utc TEXT
);
CREATE INDEX events_run ON events(run_id);
CREATE VIEW run_overview AS
    SELECT r.id AS run_id, r.status, r.protocol, r.started_utc, r.ended_utc, r.n_samples,
           b.id AS build_id, b.template, b.description, b.operator, b.area_cm2,
           (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) AS n_events
    FROM runs r JOIN builds b ON b.id = r.build_id;
CREATE VIEW cycle_summary AS
    SELECT run_id, cycle,
           SUM(CASE WHEN current_a > 0 THEN charge_mah ELSE 0 END) AS charge_mah,
           SUM(CASE WHEN current_a < 0 THEN charge_mah ELSE 0 END) AS discharge_mah,
           MIN(t_start) AS t_start, MAX(t_end) AS t_end
    FROM run_steps GROUP BY run_id, cycle;
"""

# v2: impedance spectra, one row per sweep and one per point (plain SQL, CSV-friendly).
_V2 = """
CREATE TABLE spectra (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    spectrum INTEGER NOT NULL,          -- 0, 1, ... in the order measured
    t_s REAL NOT NULL,                  -- run time of the sweep (s)
    step INTEGER NOT NULL,
    cycle INTEGER NOT NULL,
    amplitude_v REAL NOT NULL,
    instrument TEXT NOT NULL,
    PRIMARY KEY (run_id, spectrum)
);
CREATE TABLE spectrum_points (
    run_id INTEGER NOT NULL,
    spectrum INTEGER NOT NULL,
    point INTEGER NOT NULL,
    freq_hz REAL NOT NULL,
    z_real_ohm REAL NOT NULL,
    z_imag_ohm REAL NOT NULL,
    PRIMARY KEY (run_id, spectrum, point),
    FOREIGN KEY (run_id, spectrum) REFERENCES spectra(run_id, spectrum)
);
"""

# v3: what the lab annotates and searches by. Operators and material lots are registered
# as builds are saved (the builds keep their own copies, so history never changes);
# a protocol is versioned by its definition: the same name with other parameters is a
# new version. Existing rows are carried over: one protocol version per distinct
# definition in order of first use, every operator and lot the builds name.
_V3 = """
CREATE TABLE operators (
    name TEXT PRIMARY KEY,              -- as entered in builds (initials or a name)
    full_name TEXT NOT NULL DEFAULT '',
    created_utc TEXT NOT NULL
);
INSERT INTO operators (name, created_utc)
    SELECT operator, MIN(created_utc) FROM builds WHERE operator != '' GROUP BY operator;
CREATE TABLE material_lots (
    material TEXT NOT NULL,
    lot TEXT NOT NULL,
    supplier TEXT NOT NULL DEFAULT '',
    received TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    created_utc TEXT NOT NULL,
    PRIMARY KEY (material, lot)
);
INSERT INTO material_lots (material, lot, created_utc)
    SELECT l.material, l.lot, MIN(b.created_utc) FROM build_layers l JOIN builds b ON b.id = l.build_id
    WHERE l.lot != '' GROUP BY l.material, l.lot;
CREATE TABLE protocols (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,           -- 1, 2, ... per name, in order of first use
    protocol_json TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    UNIQUE (name, version),
    UNIQUE (name, protocol_json)
);
INSERT INTO protocols (name, version, protocol_json, created_utc)
    SELECT protocol, ROW_NUMBER() OVER (PARTITION BY protocol ORDER BY MIN(id)), protocol_json, MIN(started_utc)
    FROM runs GROUP BY protocol, protocol_json;
ALTER TABLE runs ADD COLUMN protocol_id INTEGER REFERENCES protocols(id);
UPDATE runs SET protocol_id =
    (SELECT p.id FROM protocols p WHERE p.name = runs.protocol AND p.protocol_json = runs.protocol_json);
ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT '';    -- '' = recorded here; else the imported file
CREATE INDEX runs_build ON runs(build_id);
CREATE INDEX runs_started ON runs(started_utc);
CREATE INDEX build_layers_lot ON build_layers(material, lot);
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    build_id INTEGER REFERENCES builds(id),
    run_id INTEGER REFERENCES runs(id),
    created_utc TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL CHECK (length(trim(text)) > 0),
    CHECK ((build_id IS NULL) != (run_id IS NULL))   -- a note is on a build or on a run
);
CREATE INDEX notes_build ON notes(build_id);
CREATE INDEX notes_run ON notes(run_id);
CREATE TABLE build_tags (
    build_id INTEGER NOT NULL REFERENCES builds(id),
    tag TEXT NOT NULL CHECK (length(trim(tag)) > 0),
    created_utc TEXT NOT NULL,
    PRIMARY KEY (build_id, tag)
);
CREATE INDEX build_tags_tag ON build_tags(tag);
CREATE TABLE run_tags (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    tag TEXT NOT NULL CHECK (length(trim(tag)) > 0),
    created_utc TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
);
CREATE INDEX run_tags_tag ON run_tags(tag);
DROP VIEW run_overview;
CREATE VIEW run_overview AS
    SELECT r.id AS run_id, r.status, r.protocol, p.version AS protocol_version, r.started_utc, r.ended_utc,
           r.n_samples, r.source, r.message, b.id AS build_id, b.name AS build_name, b.template, b.description,
           b.operator, b.area_cm2,
           (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) AS n_events,
           (SELECT COUNT(*) FROM spectra s WHERE s.run_id = r.id) AS n_spectra,
           (SELECT group_concat(tag, ', ') FROM (SELECT tag FROM run_tags t WHERE t.run_id = r.id ORDER BY tag)) AS tags
    FROM runs r JOIN builds b ON b.id = r.build_id LEFT JOIN protocols p ON p.id = r.protocol_id;
"""

# v4: an alarm's acknowledgement names who gave it (the operator of the session); a point
# an analyser reported as an overload or out of its range is kept, shown and not fitted.
_V4 = """
ALTER TABLE events ADD COLUMN acknowledged_by TEXT;
ALTER TABLE spectrum_points ADD COLUMN flag TEXT;       -- NULL: a good reading; else what the analyser said
"""


# v5: identity and the outbox (lab/ reads them). Every build, run, event, note, tag, spectrum
# and protocol version gets a time-ordered UUID: an old row from its own creation time, a
# new one from a trigger at insert, so that every writer gets one without knowing. Triggers
# also record each change in `outbox`, in the same transaction as the change: a crash
# between the two cannot happen, and the lab sync pushes what the outbox names, in order.
_UUID_TIMES = {     # table -> when its rows were made (a Julian day expression), for old rows
    "builds": "julianday(created_utc)",
    "protocols": "julianday(created_utc)",
    "runs": "julianday(started_utc)",
    "events": "(SELECT julianday(r.started_utc) + events.t_s / 86400.0 FROM runs r WHERE r.id = events.run_id)",
    "spectra": "(SELECT julianday(r.started_utc) + spectra.t_s / 86400.0 FROM runs r WHERE r.id = spectra.run_id)",
    "notes": "julianday(created_utc)",
    "build_tags": "julianday(created_utc)",
    "run_tags": "julianday(created_utc)",
}
# what the outbox says of a row: (kind, ref, sub) as SQL over NEW (or OLD for a removal)
_OUTBOX = {
    "builds": ("build", "NEW.id", "NULL"),
    "build_layers": ("build", "NEW.build_id", "NULL"),
    "protocols": ("protocol", "NEW.id", "NULL"),
    "runs": ("run", "NEW.id", "NULL"),
    "sample_chunks": ("chunk", "NEW.run_id", "NEW.first_index"),
    "run_steps": ("step", "NEW.run_id", "NEW.step"),
    "events": ("event", "NEW.id", "NULL"),
    "spectra": ("spectrum", "NEW.run_id", "NEW.spectrum"),
    "spectrum_points": ("spectrum", "NEW.run_id", "NEW.spectrum"),
    "notes": ("note", "NEW.id", "NULL"),
    "build_tags": ("build_tag", "NEW.rowid", "NULL"),
    "run_tags": ("run_tag", "NEW.rowid", "NULL"),
    "operators": ("operator", "NEW.rowid", "NULL"),
    "material_lots": ("lot", "NEW.rowid", "NULL"),
}
# rows that change after they are made (a run's status and count, an alarm's acknowledgement,
# a relinked build); the rest are written once
_UPDATED = ("builds", "runs", "run_steps", "events", "operators", "material_lots")


def _v5() -> str:
    now = "julianday('now')"
    script = [f"ALTER TABLE {table} ADD COLUMN uuid TEXT;\n"
              f"UPDATE {table} SET uuid = {uuid7_sql(f'COALESCE({when}, {now})')};\n"
              f"CREATE UNIQUE INDEX {table}_uuid ON {table}(uuid);\n"
              f"CREATE TRIGGER {table}_new_uuid AFTER INSERT ON {table} WHEN NEW.uuid IS NULL BEGIN\n"
              f"    UPDATE {table} SET uuid = {uuid7_sql()} WHERE rowid = NEW.rowid;\nEND;\n"
              for table, when in _UUID_TIMES.items()]
    script.append("CREATE TABLE station (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
                  f"INSERT INTO station (key, value) VALUES ('uuid', {uuid7_sql()});\n"
                  "CREATE TABLE outbox (\n    seq INTEGER PRIMARY KEY AUTOINCREMENT,\n    kind TEXT NOT NULL,\n"
                  "    ref INTEGER,\n    sub INTEGER,\n    uuid TEXT\n);\n")
    for table, (kind, ref, sub) in _OUTBOX.items():
        values = f"INSERT INTO outbox (kind, ref, sub) VALUES ('{kind}', {ref}, {sub})"
        script.append(f"CREATE TRIGGER {table}_outbox_insert AFTER INSERT ON {table} BEGIN {values}; END;\n")
        if table in _UPDATED:
            # the uuid trigger's own update is part of the insert, already in the outbox
            guard = " WHEN OLD.uuid IS NOT NULL" if table in _UUID_TIMES else ""
            script.append(f"CREATE TRIGGER {table}_outbox_update AFTER UPDATE ON {table}{guard} BEGIN {values}; END;\n")
    for kind in ("build", "run"):
        script.append(f"CREATE TRIGGER {kind}_tags_outbox_delete AFTER DELETE ON {kind}_tags BEGIN"
                      f" INSERT INTO outbox (kind, uuid) VALUES ('{kind}_tag_removed', OLD.uuid); END;\n")
    # every record made before v5 goes to the lab once, in the order a first sync needs
    for table, (kind, ref, sub) in _OUTBOX.items():
        if table in ("build_layers", "spectrum_points"):
            continue
        refs = ref.replace("NEW.", "") + ", " + sub.replace("NEW.", "")
        script.append(f"INSERT INTO outbox (kind, ref, sub) SELECT '{kind}', {refs} FROM {table} ORDER BY rowid;\n")
    return "".join(script)


_V5 = _v5()

MIGRATIONS = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5}  # version -> script taking the previous version to it


def _statements(script: str):
    """The statements of a migration script, one at a time (sqlite3's executescript would
    commit the caller's transaction first)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete statement in a migration: {pending.strip()[:60]!r}")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a fresh or older notebook to SCHEMA_VERSION. The version is read inside the
    same write transaction (BEGIN IMMEDIATE) that migrates: two processes opening one new
    notebook at once migrate it once, the second finding it done."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return      # nothing to do, and no write lock taken: another program may hold it
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _statements(MIGRATIONS[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _normal(sql: str | None) -> str:
    return " ".join((sql or "").split()).lower()


@functools.lru_cache(maxsize=None)
def expected_schema(version: int) -> Mapping[tuple[str, str], str]:
    """(type, name) -> normalised SQL of every table, index, trigger and view a notebook of
    `version` has: built by running our migrations in memory, so it cannot drift from them
    (once per version and process: every opening of a notebook checks against it)."""
    conn = sqlite3.connect(":memory:")
    try:
        for target in range(1, version + 1):
            for statement in _statements(MIGRATIONS[target]):
                conn.execute(statement)
        return MappingProxyType(_schema_of(conn))
    finally:
        conn.close()


def _schema_of(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    return {(kind, name): _normal(sql) for kind, name, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}


def schema_problems(conn: sqlite3.Connection, version: int) -> list[str]:
    """What in a notebook's schema is not ours: an unknown trigger, view, table or index,
    or one of ours whose definition was changed. A trigger or view can run SQL whenever
    the notebook is written or read, so a file carrying one we did not make is refused."""
    if not 1 <= version <= SCHEMA_VERSION:
        return []
    ours, theirs = expected_schema(version), _schema_of(conn)
    problems = [f"unknown {kind} {name!r}" for kind, name in sorted(set(theirs) - set(ours))]
    problems += [f"{kind} {name!r} differs from SolidStack's definition" for kind, name in sorted(set(theirs) & set(ours))
                 if theirs[kind, name] != ours[kind, name]]
    problems += [f"{kind} {name!r} is missing" for kind, name in sorted(set(ours) - set(theirs))]
    return problems
