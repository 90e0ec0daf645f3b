"""EC-Lab (BioLogic) text exports, `.mpt`: a header whose second line gives its length,
then a tab-separated table. PEIS/GEIS files become spectra; GCPL and other
galvanostatic techniques become time series (three-electrode layouts with `Ece/V`
give the reference channel). The binary `.mpr` needs galvani (GPL-3), which we do not
bundle: export the text file from EC-Lab instead."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, Spectrum, TimeSeries
from notebook.formats.spectra import lines_of, parse_number, spectrum


def read_mpt_spectrum(path: str | Path) -> Spectrum:
    path = Path(path)
    header, rows, first = read_mpt_table(path)
    try:
        kf, kr, ki = header.index("freq/Hz"), header.index("Re(Z)/Ohm"), header.index("-Im(Z)/Ohm")
    except ValueError:
        raise FormatError(path, "expected columns 'freq/Hz', 'Re(Z)/Ohm' and '-Im(Z)/Ohm' (a PEIS/GEIS export)",
                          line=first - 1) from None
    f, z = [], []
    for offset, cells in enumerate(rows):
        n = first + offset
        f.append(parse_number(path, cells[kf], n, "freq/Hz"))
        z.append(complex(parse_number(path, cells[kr], n, "Re(Z)/Ohm"), -parse_number(path, cells[ki], n, "-Im(Z)/Ohm")))
    return spectrum(path, f, z, [], {"technique": "EC-Lab"})


def read_mpt_table(path: str | Path) -> tuple[list[str], list[list[str]], int]:
    """(column names, data rows as text cells, line number of the first data row) of an
    EC-Lab text export; its second line says how many header lines precede the data."""
    path = Path(path)
    lines = lines_of(path)
    if not lines or not lines[0].startswith("EC-Lab ASCII FILE"):
        raise FormatError(path, "not an EC-Lab text export: expected 'EC-Lab ASCII FILE' on line 1", line=1)
    if len(lines) < 2 or "Nb header lines" not in lines[1]:
        raise FormatError(path, "expected 'Nb header lines : N' on line 2", line=2)
    try:
        n_header = int(lines[1].split(":")[1])
    except (IndexError, ValueError):
        raise FormatError(path, f"expected a number of header lines, found {lines[1].strip()!r}", line=2) from None
    if n_header < 3 or n_header > len(lines):
        raise FormatError(path, f"says it has {n_header} header lines but holds {len(lines)} lines", line=2)
    header = [c.strip() for c in lines[n_header - 1].split("\t")]
    while header and not header[-1]:
        header.pop()
    rows = []
    for number, line in enumerate(lines[n_header:], start=n_header + 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) < len(header):
            raise FormatError(path, f"expected {len(header)} tab-separated values, found {len(cells)}", line=number)
        rows.append(cells)
    return header, rows, n_header + 1


# time-series columns: canonical name -> (EC-Lab header, factor to SI)
TIMESERIES = {
    "t_s": (("time/s",), 1.0),
    "current_A": (("I/mA", "<I>/mA", "control/V/mA"), 1e-3),
    "cycle": (("cycle number",), 1.0),
}


def read_mpt_timeseries(path: str | Path) -> TimeSeries:
    """Time, current and cell voltage of a galvanostatic export. In a three-electrode
    layout (an `Ece/V` column) the cell voltage is `Ewe-Ece/V` and `Ewe/V` (working vs
    reference) becomes ref_V; otherwise `Ewe/V` is the cell voltage."""
    path = Path(path)
    header, rows, first = read_mpt_table(path)
    if not rows:
        raise FormatError(path, "no data rows after the header", line=first)
    picked = {}
    for name, (labels, factor) in TIMESERIES.items():
        label = next((l for l in labels if l in header), None)
        if label is None and name != "cycle":
            raise FormatError(path, f"expected a column {' or '.join(map(repr, labels))}", line=first - 1)
        if label is not None:
            picked[name] = (header.index(label), factor, label)
    three_electrode = "Ece/V" in header or "<Ece>/V" in header
    cell = "Ewe-Ece/V" if three_electrode and "Ewe-Ece/V" in header else "Ewe/V" if "Ewe/V" in header else "<Ewe>/V"
    if cell not in header:
        raise FormatError(path, "expected a voltage column 'Ewe/V' or '<Ewe>/V'", line=first - 1)
    picked["voltage_V"] = (header.index(cell), 1.0, cell)
    if three_electrode and cell == "Ewe-Ece/V":
        picked["ref_V"] = (header.index("Ewe/V"), 1.0, "Ewe/V")
    table = pd.DataFrame([[r[k] for k, _, _ in picked.values()] for r in rows], columns=list(picked))
    frame = pd.DataFrame()
    for name, (_, factor, label) in picked.items():
        values = pd.to_numeric(table[name].str.replace(",", ".", regex=False), errors="coerce")
        if values.isna().any():
            k = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise FormatError(path, f"expected a number, found {table[name].iloc[k]!r}", line=first + k, field_name=label)
        frame[name] = values.to_numpy() * factor
    if "cycle" in frame:
        frame["cycle"] = frame["cycle"].astype(np.int64) + (1 if frame["cycle"].min() == 0 else 0)
    return TimeSeries(frame, path, meta={"technique": "EC-Lab"})
