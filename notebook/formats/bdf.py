"""Battery Data Format (BDF) CSV: the Battery Data Alliance's common cycling table.
Accepts the preferred labels (`Test Time / s`) and the machine names seen in the wild
(`test_time_second`), and our documented extension for three-electrode cells:
`Reference Potential / V` (`reference_potential_volt`), the working electrode
against the reference electrode.

A test time that jumps back to 0 at the first row of a step (a Neware export defect,
the `Time_Bug` files) is repaired with a warning, or refused with time_bug="reject";
any other backwards step in time is refused: integrating it would be silently wrong.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, TimeSeries, first_bad_number, read_text_table

# canonical column -> accepted headers (compared case-insensitively, spaces squeezed)
COLUMNS = {
    "t_s": ("Test Time / s", "test_time_second"),
    "voltage_V": ("Voltage / V", "voltage_volt"),
    "current_A": ("Current / A", "current_ampere"),
    "cycle": ("Cycle Count / 1", "cycle_count"),
    "step": ("Step Count / 1", "step_count", "Step Index / 1", "step_index"),
    "ref_V": ("Reference Potential / V", "reference_potential_volt"),
    "temperature_degC": ("Ambient Temperature / degC", "ambient_temperature_celsius", "ambient_temperature_degc"),
    "pressure_Pa": ("Applied Pressure / Pa", "applied_pressure_pa", "applied_pressure_pascal"),
    "unix_time_s": ("Unix Time / s", "unix_time_second"),
    "charge_capacity_Ah": ("Charging Capacity / Ah", "charging_capacity_ah"),
    "discharge_capacity_Ah": ("Discharging Capacity / Ah", "discharging_capacity_ah"),
}
REQUIRED = ("t_s", "voltage_V", "current_A")


EIS_COLUMNS = {
    "frequency_Hz": ("Frequency / Hz", "frequency_hz", "frequency_hertz"),
    "z_real_ohm": ("Real Impedance / ohm", "real_impedance_ohm"),
    "z_imag_ohm": ("Imaginary Impedance / ohm", "imaginary_impedance_ohm"),
}


def _key(label: str) -> str:
    return " ".join(label.strip().lower().split())


_LOOKUP = {_key(label): name for name, labels in COLUMNS.items() for label in labels}
_EIS_LOOKUP = {_key(label): name for name, labels in EIS_COLUMNS.items() for label in labels}


def looks_like_bdf(header_line: str) -> bool:
    return any(_key(cell) in _LOOKUP for cell in header_line.split(","))


def looks_like_bdf_eis(header_line: str) -> bool:
    """A BDF table of impedance points: Frequency / Hz and the two impedance columns."""
    return set(EIS_COLUMNS) <= {_EIS_LOOKUP.get(_key(cell)) for cell in header_line.split(",")}


def canonical_name(label: str) -> str | None:
    """Our column name for a BDF label or machine name (None if it is not one we know)."""
    return _LOOKUP.get(_key(label))


def eis_name(label: str) -> str | None:
    """Our name for a BDF impedance column (frequency_Hz, z_real_ohm, z_imag_ohm), or None."""
    return _EIS_LOOKUP.get(_key(label))


def read_bdf(path: str | Path, time_bug: str = "repair") -> TimeSeries:
    """Read a BDF CSV into canonical columns (t_s, current_A, voltage_V, and cycle,
    step, ref_V, ... when present); other columns are kept under their own names."""
    path = Path(path)
    if time_bug not in ("repair", "reject"):
        raise ValueError(f"time_bug must be 'repair' or 'reject', got {time_bug!r}")
    raw = read_text_table(path, "a BDF header such as 'Test Time / s,Voltage / V,Current / A'")
    return bdf_table(path, raw, time_bug)


def bdf_table(path: Path, raw: pd.DataFrame, time_bug: str = "repair") -> TimeSeries:
    """The checks and renaming of read_bdf over a table already read (CSV text, or the
    typed columns of a Parquet file); errors count lines as in a CSV with one header line."""
    rename = {}
    for header in raw.columns:
        name = _LOOKUP.get(_key(str(header)))
        if name is not None and name not in rename.values():
            rename[header] = name
    missing = [n for n in REQUIRED if n not in rename.values()]
    if missing:
        wanted = "; ".join(f"{COLUMNS[n][0]!r} (or {COLUMNS[n][1]!r})" for n in missing)
        raise FormatError(path, f"missing BDF column(s) {wanted}; the header has {', '.join(map(repr, raw.columns))}", line=1)
    raw = raw.rename(columns=rename)
    header_of = {name: header for header, name in rename.items()}    # errors name the file's own header
    if raw.empty:
        raise FormatError(path, "the header has no data rows after it", line=2)
    frame = pd.DataFrame(index=raw.index)
    for column in raw.columns:
        if column in COLUMNS:
            error = first_bad_number(path, raw[column].rename(header_of[column]), 1, "a number")
            if error:
                raise error
            frame[column] = pd.to_numeric(raw[column])
        else:
            frame[column] = raw[column]
    for name in REQUIRED:
        empty = frame[name].isna().to_numpy()
        if empty.any():
            k = int(np.flatnonzero(empty)[0])
            raise FormatError(path, "empty value where a number is required", line=k + 2, field_name=header_of[name])
    warnings = []
    frame["t_s"] = _checked_time(path, frame["t_s"].to_numpy(), frame.get("step"), time_bug, warnings, header_of["t_s"])
    for name in ("cycle", "step"):
        if name in frame and frame[name].notna().all():
            values = frame[name].to_numpy(dtype=float)
            fractional = np.flatnonzero(values != np.round(values))
            if fractional.size:   # a cast would truncate 1.5 to 1 without a word
                k = int(fractional[0])
                raise FormatError(path, f"expected a whole number, found {raw[name].iloc[k]!r}", line=k + 2,
                                  field_name=header_of[name])
            frame[name] = values.astype(np.int64)
    warnings += current_resolution_warnings(frame["current_A"].to_numpy())
    return TimeSeries(frame, path, warnings)


def _checked_time(path: Path, t: np.ndarray, step: pd.Series | None, time_bug: str, warnings: list[str],
                  label: str) -> np.ndarray:
    back = np.flatnonzero(np.diff(t) < 0) + 1
    if back.size == 0:
        return t
    steps = None if step is None else step.to_numpy()
    at_step_start = steps is not None and bool(np.all(steps[back] != steps[back - 1]))
    if not at_step_start:
        k = int(back[0] if steps is None else back[steps[back] == steps[back - 1]][0])
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
    for decimals in range(12):
        if np.allclose(np.round(nonzero, decimals), nonzero, rtol=0, atol=1e-15):
            break
    half_step = 0.5 * 10.0 ** -decimals
    typical = float(np.median(nonzero))
    if half_step / typical <= 0.01:
        return []
    return [f"current is recorded to {10.0 ** -decimals:g} A, up to {half_step / typical:.0%} of the typical "
            f"{typical:g} A: capacities integrated from it may be off by as much"]
