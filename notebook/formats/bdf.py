"""Battery Data Format (BDF) CSV: the Battery Data Alliance's common cycling table, read
into canonical columns (t_s, voltage_V, current_A; cycle, step, ref_V, unix_time_s,
temperature_degC, pressure_Pa and the charge counters when present). bdf_columns.py
holds the vocabulary (labels, machine names, units); bounded_csv.py the reading.

Only the columns we use are parsed; the others are named in a warning. What cannot be
right is refused with the file, line and what was expected: a time axis that spans more
than MAX_SPAN_S or whose median interval exceeds MAX_MEDIAN_STEP_S (milliseconds labelled
seconds), a Unix time outside 1970-2100, a test time that runs faster than the file's own
Unix time, infinite or absurd values, fractional cycle or step counts.

A test time that jumps back to 0 at the first row of a step (a Neware export defect,
the `Time_Bug` files) is repaired with a warning, or refused with time_bug="reject";
any other backwards step in time is refused: integrating it would be silently wrong.

The charge counters become `dq_Ah` (TimeSeries): Charging/Discharging Capacity, Net
Capacity, Cumulative or Step Capacity, whichever the file has, in that order of
preference. A file whose current is negative while its charge counter rises (cellpy's
BDF export: positive = discharge) has its current sign reversed, with a warning."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.bdf_columns import EIS_COLUMNS, EIS_LOOKUP, REQUIRED, key, machine, preferred, \
    quantity
from notebook.formats.bounded_csv import check_rows, read_columns, read_header
from notebook.formats.common import FormatError, TimeSeries

__all__ = ["EIS_COLUMNS", "looks_like_bdf", "looks_like_bdf_eis", "canonical_name", "eis_name", "read_bdf",
           "column_plan", "bdf_series", "whole_numbers", "current_resolution_warnings"]

YEAR_S = 365.25 * 86400
MAX_SPAN_S = 5 * YEAR_S                 # longer than any cycling or calendar test kept in one file
MAX_MEDIAN_STEP_S = 6 * 3600.0          # cyclers log far more often, even through long rests
UNIX_RANGE_S = (0.0, 4102444800.0)      # 1970-01-01 .. 2100-01-01
LIMITS = {                              # |value| above these is not a measurement of a lab cell
    "voltage_V": 1e4, "current_A": 1e5, "ref_V": 1e4, "temperature_degC": 1e4, "pressure_Pa": 1e12,
    "charge_capacity_Ah": 1e7, "discharge_capacity_Ah": 1e7, "net_capacity_Ah": 1e7,
    "cumulative_capacity_Ah": 1e7, "step_capacity_Ah": 1e7,
}
COUNTERS = ("charge_capacity_Ah", "discharge_capacity_Ah", "net_capacity_Ah", "cumulative_capacity_Ah",
            "step_capacity_Ah")
MAX_COUNT = 2**31 - 1                   # the notebook stores cycle and step as 32-bit integers
EXPECTED = "a BDF header such as 'Test Time / s,Voltage / V,Current / A'"


def looks_like_bdf(header_line: str) -> bool:
    """A header naming at least one of BDF's required quantities (time, voltage, current):
    count columns alone (`Step_Index`) are in other vendors' headers too."""
    return any((quantity(cell) or ("",))[0] in REQUIRED for cell in header_line.split(","))


def looks_like_bdf_eis(header_line: str) -> bool:
    """A BDF table of impedance points: Frequency / Hz and the two impedance columns."""
    return set(EIS_COLUMNS) <= {EIS_LOOKUP.get(key(cell)) for cell in header_line.split(",")}


def canonical_name(label: str) -> str | None:
    """Our column name for a BDF label or machine name (None if it is not one we know)."""
    found = quantity(label)
    return None if found is None else found[0]


def eis_name(label: str) -> str | None:
    """Our name for a BDF impedance column (frequency_Hz, z_real_ohm, z_imag_ohm), or None."""
    return EIS_LOOKUP.get(key(label))


@dataclass
class ColumnPlan:
    """Which header position becomes which of our columns, with its unit factor."""
    use: dict[int, tuple[str, float]]
    header_of: dict[str, str]
    skipped: list[str] = field(default_factory=list)


def column_plan(path: Path, names: list[str]) -> ColumnPlan:
    """Map a header to our columns (the first column naming a quantity wins); refuse a
    header without the three required quantities."""
    use, header_of, skipped = {}, {}, []
    for k, name in enumerate(names):
        found = quantity(str(name))
        if found is None or found[0] in header_of:
            skipped.append(str(name))
            continue
        use[k] = found
        header_of[found[0]] = str(name)
    missing = [n for n in REQUIRED if n not in header_of]
    if missing:
        wanted = "; ".join(f"{preferred(n)!r} (or {machine(n)!r})" for n in missing)
        time_note = " (Test Time may be in s, ms, min or h)" if "t_s" in missing else ""
        raise FormatError(path, f"missing BDF column(s) {wanted}{time_note}; the header has "
                          f"{', '.join(map(repr, names[:20]))}{' ...' if len(names) > 20 else ''}", line=1)
    return ColumnPlan(use, header_of, skipped)


def read_bdf(path: str | Path, time_bug: str = "repair") -> TimeSeries:
    """Read a BDF CSV into canonical columns in SI units (seconds, volts, amperes, Ah)."""
    path = Path(path)
    if time_bug not in ("repair", "reject"):
        raise ValueError(f"time_bug must be 'repair' or 'reject', got {time_bug!r}")
    names = read_header(path, EXPECTED)
    plan = column_plan(path, names)
    rows = check_rows(path, len(names))
    if rows == 0:
        raise FormatError(path, "the header has no data rows after it", line=2)
    arrays = read_columns(path, names, {k: name for k, (name, _) in plan.use.items()}, rows)
    columns = {plan.use[k][0]: values * plan.use[k][1] if plan.use[k][1] != 1.0 else values
               for k, values in arrays.items()}
    return bdf_series(path, columns, plan, time_bug)


def bdf_series(path: Path, columns: dict[str, np.ndarray], plan: ColumnPlan, time_bug: str = "repair") -> TimeSeries:
    """The checks of read_bdf over float columns already read and scaled (CSV text, or a
    Parquet file's typed columns); error lines count rows as a CSV with one header line."""
    header_of = plan.header_of
    n = len(columns["t_s"])
    if n == 0:
        raise FormatError(path, "the header has no data rows after it", line=2)
    for name, values in columns.items():
        _check_values(path, name, values, header_of[name])
    warnings: list[str] = []
    step_name = _step_column(columns)
    t = _checked_time(path, columns["t_s"], columns.get(step_name) if step_name else None, time_bug, warnings,
                      header_of["t_s"])
    _check_time_axis(path, t, columns.get("unix_time_s"), header_of)
    frame = {"t_s": t, "voltage_V": columns["voltage_V"], "current_A": columns["current_A"]}
    for name in ("cycle", "step", "step_id", "step_index"):
        if name not in columns:
            continue
        if not np.isfinite(columns[name]).all():
            warnings.append(f"{path.name}: {header_of[name]!r} has empty cells; not used (steps and cycles are "
                            "numbered from the current's sign instead)")
            continue
        frame["step" if name == step_name else name] = whole_numbers(path, columns[name], header_of[name])
    for name in ("ref_V", "unix_time_s", "temperature_degC", "pressure_Pa", *COUNTERS):
        if name in columns:
            frame[name] = columns[name]
    meta: dict = {}
    dq, counter = charge_counter(columns, frame.get("step"))
    if dq is not None:
        frame["dq_Ah"] = dq
        meta["counter"] = ", ".join(header_of[c] for c in counter)
        if _current_is_reversed(dq, frame["current_A"]):
            frame["current_A"] = -frame["current_A"]
            warnings.append(f"{path.name}: the current is negative where {meta['counter']} say the cell charges "
                            "(positive = discharge in this file); its sign was reversed to BDF's positive = charge")
    if "unix_time_s" in columns and np.isfinite(columns["unix_time_s"][0]):
        start = columns["unix_time_s"][0] - t[0]
        meta["started_utc"] = datetime.fromtimestamp(start, timezone.utc).isoformat(timespec="seconds")
    warnings += current_resolution_warnings(frame["current_A"])
    if plan.skipped:
        shown = ", ".join(plan.skipped[:8]) + (f" and {len(plan.skipped) - 8} more" if len(plan.skipped) > 8 else "")
        warnings.append(f"{path.name}: column(s) not imported (not a quantity SolidStack keeps): {shown}")
    return TimeSeries(pd.DataFrame(frame, copy=False), path, warnings, meta)


def _check_values(path: Path, name: str, values: np.ndarray, label: str) -> None:
    if name in REQUIRED:
        empty = np.isnan(values)
        if empty.any():
            k = int(np.flatnonzero(empty)[0])
            raise FormatError(path, "empty value where a number is required", line=k + 2, field_name=label)
    bad = np.isinf(values)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise FormatError(path, f"expected a finite number, found {values[k]}", line=k + 2, field_name=label)
    if name in LIMITS:
        beyond = np.abs(values) > LIMITS[name]
        if beyond.any():
            k = int(np.flatnonzero(beyond)[0])
            unit = name.rsplit("_", 1)[1]
            raise FormatError(path, f"{values[k]:g} {unit} is not a plausible value (at most {LIMITS[name]:g} {unit})",
                              line=k + 2, field_name=label)
    if name == "unix_time_s":
        outside = (values < UNIX_RANGE_S[0]) | (values > UNIX_RANGE_S[1])
        if outside.any():
            k = int(np.flatnonzero(outside)[0])
            raise FormatError(path, f"Unix time {values[k]:g} s is not between 1970 and 2100; expected seconds since "
                              "1970 (a column of milliseconds is 'Unix Time / ms', unix_time_millisecond)",
                              line=k + 2, field_name=label)


def _check_time_axis(path: Path, t: np.ndarray, unix: np.ndarray | None, header_of: dict[str, str]) -> None:
    """Refuse a time axis in the wrong unit: milliseconds labelled seconds make a 5-day
    test a 14-year one; the file's own Unix time, when present, must agree."""
    label = header_of["t_s"]
    span = float(t[-1] - t[0])
    if span > MAX_SPAN_S:
        raise FormatError(path, f"the test time spans {span / YEAR_S:.1f} years ({span:.4g} s), more than "
                          f"{MAX_SPAN_S / YEAR_S:.0f}; if the values are in another unit, say so in the header "
                          "(e.g. 'Test Time / ms' or test_time_millisecond)", field_name=label)
    if t.size > 2:
        median = float(np.median(np.diff(t)))
        if median > MAX_MEDIAN_STEP_S:
            raise FormatError(path, f"the median interval between samples is {median:.4g} s, more than "
                              f"{MAX_MEDIAN_STEP_S / 3600:.0f} h; if the values are in another unit, say so in the "
                              "header (e.g. 'Test Time / ms')", field_name=label)
    if unix is not None and np.isfinite(unix).all() and span > 60:
        wall = float(unix[-1] - unix[0])
        if wall < 0.5 * span:
            raise FormatError(path, f"the test time spans {span:.4g} s but the file's {header_of['unix_time_s']!r} "
                              f"only {wall:.4g} s: a test cannot run faster than the clock; one of the two columns "
                              "is in another unit than its header says", field_name=label)


def _step_column(columns: dict[str, np.ndarray]) -> str | None:
    """Step Count is the step; else Step ID; else Step Index unless it is the standard's
    position-within-a-step counter (it then restarts at 1 and counts up on most rows)."""
    for name in ("step", "step_id"):
        if name in columns:
            return name
    index = columns.get("step_index")
    if index is None or index.size < 3:
        return "step_index" if index is not None else None
    counting = float(np.mean(np.diff(index) == 1))
    return None if counting > 0.5 else "step_index"


def whole_numbers(path: Path, values: np.ndarray, label: str) -> np.ndarray:
    """Counts (cycle, step) as int64, refusing fractions and values the notebook cannot store."""
    fractional = np.flatnonzero(values != np.round(values))
    if fractional.size:   # a cast would truncate 1.5 to 1 without a word
        k = int(fractional[0])
        raise FormatError(path, f"expected a whole number, found {f'{values[k]:g}'!r}", line=k + 2, field_name=label)
    huge = np.flatnonzero(np.abs(values) > MAX_COUNT)
    if huge.size:         # ... or wrap 1e300 to a negative number
        k = int(huge[0])
        raise FormatError(path, f"expected a whole number below {MAX_COUNT + 1:,}, found {values[k]:g}", line=k + 2,
                          field_name=label)
    return values.astype(np.int64)


def _increments(values: np.ndarray, new_step: np.ndarray | None) -> np.ndarray:
    """What a counter added since the previous row; on the first row, its whole value
    (counted from the test's or step's start). A counter that drops to less than half
    its previous value restarts from 0 there, and, being a per-step counter, at every
    new step too."""
    inc = np.empty_like(values)
    if values.size == 0:
        return inc
    inc[0] = values[0]
    inc[1:] = np.diff(values)
    reset = (values[1:] < 0.5 * values[:-1]) & (inc[1:] < 0)
    if reset.any() and new_step is not None:
        reset |= new_step[1:]
    inc[1:][reset] = values[1:][reset]
    return inc


def charge_counter(columns: dict[str, np.ndarray],
                   step: np.ndarray | None) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """dq_Ah (signed, positive = charge) from the file's counters, and which were used."""
    usable = {name for name in COUNTERS if name in columns and np.isfinite(columns[name]).all()}
    new_step = None
    if step is not None:
        new_step = np.zeros(step.size, dtype=bool)
        new_step[1:] = step[1:] != step[:-1]
    if {"charge_capacity_Ah", "discharge_capacity_Ah"} <= usable:
        charged = _increments(columns["charge_capacity_Ah"], new_step)
        return charged - _increments(columns["discharge_capacity_Ah"], new_step), ("charge_capacity_Ah",
                                                                                   "discharge_capacity_Ah")
    if "net_capacity_Ah" in usable:
        q = columns["net_capacity_Ah"]
        return np.concatenate((q[:1], np.diff(q))), ("net_capacity_Ah",)
    sign = np.sign(columns["current_A"])
    for name in ("cumulative_capacity_Ah", "step_capacity_Ah"):
        if name in usable:
            return sign * _increments(columns[name], new_step), (name,)
    return None, ()


def _current_is_reversed(dq: np.ndarray, current: np.ndarray) -> bool:
    """True when the counters and the current disagree in sign on nearly every row where
    both move: the file's current has the opposite sign convention."""
    moving = (dq != 0) & (current != 0)
    if moving.sum() < 10:
        return False
    return float(np.mean(np.sign(dq[moving]) != np.sign(current[moving]))) > 0.95


def _checked_time(path: Path, t: np.ndarray, step: np.ndarray | None, time_bug: str, warnings: list[str],
                  label: str) -> np.ndarray:
    back = np.flatnonzero(np.diff(t) < 0) + 1
    if back.size == 0:
        return t
    at_step_start = step is not None and bool(np.all(step[back] != step[back - 1]))
    if not at_step_start:
        k = int(back[0] if step is None else back[step[back] == step[back - 1]][0])
        raise FormatError(path, f"test time goes backwards ({t[k - 1]:g} s -> {t[k]:g} s) inside a step; "
                          "expected a non-decreasing time", line=k + 2, field_name=label)
    if time_bug == "reject":
        raise FormatError(path, f"test time restarts at the first row of {back.size} step(s) (a known cycler export "
                          "defect); read with time_bug='repair' to mend it", line=int(back[0]) + 2, field_name=label)
    t = t.copy()
    bounds = np.append(back, t.size)
    single_rows = 0
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if start + 1 < stop and t[start + 1] >= t[start - 1]:
            # only the step's first row was reset: it was taken when the step began
            t[start] = t[start - 1]
            single_rows += 1
        else:
            # the whole step restarted its clock: continue it from where the last step ended
            nxt = np.flatnonzero(np.diff(t[start:stop]) < 0)
            end = start + nxt[0] + 1 if nxt.size else stop
            t[start:end] += t[start - 1] - t[start]
    warnings.append(f"{path.name}: test time restarted at {back.size} step start(s); repaired "
                    f"({single_rows} single reset row(s) set to the previous time, {back.size - single_rows} step clock(s) "
                    "offset to continue)")
    if np.any(np.diff(t) < 0):
        k = int(np.flatnonzero(np.diff(t) < 0)[0]) + 1
        raise FormatError(path, "test time still goes backwards after repairing step restarts", line=k + 2,
                          field_name=label)
    return t


def current_resolution_warnings(current_a: np.ndarray) -> list[str]:
    """Warn when the current is written with so few decimals that capacities integrated
    from it are off by more than 1 % (e.g. 0.0002 A for a 0.18 mA current)."""
    nonzero = np.abs(current_a[np.isfinite(current_a) & (current_a != 0)])
    if nonzero.size == 0:
        return []
    sample = nonzero[::max(1, nonzero.size // 200_000)]   # the decimals written show in any 200k values
    for decimals in range(12):
        if np.allclose(np.round(sample, decimals), sample, rtol=0, atol=1e-15):
            break
    half_step = 0.5 * 10.0 ** -decimals
    typical = float(np.median(nonzero))
    if half_step / typical <= 0.01:
        return []
    return [f"current is recorded to {10.0 ** -decimals:g} A, up to {half_step / typical:.0%} of the typical "
            f"{typical:g} A: capacities integrated from it may be off by as much"]
