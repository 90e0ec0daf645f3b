"""Neware BTS nested CSV export: one file interleaving three tables, told apart by
leading empty fields: cycle rows (`1,...`), step rows (`,2,...`) and record rows
(`,,12,...`), each under its own header line at the top. The first cycle row may carry
the first step row on the same line. Records become a time series; the vendor's own
per-cycle table is kept in meta["vendor_cycles"], and the records' capacity counter
(it restarts at each step, unsigned) becomes dq_Ah, the reference the integrated current
is checked against."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, TimeSeries, first_bad_number, is_number
from notebook.formats.counters import per_step_counter_dq, step_starts
from notebook.formats.local_time import stamps_start

CYCLE_HEADER = "Cycle Index"
RECORD_FIELDS = {"time": "Total Time", "current": "Current(A)", "voltage": "Voltage(V)"}
DATE_FIELD = "Date"
COUNTER_FIELD = "Capacity(Ah)"     # charge since the step began, whichever way
VENDOR_FIELDS = {"charge_mAh": "Chg. Cap.(Ah)", "discharge_mAh": "DChg. Cap.(Ah)", "ce": "Chg.-DChg. Eff(%)",
                 "charge_Wh": "Chg. Energy(Wh)", "discharge_Wh": "DChg. Energy(Wh)"}


def looks_like_neware(first_line: str) -> bool:
    return first_line.lstrip("\ufeff").startswith(CYCLE_HEADER + ",")


def _hms_seconds(path: Path, text: pd.Series, first_line: np.ndarray, name: str) -> np.ndarray:
    parts = text.str.split(":", expand=True)
    if parts.shape[1] != 3:
        raise FormatError(path, f"expected a time as H:MM:SS, found {text.iloc[0]!r}", line=int(first_line[0]), field_name=name)
    values = parts.apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1).to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FormatError(path, f"expected a time as H:MM:SS, found {text.iloc[k]!r}", line=int(first_line[k]), field_name=name)
    return (values[0] * 3600.0 + values[1] * 60.0 + values[2]).to_numpy()


def read_neware_csv(path: str | Path) -> TimeSeries:
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    if len(lines) < 4 or not looks_like_neware(lines[0]):
        raise FormatError(path, f"not a Neware nested export: expected line 1 to start with '{CYCLE_HEADER},'", line=1)
    cycle_header = lines[0].split(",")
    record_header = lines[2].split(",")
    if not lines[2].startswith(",,"):
        raise FormatError(path, "expected the record header (starting ',,') on line 3", line=3)
    columns = {}
    for key, label in RECORD_FIELDS.items():
        if label not in record_header:
            raise FormatError(path, f"record header lacks {label!r}", line=3)
        columns[key] = record_header.index(label)

    record_rows, record_lines, record_cycle, record_step = [], [], [], []
    cycle_rows = []
    cycle = step = 0
    for number, line in enumerate(lines[3:], start=4):
        if line.startswith(",,"):
            record_rows.append(line)
            record_lines.append(number)
            record_cycle.append(cycle)
            record_step.append(step)
        elif line.startswith(","):
            fields = line.split(",")
            step += 1
            if len(fields) < 3 or not fields[1].strip().isdecimal():
                raise FormatError(path, f"expected a step row ',step index,...', found {line[:40]!r}", line=number)
        elif line.strip():
            fields = line.split(",")
            if not fields[0].strip().isdecimal():
                raise FormatError(path, f"expected a cycle row starting with the cycle index, found {line[:40]!r}", line=number)
            cycle = int(fields[0])
            cycle_rows.append((number, fields[:len(cycle_header)]))
            if len(fields) > len(cycle_header):   # the first step row, run onto the cycle row
                step += 1
    if not record_rows:
        raise FormatError(path, "no record rows (lines starting ',,')")
    if COUNTER_FIELD in record_header:
        columns["counter"] = record_header.index(COUNTER_FIELD)
    if DATE_FIELD in record_header:
        columns["date"] = record_header.index(DATE_FIELD)
    records = pd.read_csv(io.StringIO("\n".join(record_rows)), header=None, dtype=str,
                          usecols=list(columns.values()))
    first_line = np.asarray(record_lines)
    t = _hms_seconds(path, records[columns["time"]], first_line, RECORD_FIELDS["time"])
    frame = pd.DataFrame({"t_s": t})
    for key in ("current", "voltage"):
        raw = records[columns[key]].rename(RECORD_FIELDS[key])
        bad = first_bad_number(path, raw, 0, "a number")
        if bad:
            k = bad.line - 1
            raise FormatError(path, f"expected a number, found {raw.iloc[k]!r}", line=record_lines[k], field_name=raw.name)
        frame[f"{key}_{'A' if key == 'current' else 'V'}"] = pd.to_numeric(raw).to_numpy()
    frame["cycle"] = np.asarray(record_cycle, dtype=np.int64)
    frame["step"] = np.asarray(record_step, dtype=np.int64)
    meta = {}
    if "counter" in columns:
        raw = records[columns["counter"]].rename(COUNTER_FIELD)
        bad = first_bad_number(path, raw, 0, "a number")
        if bad:
            k = bad.line - 1
            raise FormatError(path, f"expected a number, found {raw.iloc[k]!r}", line=record_lines[k], field_name=raw.name)
        starts = step_starts(frame["step"].to_numpy())
        # the counter is unsigned: its step's current says which way the charge went
        way = frame.groupby("step")["current_A"].transform("mean").to_numpy()
        capacity = pd.to_numeric(raw).to_numpy()
        frame["dq_Ah"] = per_step_counter_dq(np.where(way > 0, capacity, 0.0), np.where(way < 0, capacity, 0.0), starts)
        meta["counter"] = COUNTER_FIELD
    if np.any(np.diff(t) < 0):
        k = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise FormatError(path, "total time goes backwards; expected it to rise through the file",
                          line=record_lines[k], field_name=RECORD_FIELDS["time"])
    meta["vendor_cycles"] = _vendor_table(path, cycle_header, cycle_rows)
    warnings = []
    if "date" in columns:
        # the cycler PC's wall clock on each record: the test started at the first less its test time
        dates = records[columns["date"]].fillna("")
        started, warnings = stamps_start(path.name, DATE_FIELD, dates.iloc[0], dates.iloc[-1], t)
        meta.update(started)
    kept = ["t_s", "current_A", "voltage_V", "cycle", "step"] + (["dq_Ah"] if "dq_Ah" in frame else [])
    return TimeSeries(frame[kept], path, warnings=warnings, meta=meta)


def _vendor_table(path: Path, header: list[str], rows: list[tuple[int, list[str]]]) -> pd.DataFrame:
    """The export's own per-cycle capacity (mAh), efficiency (fraction) and energy (Wh)."""
    out = {"cycle": [int(fields[0]) for _, fields in rows]}
    for key, label in VENDOR_FIELDS.items():
        if label not in header:
            continue
        k = header.index(label)
        try:
            values = np.array([float(fields[k]) for _, fields in rows])
        except (ValueError, IndexError):
            line = next(n for n, fields in rows if len(fields) <= k or not is_number(fields[k]))
            raise FormatError(path, "expected a number in the cycle row", line=line, field_name=label) from None
        out[key] = values * (1000.0 if key.endswith("mAh") else 0.01 if key == "ce" else 1.0)
    return pd.DataFrame(out)
