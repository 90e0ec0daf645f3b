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

from notebook.formats.arbin import (looks_like_arbin_csv, looks_like_arbin_xlsx, read_arbin_csv, read_arbin_res,
                                    read_arbin_xlsx)
from notebook.formats.bdf import looks_like_bdf, looks_like_bdf_eis, read_bdf
from notebook.formats.biologic import read_mpr, read_mpt, read_mpt_timeseries
from notebook.formats.common import FormatError, ReaderMissing, Spectrum, TimeSeries, is_number
from notebook.formats.eclab_text import MAGIC as EC_LAB_MAGIC, looks_like_mpt_names
from notebook.formats.landt import looks_like_landt, looks_like_landt_xlsx, read_landt_csv, read_landt_xlsx
from notebook.formats.maccor import looks_like_maccor, read_maccor_txt
from notebook.formats.neware import looks_like_neware, read_neware_csv
from notebook.formats.neware_binary import read_neware_binary
from notebook.formats.neware_flat import looks_like_neware_flat, read_neware_flat_csv
from notebook.formats.parquet import read_parquet
from notebook.formats.spectra import (decode_text, read_bdf_eis, read_eis_csv, read_gamry_dta, read_versastudio_par,
                                      read_zplot)

__all__ = ["FormatError", "ReaderMissing", "Spectrum", "TimeSeries", "read_any", "read_timeseries", "read_spectrum",
           "read_bdf", "read_neware_csv", "read_mpt_timeseries", "read_mpt", "read_eis_csv", "read_gamry_dta",
           "read_zplot", "read_versastudio_par", "read_mpr", "read_parquet", "FORMATS"]

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
        # splitlines: a lone CR ends a line too (old Mac files, and what the csv module chokes on)
        lines = self.text.lstrip("\ufeff").splitlines()
        return lines[0].strip() if lines else ""


@dataclass(frozen=True)
class Format:
    name: str
    matches: Callable[[Head], bool]
    read: Callable[..., TimeSeries | list[Spectrum]]   # read(path, time_bug=...) for those that take it


def _mpr(path: Path) -> TimeSeries | list[Spectrum]:
    data = read_mpr(path)
    return [data] if isinstance(data, Spectrum) else data


def _three_numbers(head: Head) -> bool:
    """impedance.py's headerless `f,Re,Im` rows, or `f;Re;Im` with decimal commas."""
    line = head.first_line
    cells = line.split(";") if ";" in line else line.split(",")
    return len(cells) == 3 and all(is_number(c.strip().replace(",", ".")) for c in cells)


# Tried in this order; the first whose test passes reads the file.
FORMATS: list[Format] = [
    Format("ec-lab-mpr", lambda h: h.suffix == ".mpr", _mpr),
    # EC-Lab text: a pure PEIS/GEIS export gives spectra, a cycling one a time series (with
    # the spectra of its EIS steps); the one reader decides from the header and the rows
    Format("ec-lab-mpt", lambda h: h.suffix in (".mpt", ".txt") and h.first_line.startswith(EC_LAB_MAGIC), read_mpt),
    Format("ec-lab-mpt-headerless", lambda h: h.suffix in (".mpt", ".txt") and looks_like_mpt_names(h.first_line),
           read_mpt),
    Format("ec-lab-mpt", lambda h: h.suffix == ".mpt", read_mpt),     # not EC-Lab after all: its error says so
    Format("gamry-dta", lambda h: h.suffix == ".dta", read_gamry_dta),
    Format("zplot", lambda h: h.suffix == ".z" and h.first_line.startswith("ZPLOT"), read_zplot),
    Format("zplot-headerless", lambda h: h.suffix == ".z", read_zplot),   # its error says what a ZPlot file needs
    Format("versastudio-par", lambda h: h.suffix == ".par", read_versastudio_par),
    Format("bdf-parquet", lambda h: h.suffix == ".parquet", read_parquet),   # `.bdf.parquet` and our export
    Format("bdf-eis-csv", lambda h: h.suffix == ".csv" and looks_like_bdf_eis(h.first_line), read_bdf_eis),
    Format("eis-csv", lambda h: h.suffix == ".csv" and _three_numbers(h), read_eis_csv),
    Format("arbin-res", lambda h: h.suffix == ".res", read_arbin_res),     # not Access after all: its error says so
    Format("arbin-csv", lambda h: h.suffix == ".csv" and looks_like_arbin_csv(h.first_line), read_arbin_csv),
    Format("arbin-xlsx", lambda h: h.suffix == ".xlsx" and h.raw.startswith(b"PK") and looks_like_arbin_xlsx(h.path),
           read_arbin_xlsx),
    Format("maccor-txt", lambda h: h.suffix in (".txt", ".csv") and looks_like_maccor(h.text), read_maccor_txt),
    Format("neware-nda", lambda h: h.suffix == ".nda", read_neware_binary),
    Format("neware-ndax", lambda h: h.suffix == ".ndax", read_neware_binary),
    # before the nested export: a flat header may also begin "Cycle Index,"
    Format("neware-flat-csv", lambda h: h.suffix == ".csv" and looks_like_neware_flat(h.first_line),
           read_neware_flat_csv),
    Format("neware-csv", lambda h: h.suffix == ".csv" and looks_like_neware(h.first_line), read_neware_csv),
    Format("landt-csv", lambda h: h.suffix == ".csv" and looks_like_landt(h.text), read_landt_csv),
    Format("landt-xlsx", lambda h: h.suffix == ".xlsx" and looks_like_landt_xlsx(h.path), read_landt_xlsx),
    Format("bdf-csv", lambda h: h.suffix in (".csv", ".bdf") and looks_like_bdf(h.first_line), read_bdf),
]

TIME_BUG_READERS = {"bdf-csv", "bdf-parquet"}   # formats whose reader takes time_bug=


def _head(path: Path) -> Head:
    with open(path, "rb") as fh:
        raw = fh.read(HEAD_BYTES)
    text, _ = decode_text(raw)         # UTF-16 exports from European lab PCs too, not mojibake
    return Head(path, path.suffix.lower(), raw, text)


def _csv_kind(head: Head) -> str:
    """What an unclaimed CSV file is, when that explains the refusal: its encoding and
    separator as a European-locale PC writes them."""
    _, encoding = decode_text(head.raw)
    notes = [f"{encoding.upper()} text"] if encoding.startswith("utf-16") else []
    if ";" in head.first_line and head.first_line.count(";") >= head.first_line.count(","):
        notes.append("semicolon-separated, as a European-locale spreadsheet writes it: SolidStack reads semicolons "
                     "and decimal commas only in three-column impedance CSV, so save BDF with commas")
    return f" ({'; '.join(notes)})" if notes else ""


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
        return "eis-csv", read_eis_csv(path)
    known = ", ".join(sorted({f.name for f in FORMATS}))
    if head.suffix == ".csv":
        raise FormatError(path, "expected a BDF header ('Test Time / s,Voltage / V,Current / A' or machine names "
                          f"such as 'test_time_second') or the header of another format SolidStack reads ({known}), "
                          f"found {head.first_line[:60]!r}{_csv_kind(head)}", line=1)
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
