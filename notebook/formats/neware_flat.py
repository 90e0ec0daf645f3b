"""Neware BTS flat CSV export: one header line (`DataPoint,Cycle Index,Step Index,Step
Type,Time,Cumulative Time,Current(A),Voltage(V),...`) and one row per record, units in
the column names. Unlike the nested export (notebook/formats/neware.py) it has no cycle
or step rows; its per-step charge and discharge capacity columns are the instrument's
counter (TimeSeries.dq_Ah)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, TimeSeries
from notebook.formats.counters import per_step_counter_dq, step_numbers, step_starts
from notebook.formats.csv_rows import Table, read_lines, read_table, split_row
from notebook.formats.local_time import local_start

CYCLE, STEP = "Cycle Index", "Step Index"
TOTAL_TIME = ("Cumulative Time", "Total Time")          # the name differs between BTS versions
# quantity -> {column name: factor to SI}; the first name present is used
CURRENT = {"Current(A)": 1.0, "Current(mA)": 1e-3}
VOLTAGE = {"Voltage(V)": 1.0, "Voltage(mV)": 1e-3}
CHARGE = {"Chg. Cap.(Ah)": 1.0, "Chg. Cap.(mAh)": 1e-3}
DISCHARGE = {"DChg. Cap.(Ah)": 1.0, "DChg. Cap.(mAh)": 1e-3}
EXPECTED = f"a Neware flat export header ('DataPoint,{CYCLE},{STEP},...,Current(A),Voltage(V),...')"


def looks_like_neware_flat(first_line: str) -> bool:
    """One header line holding the record fields together with the cycle and step
    index: the nested export's first line is its cycle table's header, without them."""
    names = {name.strip() for name in split_row(first_line.lstrip("\ufeff"))}
    return ({CYCLE, STEP} <= names and bool(names & set(TOTAL_TIME)) and bool(names & set(CURRENT))
            and bool(names & set(VOLTAGE)))


def _pick(path: Path, header: list[str], options: dict[str, float] | tuple[str, ...]) -> str:
    for name in options:
        if name in header:
            return name
    raise FormatError(path, f"the header lacks {' or '.join(repr(n) for n in options)}", line=1)


def hms_seconds(table: Table, name: str) -> np.ndarray:
    """A column of H:MM:SS(.fff) times (hours may pass 24) as seconds."""
    raw = table.text(name)
    parts = raw.str.split(":", expand=True)
    values = parts.apply(pd.to_numeric, errors="coerce") if parts.shape[1] == 3 else None
    bad = np.ones(len(raw), dtype=bool) if values is None else values.isna().any(axis=1).to_numpy()
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FormatError(table.path, f"expected a time as H:MM:SS, found {raw.iloc[k]!r}", line=int(table.lines[k]),
                          field_name=name)
    return (values[0] * 3600.0 + values[1] * 60.0 + values[2]).to_numpy(dtype=float)


def read_neware_flat_csv(path: str | Path) -> TimeSeries:
    path = Path(path)
    lines = read_lines(path, EXPECTED)
    if not looks_like_neware_flat(lines[0]):
        raise FormatError(path, f"expected {EXPECTED}, found {lines[0][:60]!r}", line=1)
    table = read_table(path, lines, 0)
    header = table.header
    time_name = _pick(path, header, TOTAL_TIME)
    t = hms_seconds(table, time_name)
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        k = int(back[0]) + 1
        raise FormatError(path, "the total time goes backwards; expected it to rise through the file",
                          line=int(table.lines[k]), field_name=time_name)
    frame = pd.DataFrame({"t_s": t})
    for column, options in (("current_A", CURRENT), ("voltage_V", VOLTAGE)):
        name = _pick(path, header, options)
        frame[column] = table.numbers(name) * options[name]
    cycle, step_index = table.integers(CYCLE), table.integers(STEP)
    frame["cycle"] = cycle
    frame["step"] = step_numbers(cycle, step_index)
    charge_name, discharge_name = _pick(path, header, CHARGE), _pick(path, header, DISCHARGE)
    frame["dq_Ah"] = per_step_counter_dq(table.numbers(charge_name) * CHARGE[charge_name],
                                         table.numbers(discharge_name) * DISCHARGE[discharge_name],
                                         step_starts(cycle, step_index))
    meta = {"instrument": "Neware BTS", "counter": f"{charge_name} - {discharge_name} (per step)"}
    warnings = []
    if "Date" in header:
        started, note = local_start(table, "Date", t)
        meta.update(started)
        warnings += note
    return TimeSeries(frame, path, warnings=warnings, meta=meta)
