"""EC-Lab (BioLogic) text exports, `.mpt`: a header whose second line gives its length,
then a tab-separated table. PEIS/GEIS files become spectra; GCPL and other
galvanostatic techniques become time series (three-electrode layouts with `Ece/V`
give the reference channel). The binary `.mpr` is read through galvani (GPL-3) when it
is installed, an optional extra (requirements-mpr.txt) that the station does not bundle;
without it the message says so and points to the `.mpt` text export."""
from __future__ import annotations

import importlib
import struct
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError, ReaderMissing, Spectrum, TimeSeries
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


# time-series columns: canonical name -> (EC-Lab headers in order of preference, factor to SI)
TIMESERIES = {
    "t_s": (("time/s",), 1.0),
    "current_A": (("I/mA", "<I>/mA", "control/V/mA", "control/mA"), 1e-3),
}
ELECTRODES = ("Ewe/V", "<Ewe>/V", "Ece/V", "<Ece>/V", "Ewe-Ece/V")
COUNTERS = ("cycle number", "half cycle", "Ns")


def read_mpt_timeseries(path: str | Path) -> TimeSeries:
    """Time, current and cell voltage of a galvanostatic export (see galvanostatic())."""
    path = Path(path)
    header, rows, first = read_mpt_table(path)
    if not rows:
        raise FormatError(path, "no data rows after the header", line=first)
    wanted = [name for name in header if name in ELECTRODES + COUNTERS
              or any(name in labels for labels, _ in TIMESERIES.values())]
    table = pd.DataFrame([[r[header.index(name)] for name in wanted] for r in rows], columns=wanted)
    columns = {}
    for name in wanted:
        values = pd.to_numeric(table[name].str.replace(",", ".", regex=False), errors="coerce")
        if values.isna().any():
            k = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise FormatError(path, f"expected a number, found {table[name].iloc[k]!r}", line=first + k, field_name=name)
        columns[name] = values.to_numpy()
    return galvanostatic(path, columns, where=first - 1)


def galvanostatic(path: Path, columns: dict[str, np.ndarray], where: int | None = None) -> TimeSeries:
    """A time series from EC-Lab's columns (text or binary file alike). In a
    three-electrode layout (an `Ece/V` column) the cell voltage is `Ewe-Ece/V` (or Ewe - Ece)
    and `Ewe/V`, the working electrode against the reference, becomes ref_V; otherwise
    `Ewe/V` is the cell voltage. Cycles come from `cycle number`, else from `half cycle`
    (two half cycles a cycle); EC-Lab's sequence number `Ns` becomes the step."""
    frame = pd.DataFrame()
    for name, (labels, factor) in TIMESERIES.items():
        label = next((l for l in labels if l in columns), None)
        if label is None:
            raise FormatError(path, f"expected a column {' or '.join(map(repr, labels))}", line=where)
        frame[name] = np.asarray(columns[label], dtype=float) * factor
    ewe = next((columns[l] for l in ("Ewe/V", "<Ewe>/V") if l in columns), None)
    ece = next((columns[l] for l in ("Ece/V", "<Ece>/V") if l in columns), None)
    if ewe is None:
        raise FormatError(path, "expected a voltage column 'Ewe/V' or '<Ewe>/V'", line=where)
    if ece is not None:
        cell = columns.get("Ewe-Ece/V")
        frame["voltage_V"] = np.asarray(ewe - ece if cell is None else cell, dtype=float)
        frame["ref_V"] = np.asarray(ewe, dtype=float)
    else:
        frame["voltage_V"] = np.asarray(ewe, dtype=float)
    if "cycle number" in columns:
        cycle = np.asarray(columns["cycle number"]).astype(np.int64)
        frame["cycle"] = cycle + (1 if cycle.min() == 0 else 0)
    elif "half cycle" in columns:
        frame["cycle"] = np.asarray(columns["half cycle"]).astype(np.int64) // 2 + 1
    if "Ns" in columns:
        frame["step"] = np.asarray(columns["Ns"]).astype(np.int64)
    return TimeSeries(frame, path, meta={"technique": "EC-Lab"})


GALVANI_MISSING = ("reading EC-Lab binary .mpr files needs the optional reader galvani (GPL-3), which is not "
                   "installed{where}: install it with `pip install -r requirements-mpr.txt`, or export the file "
                   "from EC-Lab as text (.mpt) and import that")


def read_mpr(path: str | Path) -> TimeSeries | Spectrum:
    """An EC-Lab binary file through galvani, when it is installed: PEIS/GEIS files
    (`freq/Hz`, `Re(Z)/Ohm` and `-Im(Z)/Ohm` columns) become a spectrum, anything else
    (GCPL, which may carry |Z| columns too) a time series."""
    path = Path(path)
    try:
        # Imported by name, never at module level: galvani is GPL-3, an optional extra that
        # neither requirements.txt nor the packaged build carries (PyInstaller does not follow this).
        biologic = importlib.import_module("galvani.BioLogic")
    except ModuleNotFoundError:
        frozen = " in this packaged build" if getattr(sys, "frozen", False) else ""
        raise ReaderMissing(path, GALVANI_MISSING.format(where=frozen)) from None
    try:
        data = biologic.MPRfile(str(path)).data
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror or exc}") from None
    except (ValueError, NotImplementedError, KeyError, IndexError, struct.error) as exc:
        raise FormatError(path, f"not a readable EC-Lab .mpr file (galvani: {exc})") from None
    columns = {name: np.asarray(data[name]) for name in data.dtype.names}
    if {"freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"} <= set(columns):
        z = columns["Re(Z)/Ohm"].astype(float) - 1j * columns["-Im(Z)/Ohm"].astype(float)
        return spectrum(path, list(columns["freq/Hz"].astype(float)), list(z), [], {"technique": "EC-Lab"})
    if len(data) == 0:
        raise FormatError(path, "the file holds no data points")
    return galvanostatic(path, columns)
