"""File formats of other tools, read into arrays and DataFrames for the analysis and
for notebook import (notebook/importer.py). A bad file raises FormatError naming the
file, the line or field, and what was expected there.

`read_any` is the one dispatch: FORMATS lists, in the order they are tried, each format's
name, a test on the file's suffix and first bytes, and its reader. A reader returns a
TimeSeries (which may carry spectra recorded inside it) or a list of Spectrum objects."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from notebook.formats.bdf import looks_like_bdf, looks_like_bdf_eis, read_bdf
from notebook.formats.biologic import read_mpr, read_mpt_spectrum, read_mpt_table, read_mpt_timeseries
from notebook.formats.common import FormatError, ReaderMissing, Spectrum, TimeSeries, is_number
from notebook.formats.neware import looks_like_neware, read_neware_csv
from notebook.formats.parquet import read_parquet
from notebook.formats.spectra import read_bdf_eis, read_eis_csv, read_gamry_dta, read_zplot

__all__ = ["FormatError", "ReaderMissing", "Spectrum", "TimeSeries", "read_any", "read_timeseries", "read_spectrum",
           "read_bdf", "read_neware_csv", "read_mpt_timeseries", "read_mpt_spectrum", "read_eis_csv", "read_gamry_dta",
           "read_zplot", "read_mpr", "read_parquet", "FORMATS"]

HEAD_BYTES = 64 * 1024   # what a sniffer sees of a file: enough for any header block we know


@dataclass(frozen=True)
class Head:
    """What the sniffers look at: the suffix (lower case), the first HEAD_BYTES as bytes,
    and those bytes decoded leniently as text with its first line."""
    path: Path
    suffix: str
    raw: bytes
    text: str

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].lstrip("\ufeff").strip()


@dataclass(frozen=True)
class Format:
    name: str
    matches: Callable[[Head], bool]
    read: Callable[..., TimeSeries | list[Spectrum]]   # read(path, time_bug=...) for those that take it


def _mpt_is_spectrum(head: Head) -> bool:
    header, _, _ = read_mpt_table(head.path)
    return "freq/Hz" in header


def _mpr(path: Path) -> TimeSeries | list[Spectrum]:
    data = read_mpr(path)
    return [data] if isinstance(data, Spectrum) else data


def _three_numbers(head: Head) -> bool:
    cells = head.first_line.split(",")
    return len(cells) == 3 and all(is_number(c) for c in cells)


# Tried in this order; the first whose test passes reads the file.
FORMATS: list[Format] = [
    Format("ec-lab-mpr", lambda h: h.suffix == ".mpr", _mpr),
    Format("ec-lab-mpt", lambda h: h.suffix == ".mpt" and _mpt_is_spectrum(h), lambda p: [read_mpt_spectrum(p)]),
    Format("ec-lab-mpt", lambda h: h.suffix == ".mpt", read_mpt_timeseries),
    Format("gamry-dta", lambda h: h.suffix == ".dta", lambda p: [read_gamry_dta(p)]),
    Format("zplot", lambda h: h.suffix == ".z", lambda p: [read_zplot(p)]),
    Format("parquet", lambda h: h.suffix == ".parquet", read_parquet),
    Format("bdf-eis-csv", lambda h: h.suffix == ".csv" and looks_like_bdf_eis(h.first_line), read_bdf_eis),
    Format("eis-csv", lambda h: h.suffix == ".csv" and _three_numbers(h), lambda p: [read_eis_csv(p)]),
    Format("neware-csv", lambda h: h.suffix == ".csv" and looks_like_neware(h.first_line), read_neware_csv),
    Format("bdf-csv", lambda h: h.suffix == ".csv" and looks_like_bdf(h.first_line), read_bdf),
]

TIME_BUG_READERS = {"bdf-csv"}   # formats whose reader takes time_bug=


def _head(path: Path) -> Head:
    with open(path, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
    return Head(path, path.suffix.lower(), raw, raw.decode("utf-8", errors="replace"))


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "no such file" if not path.exists() else "not a file")
    return path


def read_any(path: str | Path, time_bug: str = "repair", *, expect: str = "") -> tuple[str, TimeSeries | list[Spectrum]]:
    """(format name, a time series or the spectra) of a file, told apart by its suffix and
    content. A CSV file that no format claims is read as what the caller `expect`s
    ("spectrum": three numbers a row; "timeseries": BDF), so that its error says what that
    format needed."""
    path = _existing(path)
    head = _head(path)
    for fmt in FORMATS:
        if fmt.matches(head):
            data = fmt.read(path, time_bug=time_bug) if fmt.name in TIME_BUG_READERS else fmt.read(path)
            return fmt.name, data
    if head.suffix == ".csv" and expect == "spectrum":
        return "eis-csv", [read_eis_csv(path)]
    known = ", ".join(sorted({f.name for f in FORMATS}))
    if head.suffix == ".csv":
        raise FormatError(path, "expected a BDF header ('Test Time / s,Voltage / V,Current / A' or machine names "
                          f"such as 'test_time_second') or the header of another format SolidStack reads ({known}), "
                          f"found {head.first_line[:60]!r}", line=1)
    raise FormatError(path, f"unknown format {path.suffix!r}; SolidStack reads {known}")


def read_timeseries(path: str | Path, time_bug: str = "repair") -> TimeSeries:
    """A cycling record from any format read_any knows."""
    _, data = read_any(path, time_bug, expect="timeseries")
    if not isinstance(data, TimeSeries):
        raise FormatError(path, "an impedance file; expected a cycling record")
    return data


def read_spectrum(path: str | Path) -> Spectrum:
    """The one impedance spectrum of a file (the first sweep of several: read_any gives them all)."""
    _, data = read_any(path, expect="spectrum")
    spectra = data.spectra if isinstance(data, TimeSeries) else data
    if not spectra:
        raise FormatError(path, "a cycling record; expected an impedance file")
    return spectra[0]
