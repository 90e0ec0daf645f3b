"""What every reader returns (a time series or an impedance spectrum, in SI units with
units in the column names) and the one error a bad file raises."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


class FormatError(ValueError):
    """A file that cannot be read as claimed: names the file, the line (1-based) or
    field, and what was expected there."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None, field_name: str | None = None):
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if field_name is not None:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {problem}")
        self.path, self.line, self.field_name = Path(path), line, field_name


class ReaderMissing(FormatError):
    """The file may be fine, but reading its format needs an optional package that is
    not installed: the message says which and what to do instead."""


@dataclass
class TimeSeries:
    """Samples of a cycling (or any galvanostatic) record: columns t_s, current_A
    (positive = charge, as in BDF) and voltage_V always; cycle, step, ref_V (working
    electrode against a reference), temperature_degC, unix_time_s and others when the
    file has them.

    `dq_Ah`, where the file has the instrument's own charge counter (EC-Lab `dq/mA.h` or
    `(Q-Qo)/mA.h`, Arbin `Charge_Capacity`/`Discharge_Capacity`, Neware step capacity...),
    is the signed charge that counter says passed since the previous sample (positive =
    charge), whatever the counter's own resets; meta["counter"] names the column(s) it came
    from. It is the reference the integrated current is checked against.

    meta keys a reader fills when the file says so: "started_utc" (ISO 8601, when the test
    started), "instrument", "channel", "cell_id", "counter", "vendor_cycles" (the
    instrument's own per-cycle table, a DataFrame with cycle, charge_mAh, discharge_mAh).
    `spectra` holds impedance sweeps recorded inside the same file (an EC-Lab Modulo Bat
    run with EIS steps), one Spectrum per sweep."""
    frame: pd.DataFrame
    source: Path
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    spectra: list["Spectrum"] = field(default_factory=list)


@dataclass
class Spectrum:
    """An impedance spectrum: Z = Re + j Im in ohm, capacitive points with Im < 0. A file
    with several sweeps gives one Spectrum per sweep; meta may hold "t_s", "cycle", "step",
    "technique" and the header keys a TimeSeries has ("started_utc", "instrument", ...).
    flags: per point None (a good reading) or what the analyser reported ('overload',
    'out_of_range'); None when the source flags nothing. Flagged points are shown, not fitted."""
    frequency_hz: np.ndarray
    z_ohm: np.ndarray
    source: Path
    warnings: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    flags: list[str | None] | None = None


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def first_bad_number(path: Path, raw: pd.Series, header_lines: int, what: str) -> FormatError | None:
    """The first cell of `raw` (text) that is not a number, as a FormatError with its
    line: header_lines is the count of lines before the first data row."""
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        return FormatError(path, f"expected {what}, found {raw.iloc[k]!r}", line=header_lines + k + 1,
                           field_name=str(raw.name))
    return None
