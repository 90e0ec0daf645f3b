"""What the sync tests share: notebooks with runs written through the station's own RunWriter,
a comparison of a notebook with what the lab store holds of it (samples decoded and compared
record by record, counts of every kind), a snapshot of the lab's rows with their row versions
(xmin: a row rewritten by a replayed sync shows a new one), and a TCP gate in front of the
test server that a test closes and reopens to take the lab off the network."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np

import cell
from notebook import Notebook
from notebook.samples import SAMPLE_DTYPE, from_blob
from notebook.writer import RunWriter

LAB_TABLES = ("builds", "build_layers", "protocols", "runs", "sample_chunks", "run_steps", "events", "spectra",
              "spectrum_points", "notes", "build_tags", "run_tags", "operators", "material_lots", "run_outcomes")


def samples(n: int, first: int = 0) -> np.ndarray:
    """n samples whose every field is distinct and known: t = index / 10 s, current and
    voltage from the index, NaN reference (not measured), step and cycle from the index."""
    out = np.zeros(n, SAMPLE_DTYPE)
    index = np.arange(first, first + n)
    out["t"] = index / 10.0
    out["current"] = 1e-4 * np.sign(np.sin(index / 500.0) + 1e-9)
    out["voltage"] = 0.01 + 1e-6 * index
    out["ref"] = np.nan
    out["pressure"] = 5.0
    out["temperature"] = 25.0 + (index % 7)
    out["step"] = index // 1000
    out["cycle"] = 1 + index // 2000
    return out


def write_run(path: Path, n: int, *, chunk: int = 2000, spectra: int = 2, points: int = 12, status="completed",
              build_id: int | None = None, batch: int = 5000) -> int:
    """A run through RunWriter: n samples, a step summary per 1000 samples, an alarm,
    `spectra` impedance sweeps of `points` points (one point flagged), closed with `status`."""
    if build_id is None:
        with Notebook(path) as nb:
            build_id = nb.save_build(cell.from_template("sym-agc", operator="CW"))
    writer = RunWriter(path, chunk_samples=chunk)
    run_id = writer.start_run(build_id, "plate-strip-0.16", '{"cycles": 3, "bad": NaN}', {"app_version": "test"})
    for start in range(0, n, batch):
        writer.append(samples(min(batch, n - start), start))
    for step in range(max(1, n // 1000)):
        writer.step({"step": step, "cycle": 1 + step // 2, "label": "plate" if step % 2 == 0 else "strip",
                     "current_a": 1e-4 if step % 2 == 0 else -1e-4, "t_start": step * 100.0,
                     "t_end": step * 100.0 + 99.9, "n_samples": 1000, "charge_mah": 0.0028 + step * 1e-6,
                     "v_mean": 0.01, "v_end": None if step == 0 else 0.011})
    writer.event({"t_s": n / 10.0, "sample_index": n - 1, "kind": "soft_short", "severity": "alarm",
                  "message": "V dropped", "evidence": {"dv": -0.004, "inf": float("inf")}})
    for k in range(spectra):
        freq = np.logspace(5, -1, points)
        z = 50 + 10 * k + 200 / (1 + 1j * freq / 30) - 0.5j
        flags = [None] * points
        flags[-1] = "overload"
        writer.spectrum({"spectrum": k, "t_s": 10.0 * k, "step": 0, "cycle": 1, "amplitude_v": 0.01,
                         "instrument": "sim", "freq_hz": freq, "z": z, "flags": flags})
    writer.finish(status)
    return run_id


def copy_notebook(source: Path, target: Path) -> Path:
    """A consistent copy of a notebook (SQLite's backup: the -wal file's pages included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def outbox_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        conn.close()


def lab_samples(lab, run_uuid: str) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """A run's samples as the lab holds them, decoded, and its chunks' (first_index, n)."""
    rows = lab.execute("SELECT first_index, n, data FROM solidstack.sample_chunks WHERE run_uuid = %s"
                       " ORDER BY first_index", (run_uuid,)).fetchall()
    arrays = [from_blob(bytes(data)) for _, _, data in rows]
    for (first, n, _), array in zip(rows, arrays):
        assert array.size == n, f"chunk at {first} of run {run_uuid} says {n} samples, holds {array.size}"
    data = np.concatenate(arrays) if arrays else np.zeros(0, SAMPLE_DTYPE)
    return data, [(first, n) for first, n, _ in rows]


def assert_lab_holds_notebook(lab, path: Path) -> None:
    """Every run of the notebook is in the lab as it is here: its row, every sample (decoded
    and compared field by field, NaN where NaN), and as many steps, events, spectra, points,
    notes and tags, by uuid where records have one; no chunk twice, none missing."""
    with Notebook(path, read_only=True) as nb:
        conn = nb.conn
        station_uuid = conn.execute("SELECT value FROM station WHERE key = 'uuid'").fetchone()[0]
        runs = conn.execute("SELECT r.*, b.uuid AS build_uuid FROM runs r JOIN builds b ON b.id = r.build_id"
                            ).fetchall()
        assert runs
        for run in runs:
            row = lab.execute("SELECT status, n_samples, started_utc, ended_utc, build_uuid::text, station_uuid::text,"
                              " local_id FROM solidstack.runs WHERE uuid = %s", (run["uuid"],)).fetchone()
            assert row == (run["status"], run["n_samples"], run["started_utc"], run["ended_utc"], run["build_uuid"],
                           station_uuid, run["id"]), f"run {run['id']}"
            local = nb.samples(run["id"])
            remote, chunks = lab_samples(lab, run["uuid"])
            local_chunks = [tuple(r) for r in conn.execute(
                "SELECT first_index, n FROM sample_chunks WHERE run_id = ? ORDER BY first_index", (run["id"],))]
            assert chunks == local_chunks
            assert remote.size == local.size == run["n_samples"]
            for name in SAMPLE_DTYPE.names:
                np.testing.assert_array_equal(remote[name], local[name], err_msg=name)
            assert remote.tobytes() == local.tobytes()
            for table, key in (("run_steps", "step"), ("events", "uuid"), ("spectra", "uuid")):
                local_keys = sorted(str(r[0]) for r in conn.execute(f"SELECT {key} FROM {table} WHERE run_id = ?",
                                                                     (run["id"],)))
                lab_keys = sorted(str(r[0]) for r in lab.execute(
                    f"SELECT {key} FROM solidstack.{table} WHERE run_uuid = %s", (run["uuid"],)))
                assert lab_keys == local_keys, table
            n_points = conn.execute("SELECT COUNT(*) FROM spectrum_points WHERE run_id = ?", (run["id"],)).fetchone()[0]
            assert lab.execute("SELECT count(*) FROM solidstack.spectrum_points p JOIN solidstack.spectra s"
                               " ON s.uuid = p.spectrum_uuid WHERE s.run_uuid = %s", (run["uuid"],)
                               ).fetchone()[0] == n_points
            acks = {(r[0], r[1]) for r in conn.execute("SELECT uuid, acknowledged_by FROM events WHERE run_id = ?",
                                                       (run["id"],))}
            assert {(str(u), by) for u, by in lab.execute(
                "SELECT uuid, acknowledged_by FROM solidstack.events WHERE run_uuid = %s", (run["uuid"],))} == acks
        for table in ("builds", "protocols", "notes"):
            local_uuids = sorted(r[0] for r in conn.execute(f"SELECT uuid FROM {table}"))
            assert sorted(str(r[0]) for r in lab.execute(f"SELECT uuid FROM solidstack.{table}")) == local_uuids, table
        for table in ("build_tags", "run_tags"):     # the lab keeps removed tags, marked removed
            local_uuids = sorted(r[0] for r in conn.execute(f"SELECT uuid FROM {table}"))
            assert sorted(str(r[0]) for r in lab.execute(
                f"SELECT uuid FROM solidstack.{table} WHERE removed_utc IS NULL")) == local_uuids, table
        local_layers = conn.execute("SELECT COUNT(*) FROM build_layers").fetchone()[0]
        assert lab.execute("SELECT count(*) FROM solidstack.build_layers").fetchone()[0] == local_layers


def lab_snapshot(lab) -> dict[str, list[tuple]]:
    """Every row of every lab table with its row version (xmin), in a fixed order: two equal
    snapshots mean not one row was written in between."""
    out = {}
    for table in LAB_TABLES:
        rows = lab.execute(f"SELECT xmin::text, t::text FROM solidstack.{table} t").fetchall()
        out[table] = sorted(rows)
    return out


def lab_counts(lab) -> dict[str, int]:
    return {t: lab.execute(f"SELECT count(*) FROM solidstack.{t}").fetchone()[0] for t in LAB_TABLES}


def wait_for(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout} s")
