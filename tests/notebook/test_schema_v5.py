"""Schema v5: a time-ordered UUID on every record, the station's identity, and the outbox
written by triggers in the same transaction as each change (what lab/sync.py drains)."""
from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest

import cell
from notebook import Notebook, NotebookError
from notebook.ids import is_uuid, uuid7
from notebook.samples import SAMPLE_DTYPE
from notebook.schema import APPLICATION_ID, MIGRATIONS, _statements
from notebook.station import identity, lab_url, set_lab_url
from notebook.writer import RunWriter

UUID_TABLES = ("builds", "protocols", "runs", "events", "spectra", "notes", "build_tags", "run_tags")


def unix_ms(text: str) -> int:
    """The millisecond timestamp a UUIDv7 carries."""
    return int(uuid.UUID(text).hex[:12], 16)


def ms_of(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


def v4_notebook(path) -> None:
    """A notebook as SolidStack wrote it before v5: a build, a run with samples, a step, an
    alarm, a spectrum, a note and tags."""
    conn = sqlite3.connect(path)
    for version in (1, 2, 3, 4):
        for statement in _statements(MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 4")
    stack = cell.from_template("sym-agc", operator="CW")
    conn.execute("INSERT INTO builds (id, created_utc, template, description, operator, area_cm2, stack_pressure_mpa,"
                 " densification_pressure_mpa, temperature_c, stack_json) VALUES (7, '2026-01-02T03:04:05+00:00',"
                 " 'sym-agc', 'Li | Li', 'CW', 1, 5, 375, 25, ?)", (json.dumps(stack.to_dict()),))
    conn.execute("INSERT INTO build_layers VALUES (7, 0, 'Li', 30, 1.6, 'Li-9')")
    conn.execute("INSERT INTO operators (name, created_utc) VALUES ('CW', '2026-01-02T03:04:05+00:00')")
    conn.execute("INSERT INTO material_lots (material, lot, created_utc) VALUES ('Li', 'Li-9', '2026-01-02T03:04:05+00:00')")
    conn.execute("INSERT INTO protocols (id, name, version, protocol_json, created_utc)"
                 " VALUES (3, 'plate-strip-0.16', 1, '{}', '2026-01-05T00:00:00+00:00')")
    conn.execute("INSERT INTO runs (id, build_id, protocol, protocol_id, protocol_json, status, started_utc, ended_utc,"
                 " n_samples, provenance_json) VALUES (11, 7, 'plate-strip-0.16', 3, '{}', 'shorted',"
                 " '2026-01-05T00:00:00+00:00', '2026-01-05T01:00:00+00:00', 3, '{}')")
    samples = np.zeros(3, SAMPLE_DTYPE)
    samples["t"] = [0, 1, 2]
    conn.execute("INSERT INTO sample_chunks VALUES (11, 0, 3, 0, 2, ?)", (samples.tobytes(),))
    conn.execute("INSERT INTO run_steps VALUES (11, 0, 1, 'plate', 0.16e-3, 0, 2, 3, 0.1, 0.01, 0.01)")
    conn.execute("INSERT INTO events (id, run_id, t_s, sample_index, kind, severity, message)"
                 " VALUES (5, 11, 90, 2, 'hard_short', 'alarm', 'V collapsed')")
    conn.execute("INSERT INTO spectra VALUES (11, 0, 30, 0, 1, 0.01, 'sim')")
    conn.execute("INSERT INTO spectrum_points VALUES (11, 0, 0, 1000, 5, -1, NULL)")
    conn.execute("INSERT INTO notes (id, run_id, created_utc, author, text) VALUES (2, 11, '2026-01-06T00:00:00+00:00', 'CW', 'n')")
    conn.execute("INSERT INTO build_tags VALUES (7, 'agc', '2026-01-02T04:00:00+00:00')")
    conn.execute("INSERT INTO run_tags VALUES (11, 'short', '2026-01-06T00:00:01+00:00')")
    conn.commit()
    conn.close()


def dump(conn: sqlite3.Connection, table: str) -> list[tuple]:
    """A table's rows without the uuid column, in rowid order."""
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "uuid"]
    return [tuple(r) for r in conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")]


ALL_TABLES = ("builds", "build_layers", "protocols", "runs", "sample_chunks", "run_steps", "events", "spectra",
              "spectrum_points", "notes", "build_tags", "run_tags", "operators", "material_lots")


def test_migration_gives_every_old_record_a_uuid_of_its_own_time_and_changes_nothing_else(db_path):
    v4_notebook(db_path)
    before = sqlite3.connect(db_path)
    rows_before = {t: dump(before, t) for t in ALL_TABLES}
    before.close()
    with Notebook(db_path) as nb:
        conn = nb.conn
        assert {t: dump(conn, t) for t in ALL_TABLES} == rows_before        # local ids and values untouched
        uuids = {t: [r[0] for r in conn.execute(f"SELECT uuid FROM {t}")] for t in UUID_TABLES}
        flat = [u for us in uuids.values() for u in us]
        assert len(flat) == len(set(flat)) == 8 and all(is_uuid(u) and uuid.UUID(u).version == 7 for u in flat)
        # each from its own creation time: a build, a protocol, a run, and an event at run start + t_s
        assert unix_ms(uuids["builds"][0]) == ms_of("2026-01-02T03:04:05+00:00")
        assert unix_ms(uuids["protocols"][0]) == ms_of("2026-01-05T00:00:00+00:00")
        assert unix_ms(uuids["runs"][0]) == ms_of("2026-01-05T00:00:00+00:00")
        assert unix_ms(uuids["events"][0]) == ms_of("2026-01-05T00:01:30+00:00")
        assert unix_ms(uuids["spectra"][0]) == ms_of("2026-01-05T00:00:30+00:00")
        assert unix_ms(uuids["run_tags"][0]) == ms_of("2026-01-06T00:00:01+00:00")
        # the whole history waits in the outbox once, builds before their runs, runs before their data
        outbox = [(r["kind"], r["ref"], r["sub"]) for r in conn.execute("SELECT * FROM outbox ORDER BY seq")]
        assert outbox == [("build", 7, None), ("protocol", 3, None), ("run", 11, None), ("chunk", 11, 0),
                          ("step", 11, 0), ("event", 5, None), ("spectrum", 11, 0), ("note", 2, None),
                          ("build_tag", 1, None), ("run_tag", 1, None), ("operator", 1, None), ("lot", 1, None)]
        station = identity(conn)
        assert uuid.UUID(station.uuid).version == 7 and station.name
    with Notebook(db_path) as nb:                         # the station keeps its identity
        assert identity(nb.conn) == station


def test_every_write_path_gives_new_records_uuids_and_outbox_rows(db_path):
    t0 = uuid7()
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc", operator="CW"))
    writer = RunWriter(db_path, chunk_samples=4)
    run_id = writer.start_run(build_id, "plate-strip-0.16", '{"cycles": 1}', {"app_version": "test"})
    samples = np.zeros(6, SAMPLE_DTYPE)
    samples["t"] = np.arange(6.0)
    writer.append(samples)
    writer.step({"step": 0, "cycle": 1, "label": "plate", "current_a": 1e-4, "t_start": 0.0, "t_end": 5.0,
                 "n_samples": 6, "charge_mah": 1e-4, "v_mean": 0.01, "v_end": 0.01})
    writer.event({"t_s": 5.0, "sample_index": 5, "kind": "hard_short", "severity": "alarm", "message": "m"})
    writer.spectrum({"spectrum": 0, "t_s": 5.0, "step": 0, "cycle": 1, "amplitude_v": 0.01, "instrument": "sim",
                     "freq_hz": np.array([1e3, 1e2]), "z": np.array([5 - 1j, 6 - 2j])})
    writer.finish("shorted")
    with Notebook(db_path) as nb:
        nb.add_note("looked at it", run_id=run_id, author="CW")
        nb.add_tag("short", run_id=run_id)
        nb.add_tag("agc", build_id=build_id)
        for table in UUID_TABLES:
            values = [r[0] for r in nb.conn.execute(f"SELECT uuid FROM {table}")]
            assert values and all(is_uuid(u) and uuid.UUID(u).version == 7 and u >= t0[:13] for u in values), table
        kinds = {r[0] for r in nb.conn.execute("SELECT DISTINCT kind FROM outbox")}
        assert kinds == {"build", "protocol", "run", "chunk", "step", "event", "spectrum", "note", "run_tag",
                         "build_tag", "operator"}
        # the samples' chunks are in the outbox by their first index, all 6 samples covered
        chunks = [r[0] for r in nb.conn.execute("SELECT sub FROM outbox WHERE kind = 'chunk' ORDER BY seq")]
        sizes = dict(nb.conn.execute("SELECT first_index, n FROM sample_chunks WHERE run_id = ?", (run_id,)).fetchall())
        assert sorted(chunks) == sorted(sizes) and sum(sizes.values()) == 6
        # a removed tag is announced by its uuid (its row is gone)
        tag_uuid = nb.conn.execute("SELECT uuid FROM run_tags").fetchone()[0]
        nb.remove_tag("short", run_id=run_id)
        last = nb.conn.execute("SELECT kind, uuid FROM outbox ORDER BY seq DESC LIMIT 1").fetchone()
        assert tuple(last) == ("run_tag_removed", tag_uuid)


def test_a_change_rolled_back_leaves_no_outbox_row(db_path):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
        n = nb.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):
            with nb.conn:
                nb.conn.execute("INSERT INTO notes (build_id, created_utc, author, text) VALUES (?, 'x', 'CW', 'ok')",
                                (build_id,))
                nb.conn.execute("INSERT INTO notes (build_id, created_utc, author, text) VALUES (?, 'x', 'CW', ' ')",
                                (build_id,))
        assert nb.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == n
        assert nb.conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0


def test_uuid7_is_time_ordered_and_well_formed():
    made = [uuid7(1_700_000_000_000 + k) for k in range(50)]
    assert made == sorted(made) and all(uuid.UUID(u).version == 7 and uuid.UUID(u).variant == uuid.RFC_4122
                                        for u in made)
    assert unix_ms(made[3]) == 1_700_000_000_003
    assert not is_uuid("not-a-uuid") and not is_uuid(None) and is_uuid(made[0].upper())


def test_the_lab_url_is_remembered_but_never_with_a_password(db_path):
    with Notebook(db_path) as nb:
        assert lab_url(nb.conn) is None
        for bad in ("postgresql://station_a:s3cret@lab.example:5432/lab", "host=lab dbname=lab password=s3cret",
                    "postgresql://lab.example/lab?password=s3cret"):
            with pytest.raises(NotebookError, match="password") as info:
                set_lab_url(nb.conn, bad)
            assert "s3cret" not in str(info.value)
        assert lab_url(nb.conn) is None
        set_lab_url(nb.conn, "postgresql://station_a@lab.example:5432/lab?sslmode=verify-full")
    with Notebook(db_path) as nb:
        assert lab_url(nb.conn) == "postgresql://station_a@lab.example:5432/lab?sslmode=verify-full"
