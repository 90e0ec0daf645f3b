"""Impedance spectra from the files labs have: headerless three-column CSV
`frequency,Re Z,Im Z` (impedance.py's convention), BDF-labelled impedance tables (the
station's own EIS export), Gamry `.DTA` (ZCURVE table) and
ZPlot `.z` (EC-Lab `.mpt`: biologic.py). All give Z in ohm with Im < 0 for capacitive
points, frequencies in Hz."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats import bdf
from notebook.formats.common import FormatError, Spectrum, first_bad_number, read_text_table


def lines_of(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    # instrument software writes Latin-1 (e.g. the 'µF' and '°' in EC-Lab and Gamry headers)
    return data.decode("latin-1").splitlines()


def parse_number(path: Path, text: str, line: int, field_name: str) -> float:
    try:
        return float(text.replace(",", ".") if "." not in text else text)
    except ValueError:
        raise FormatError(path, f"expected a number, found {text!r}", line=line, field_name=field_name) from None


def spectrum(path: Path, f: list[float], z: list[complex], warnings: list[str], meta: dict) -> Spectrum:
    if not f:
        raise FormatError(path, "no impedance points found")
    frequency = np.asarray(f, dtype=float)
    bad = np.flatnonzero(~(frequency > 0))
    if bad.size:
        raise FormatError(path, f"frequency must be positive, found {frequency[bad[0]]:g} (point {bad[0] + 1})")
    return Spectrum(frequency, np.asarray(z, dtype=complex), path, warnings, meta)


def read_eis_csv(path: str | Path) -> Spectrum:
    """Headerless `frequency [Hz], Re Z [ohm], Im Z [ohm]` per line."""
    path = Path(path)
    f, z = [], []
    for number, line in enumerate(lines_of(path), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 3:
            raise FormatError(path, f"expected 3 comma-separated numbers (frequency Hz, Re Z ohm, Im Z ohm), found {len(cells)} field(s)",
                              line=number)
        values = [parse_number(path, c, number, name) for c, name in zip(cells, ("frequency", "Re Z", "Im Z"))]
        f.append(values[0])
        z.append(complex(values[1], values[2]))
    return spectrum(path, f, z, [], {})


def read_gamry_dta(path: str | Path) -> Spectrum:
    """The ZCURVE table of a Gamry Framework file: a names line, a units line, then
    tab-indented rows until the table ends."""
    path = Path(path)
    lines = lines_of(path)
    start = next((k for k, line in enumerate(lines) if line.split("\t")[:2] == ["ZCURVE", "TABLE"]), None)
    if start is None:
        raise FormatError(path, "no 'ZCURVE<TAB>TABLE' line: not a Gamry EIS file")
    names = [c.strip() for c in lines[start + 1].split("\t")]
    try:
        kf, kr, ki = names.index("Freq"), names.index("Zreal"), names.index("Zimag")
    except ValueError:
        raise FormatError(path, "the ZCURVE header lacks Freq, Zreal or Zimag", line=start + 2) from None
    f, z = [], []
    for number, line in enumerate(lines[start + 3:], start=start + 4):
        if not line.startswith("\t"):
            break                              # the next block of the file begins
        cells = line.split("\t")
        if len(cells) <= max(kf, kr, ki):
            raise FormatError(path, f"expected at least {max(kf, kr, ki) + 1} tab-separated values", line=number)
        f.append(parse_number(path, cells[kf], number, "Freq"))
        z.append(complex(parse_number(path, cells[kr], number, "Zreal"), parse_number(path, cells[ki], number, "Zimag")))
    return spectrum(path, f, z, [], {"technique": "Gamry"})


def read_zplot(path: str | Path) -> Spectrum:
    """ZPlot `.z`: a header ending in 'End Comments', the column names on the line
    before it, then one tab-separated point per line."""
    path = Path(path)
    lines = lines_of(path)
    if not lines or not lines[0].startswith("ZPLOT"):
        raise FormatError(path, "not a ZPlot file: expected 'ZPLOT2 ASCII' on line 1", line=1)
    end = next((k for k, line in enumerate(lines) if line.strip() == "End Comments"), None)
    if end is None or end == 0:
        raise FormatError(path, "no 'End Comments' line before the data")
    names = [c.strip() for c in lines[end - 1].split("\t")]
    try:
        kf, kr, ki = names.index("Freq(Hz)"), names.index("Z'(a)"), names.index("Z''(b)")
    except ValueError:
        raise FormatError(path, "expected columns Freq(Hz), Z'(a) and Z''(b)", line=end) from None
    declared = next((int(line.split(":")[1]) for line in lines[:end] if line.strip().startswith("Data Points:")), None)
    f, z = [], []
    for number, line in enumerate(lines[end + 1:], start=end + 2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) <= max(kf, kr, ki):
            raise FormatError(path, f"expected at least {max(kf, kr, ki) + 1} tab-separated values", line=number)
        f.append(parse_number(path, cells[kf], number, "Freq(Hz)"))
        z.append(complex(parse_number(path, cells[kr], number, "Z'(a)"), parse_number(path, cells[ki], number, "Z''(b)")))
    warnings = []
    if declared is not None and declared != len(f):
        warnings.append(f"{path.name}: the header declares {declared} data points, the file holds {len(f)}")
    return spectrum(path, f, z, warnings, {"technique": "ZPlot"})


def read_bdf_eis(path: str | Path) -> list[Spectrum]:
    """A BDF-labelled table of impedance points (`Frequency / Hz`, `Real Impedance / ohm`,
    `Imaginary Impedance / ohm`, as the station exports them), one spectrum per value of
    `Step Count / 1` when it is there; `Test Time / s` and `Cycle Count / 1` of a
    spectrum's first point go into its meta."""
    path = Path(path)
    raw = read_text_table(path, "a header with 'Frequency / Hz'")
    names = {h: bdf.eis_name(h) or bdf.canonical_name(h) for h in raw.columns}
    wanted = {name: header for header, name in names.items() if name}
    for name in bdf.EIS_COLUMNS:
        if name not in wanted:
            raise FormatError(path, f"missing column {bdf.EIS_COLUMNS[name][0]!r}", line=1)
    if raw.empty:
        raise FormatError(path, "the header has no data rows after it", line=2)
    values = {}
    for name in ("frequency_Hz", "z_real_ohm", "z_imag_ohm", "step", "t_s", "cycle"):
        if name not in wanted:
            continue
        column = raw[wanted[name]]
        error = first_bad_number(path, column, 1, "a number")
        if error:
            raise error
        if column.isna().any():
            k = int(np.flatnonzero(column.isna().to_numpy())[0])
            raise FormatError(path, "empty value where a number is required", line=k + 2, field_name=wanted[name])
        values[name] = pd.to_numeric(column).to_numpy()
    group = values.get("step", np.zeros(len(raw)))
    out = []
    for g in pd.unique(group):
        rows = np.flatnonzero(group == g)
        meta = {"technique": "BDF", "step": int(g)}
        meta.update({name: values[name][rows[0]].item() for name in ("t_s", "cycle") if name in values})
        out.append(spectrum(path, list(values["frequency_Hz"][rows]),
                            list(values["z_real_ohm"][rows] + 1j * values["z_imag_ohm"][rows]), [], meta))
    return out
