"""Impedance spectra from the files labs have: headerless three-column CSV
`frequency,Re Z,Im Z` (impedance.py's convention), Gamry `.DTA` (ZCURVE table) and
ZPlot `.z` (EC-Lab `.mpt`: biologic.py). All give Z in ohm with Im < 0 for capacitive
points, frequencies in Hz."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from notebook.formats.common import FormatError, Spectrum


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
