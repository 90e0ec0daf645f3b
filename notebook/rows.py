"""The INSERTs of what a run holds (sample chunks, step summaries, events, spectra),
shared by the live RunWriter and the importer so both store a run the same way. Each
runs inside the caller's transaction."""
from __future__ import annotations

import sqlite3

import numpy as np

from notebook.jsontext import dumps
from notebook.samples import to_blob


def insert_chunk(conn: sqlite3.Connection, run_id: int, first_index: int, chunk: np.ndarray) -> None:
    conn.execute(
        "INSERT INTO sample_chunks (run_id, first_index, n, t_first, t_last, data) VALUES (?,?,?,?,?,?)",
        (run_id, first_index, chunk.size, float(chunk["t"][0]), float(chunk["t"][-1]), to_blob(chunk)),
    )


def insert_step(conn: sqlite3.Connection, run_id: int, s: dict) -> None:
    conn.execute(
        "INSERT INTO run_steps (run_id, step, cycle, label, current_a, t_start, t_end, n_samples, charge_mah, v_mean, v_end)"
        " VALUES (:run_id, :step, :cycle, :label, :current_a, :t_start, :t_end, :n_samples, :charge_mah, :v_mean, :v_end)",
        {"run_id": run_id, **s},
    )


def insert_event(conn: sqlite3.Connection, run_id: int, e: dict) -> None:
    conn.execute(
        "INSERT INTO events (run_id, t_s, sample_index, kind, severity, message, evidence_json) VALUES (?,?,?,?,?,?,?)",
        (run_id, e["t_s"], e["sample_index"], e["kind"], e["severity"], e["message"], dumps(e.get("evidence", {}))),
    )


def insert_spectrum(conn: sqlite3.Connection, run_id: int, s: dict) -> None:
    """s: spectrum (index), t_s, step, cycle, amplitude_v, instrument, freq_hz (array), z (complex array, ohm),
    and optionally flags (per point: None for a good reading, else what the analyser said)."""
    conn.execute(
        "INSERT INTO spectra (run_id, spectrum, t_s, step, cycle, amplitude_v, instrument) VALUES (?,?,?,?,?,?,?)",
        (run_id, s["spectrum"], s["t_s"], s["step"], s["cycle"], s["amplitude_v"], s["instrument"]),
    )
    conn.executemany(
        "INSERT INTO spectrum_points (run_id, spectrum, point, freq_hz, z_real_ohm, z_imag_ohm, flag) VALUES (?,?,?,?,?,?,?)",
        [(run_id, s["spectrum"], k, float(f), float(z.real), float(z.imag), flag)
         for k, (f, z, flag) in enumerate(zip(s["freq_hz"], s["z"], _flags(s)))],
    )


def _flags(s: dict) -> list:
    """The spectrum's per-point flags, all None when it has none."""
    flags = s.get("flags")
    if flags is None:
        return [None] * len(s["freq_hz"])
    if len(flags) != len(s["freq_hz"]):
        raise ValueError(f"spectrum {s['spectrum']} has {len(flags)} flags for {len(s['freq_hz'])} points")
    return [None if flag is None else str(flag) for flag in flags]
