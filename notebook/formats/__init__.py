"""File formats of other tools, read into arrays and DataFrames for the analysis and
for notebook import (notebook/importer.py): BDF CSV, the Neware nested CSV export,
EC-Lab `.mpt` and `.mpr` (optional galvani) and BDF-labelled Parquet for time series;
headerless three-column CSV, BDF-labelled EIS CSV, EC-Lab `.mpt`/`.mpr`, Gamry `.DTA`
and ZPlot `.z` for impedance spectra. A bad file raises FormatError naming the file, the line or
field, and what was expected there."""
from __future__ import annotations

from pathlib import Path

from notebook.formats.bdf import looks_like_bdf, read_bdf
from notebook.formats.biologic import read_mpr, read_mpt_spectrum, read_mpt_timeseries
from notebook.formats.common import FormatError, ReaderMissing, Spectrum, TimeSeries
from notebook.formats.neware import looks_like_neware, read_neware_csv
from notebook.formats.parquet import read_parquet
from notebook.formats.spectra import read_eis_csv, read_gamry_dta, read_zplot

__all__ = ["FormatError", "ReaderMissing", "Spectrum", "TimeSeries", "read_timeseries", "read_spectrum", "read_bdf",
           "read_neware_csv", "read_mpt_timeseries", "read_mpt_spectrum", "read_eis_csv", "read_gamry_dta",
           "read_zplot", "read_mpr", "read_parquet"]

SPECTRUM_READERS = {".csv": read_eis_csv, ".mpt": read_mpt_spectrum, ".dta": read_gamry_dta, ".z": read_zplot}


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "no such file" if not path.exists() else "not a file")
    return path


def read_timeseries(path: str | Path, time_bug: str = "repair") -> TimeSeries:
    """A cycling record from a BDF CSV, a Neware nested CSV, an EC-Lab .mpt or .mpr
    file, or a Parquet file with BDF labels."""
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix == ".mpt":
        return read_mpt_timeseries(path)
    if suffix == ".mpr":
        data = read_mpr(path)
        if isinstance(data, Spectrum):
            raise FormatError(path, "an impedance file (PEIS/GEIS); expected a cycling record (GCPL)")
        return data
    if suffix == ".parquet":
        return read_parquet(path)
    if suffix != ".csv":
        raise FormatError(path, f"unknown time-series format {suffix!r}; expected a BDF or Neware .csv, an EC-Lab "
                          ".mpt or .mpr, or a BDF .parquet")
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        first = fh.readline().strip()
    if looks_like_neware(first):
        return read_neware_csv(path)
    if looks_like_bdf(first):
        return read_bdf(path, time_bug=time_bug)
    raise FormatError(path, f"expected a BDF header ('Test Time / s,Voltage / V,Current / A' or machine names such as "
                      f"'test_time_second') or a Neware export ('Cycle Index,...'), found {first[:60]!r}", line=1)


def read_spectrum(path: str | Path) -> Spectrum:
    """An impedance spectrum from .csv (headerless f, Re Z, Im Z), .mpt, .DTA or .z."""
    path = _existing(path)
    if path.suffix.lower() == ".mpr":
        data = read_mpr(path)
        if not isinstance(data, Spectrum):
            raise FormatError(path, "a cycling record; expected an impedance file (PEIS/GEIS)")
        return data
    reader = SPECTRUM_READERS.get(path.suffix.lower())
    if reader is None:
        raise FormatError(path, f"unknown impedance format {path.suffix!r}; expected .csv, .mpt, .mpr, .DTA or .z")
    return reader(path)
