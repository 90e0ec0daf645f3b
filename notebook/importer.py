"""Cycling and impedance files made elsewhere, imported into the notebook as runs.

Formats: BDF CSV (preferred labels or machine names), the Neware nested CSV export,
EC-Lab `.mpt` text (GCPL or PEIS), EC-Lab `.mpr` (through the optional galvani),
Parquet with BDF labels (the station's own export), and impedance spectra as
headerless `f,Re,Im` CSV, BDF-labelled EIS CSV, Gamry `.DTA` or ZPlot `.z`.

A file is read and checked completely before anything is written, and everything an
import writes (a build when none is given, the protocol, the run, its samples, step
summaries and spectra) goes in one transaction: a bad file or a failed write leaves
the notebook exactly as it was. The file's own per-cycle table (Neware), its warnings,
its SHA-256 and the columns it had go into the run's provenance.
"""
from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import resources
from analysis.counters import import_check
from analysis.segments import sample_durations
from cell import empty_stack
from notebook.basis import IMPORTED_TEMPLATE
from notebook.errors import NotebookError
from notebook.formats import FormatError, Spectrum, TimeSeries, read_any
from notebook.formats.counters import step_numbers
from notebook.jsontext import dumps
from notebook.rows import insert_chunk, insert_spectrum, insert_step
from notebook.samples import empty_samples
from notebook.store import Notebook, locked, locked_error, protocol_version_id, utc_now

CHUNK_SAMPLES = 16384   # as the live writer's chunks


@dataclass
class ImportResult:
    run_id: int
    build_id: int
    source: Path
    format: str
    n_samples: int
    n_spectra: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "build_id": self.build_id, "source": str(self.source), "format": self.format,
                "n_samples": self.n_samples, "n_spectra": self.n_spectra, "warnings": self.warnings}


def read_source(path: str | Path, time_bug: str = "repair") -> tuple[str, TimeSeries | list[Spectrum]]:
    """(format name, a time series or the spectra) of a file: notebook.formats.read_any."""
    return read_any(path, time_bug)


def samples_of(series: TimeSeries) -> tuple[np.ndarray, str]:
    """The series as SAMPLE_DTYPE records, and how its steps were numbered.

    A step column that never decreases (each step once, as the station and BDF count
    them) is kept; one that repeats (EC-Lab's sequence number `Ns` restarts every cycle)
    or is absent becomes a running count of the segments where it, the cycle or the
    current's sign changes, so that every step is one row of run_steps."""
    f, path = series.frame, series.source
    out = empty_samples(len(f))
    for ours, theirs, factor in (("t", "t_s", 1.0), ("current", "current_A", 1.0), ("voltage", "voltage_V", 1.0),
                                 ("ref", "ref_V", 1.0), ("temperature", "temperature_degC", 1.0),
                                 ("pressure", "pressure_Pa", 1e-6)):
        if theirs in f:
            values = pd.to_numeric(f[theirs], errors="coerce").to_numpy(dtype=float) * factor
            if ours in ("t", "current", "voltage") and not np.all(np.isfinite(values)):
                k = int(np.flatnonzero(~np.isfinite(values))[0])
                raise FormatError(path, f"row {k + 1}: {theirs} is not a finite number", field_name=theirs)
            out[ours] = values
    cycle = _integers(path, f, "cycle")
    step = _integers(path, f, "step")
    out["cycle"] = 1 if cycle is None else cycle
    if step is not None and np.all(np.diff(step) >= 0):
        out["step"] = step
        return out, "the file's step column"
    keys = [out["cycle"], np.sign(out["current"])] if step is None else [step, out["cycle"]]
    out["step"] = step_numbers(*keys) - 1          # from 0, as the station numbers its steps
    source = "changes of the current's sign and the cycle" if step is None else "changes of the file's step and cycle"
    return out, f"numbered from {source}"


def _integers(path: Path, frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame:
        return None
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) >= 2**31)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FormatError(path, f"row {k + 1}: expected a whole {name} number, found {frame[name].iloc[k]!r}",
                          field_name=name)
    return values.astype(np.int64)


def step_summaries(samples: np.ndarray) -> list[dict]:
    """run_steps rows: per step its cycle, mean current, span, charge |I|dt in mAh and
    voltages. Each sample's current is credited over the interval the analysis credits it
    (analysis.segments.sample_durations): never from t = 0, never across a step change at
    the next step's current."""
    if samples.size == 0:
        return []
    t, current, voltage = samples["t"], samples["current"], samples["voltage"]
    dt = sample_durations(t, current, samples["step"])
    starts = np.concatenate(([0], np.flatnonzero(np.diff(samples["step"])) + 1))
    ends = np.concatenate((starts[1:], [samples.size]))
    n = ends - starts
    mean_i = np.add.reduceat(current, starts) / n
    charge = np.add.reduceat(np.abs(current) * dt, starts) / 3.6
    v_mean = np.add.reduceat(voltage, starts) / n
    rows = []
    for k, (a, b) in enumerate(zip(starts, ends)):
        label = "charge" if mean_i[k] > 0 else "discharge" if mean_i[k] < 0 else "rest"
        rows.append({"step": int(samples["step"][a]), "cycle": int(samples["cycle"][a]), "label": label,
                     "current_a": float(mean_i[k]), "t_start": float(t[a] - dt[a]),
                     "t_end": float(t[b - 1]), "n_samples": int(n[k]), "charge_mah": float(charge[k]),
                     "v_mean": float(v_mean[k]), "v_end": float(voltage[b - 1])})
    return rows


def _started_utc(series: TimeSeries | None, spectra: list[Spectrum]) -> tuple[str, str]:
    """(start time, where it came from): the start the file's header gives, else its Unix
    time at t = 0, else the time of import."""
    meta = series.meta if series is not None else (spectra[0].meta if spectra else {})
    if meta.get("started_utc"):
        return str(meta["started_utc"]), "the file's header"
    if series is not None and "unix_time_s" in series.frame:
        unix = pd.to_numeric(series.frame["unix_time_s"], errors="coerce").to_numpy(dtype=float)
        if unix.size and np.isfinite(unix[0]):
            start = datetime.fromtimestamp(unix[0] - float(series.frame["t_s"].iloc[0]), timezone.utc)
            return start.isoformat(timespec="seconds"), "the file's Unix Time"
    return utc_now(), "the time of import (the file does not say when the test started)"


def _ended_utc(started: str, samples: np.ndarray) -> str:
    """When the test ended: its start plus the span of the file's test time (the start when
    the file holds only spectra)."""
    span = float(samples["t"][-1] - min(samples["t"][0], 0.0)) if samples.size else 0.0
    try:
        return (datetime.fromisoformat(started) + timedelta(seconds=span)).isoformat(timespec="seconds")
    except (ValueError, OverflowError):
        return started


def import_file(nb: Notebook, path: str | Path, *, build_id: int | None = None, operator: str = "",
                time_bug: str = "repair") -> ImportResult:
    """Import one file as a new run (on `build_id`, or on a new build named after the file)."""
    nb.require_writable()
    path = Path(path)
    if build_id is not None and nb.conn.execute("SELECT 1 FROM builds WHERE id = ?", (build_id,)).fetchone() is None:
        raise NotebookError(f"no build {build_id} in {nb.path}")
    fmt, data = read_source(path, time_bug)
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    warnings = list(data.warnings) if isinstance(data, TimeSeries) else [w for s in data for w in s.warnings]
    earlier = [r[0] for r in nb.conn.execute(
        "SELECT id FROM runs WHERE json_valid(provenance_json) AND json_extract(provenance_json, '$.import.sha256') = ?"
        " ORDER BY id", (digest,))]
    if earlier:
        warnings.append(f"{path.name} was imported before, as run(s) {', '.join(map(str, earlier))}")
    series = data if isinstance(data, TimeSeries) else None
    samples, steps_from = samples_of(series) if series is not None else (empty_samples(0), "")
    spectra = series.spectra if series is not None else data
    started, started_from = _started_utc(series, spectra)
    ended = _ended_utc(started, samples) if not started_from.startswith("the time of import") else utc_now()
    meta = series.meta if series is not None else (spectra[0].meta if spectra else {})
    header = {key: meta[key] for key in ("instrument", "channel", "cell_id", "counter") if meta.get(key)}
    provenance = {
        "app": resources.APP_NAME, "app_version": resources.APP_VERSION,
        "import": {"file": path.name, "path": str(path.resolve()), "sha256": digest, "bytes": len(raw), "format": fmt,
                   "columns": list(series.frame.columns) if series is not None else ["frequency_hz", "z_ohm"],
                   "steps": steps_from, "started": started_from, "warnings": warnings, **header},
    }
    if series is not None and "vendor_cycles" in series.meta:
        provenance["import"]["vendor_cycles"] = series.meta["vendor_cycles"].to_dict("records")
    if series is not None:
        # the file's own counter (or cycle table) against the integrated current, per cycle
        dq = series.frame["dq_Ah"].to_numpy(dtype=float) if "dq_Ah" in series.frame else None
        checked, disagrees = import_check(samples["t"], samples["current"], samples["step"], samples["cycle"], dq,
                                          str(series.meta.get("counter", "")), series.meta.get("vendor_cycles"))
        provenance["import"].update(checked)
        if disagrees:
            warnings.append(disagrees)
    protocol = f"import:{fmt}"
    protocol_json = dumps({"format": fmt})
    conn = nb.conn
    try:
        with conn:
            if build_id is None:
                # template IMPORTED_TEMPLATE: this build describes no cell, so the run's area and
                # masses stay unknown (notebook.basis) until it is linked or given them
                build_id = nb.insert_build(empty_stack(
                    name=path.stem[:80], operator=operator.strip(),
                    notes=f"Imported from {path.name}; the file does not describe the cell's layers, area or "
                          "masses.").with_changes(template=IMPORTED_TEMPLATE))
            run_id = conn.execute(
                "INSERT INTO runs (build_id, protocol, protocol_id, protocol_json, status, started_utc, ended_utc,"
                " n_samples, message, provenance_json, source) VALUES (?,?,?,?, 'completed', ?,?,?,?,?,?)",
                (build_id, protocol, protocol_version_id(conn, protocol, protocol_json), protocol_json, started,
                 ended, samples.size, f"imported from {path.name}", dumps(provenance),
                 path.name)).lastrowid
            for first in range(0, samples.size, CHUNK_SAMPLES):
                insert_chunk(conn, run_id, first, samples[first:first + CHUNK_SAMPLES])
            for summary in step_summaries(samples):
                insert_step(conn, run_id, summary)
            for k, s in enumerate(spectra):
                insert_spectrum(conn, run_id, {
                    "spectrum": k, "t_s": float(s.meta.get("t_s", 0.0)), "step": int(s.meta.get("step", k)),
                    "cycle": int(s.meta.get("cycle", 1)), "amplitude_v": 0.0,   # 0: the file does not say
                    "instrument": s.meta.get("technique", fmt), "freq_hz": s.frequency_hz, "z": s.z_ohm,
                    "flags": s.flags})
    except sqlite3.Error as exc:
        if locked(exc):
            raise locked_error(nb.path, f"{path.name} was not imported (nothing was added)") from None
        raise NotebookError(f"could not import {path} into {nb.path}: {exc}; nothing was added") from None
    return ImportResult(run_id, build_id, path, fmt, int(samples.size), len(spectra), warnings)
