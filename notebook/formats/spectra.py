"""Impedance spectra from the files labs have: headerless three-column CSV
`frequency,Re Z,Im Z` (impedance.py's convention, also semicolon/decimal-comma),
BDF-labelled impedance tables (the station's own EIS export), Gamry `.DTA` (ZCURVE table),
ZPlot `.z` (with or without its header) and VersaStudio `.par` (EC-Lab `.mpt`:
biologic.py). All give Z in ohm with Im < 0 for capacitive points, frequencies in Hz,
one Spectrum per sweep where a file holds several; and the text decoding every text
reader shares (UTF-16, UTF-8, Latin-1)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from notebook.formats import bdf
from notebook.formats.bdf_columns import quantity as bdf_quantity
from notebook.formats.bounded_csv import check_rows, read_columns, read_header
from notebook.formats.common import FormatError, Spectrum
from notebook.formats.start_time import start_meta


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding) of a text file from an instrument PC: UTF-16 (with a byte-order
    mark, or without one when every other byte is NUL), UTF-8 (with or without its mark),
    else Latin-1, which instrument software writes (the 'µF' and '°' of EC-Lab and Gamry)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif len(data) >= 4 and data[1:64:2].count(0) > 0.9 * len(data[1:64:2]) and data[0:64:2].count(0) == 0:
        encoding = "utf-16-le"
    elif len(data) >= 4 and data[0:64:2].count(0) > 0.9 * len(data[0:64:2]) and data[1:64:2].count(0) == 0:
        encoding = "utf-16-be"
    else:
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def lines_of(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    return decode_text(data)[0].splitlines()


def parse_number(path: Path, text: str, line: int, field_name: str) -> float:
    """A finite number from a cell, a decimal comma allowed where the cell has no point."""
    text = text.strip()
    try:
        value = float(text.replace(",", ".") if "." not in text else text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        raise FormatError(path, f"expected a number, found {text[:40]!r}", line=line, field_name=field_name)
    return value


def spectrum(path: Path, f: list[float], z: list[complex], warnings: list[str], meta: dict) -> Spectrum:
    if not len(f):
        raise FormatError(path, "no impedance points found")
    frequency = np.asarray(f, dtype=float)
    bad = np.flatnonzero(~(frequency > 0))
    if bad.size:
        raise FormatError(path, f"frequency must be positive, found {frequency[bad[0]]:g} (point {bad[0] + 1})")
    return Spectrum(frequency, np.asarray(z, dtype=complex), path, warnings, meta)


def split_sweeps(frequency: np.ndarray, keys: list[np.ndarray] = ()) -> list[np.ndarray]:
    """Index arrays of the sweeps in a run of impedance points: a new sweep where any of
    `keys` (cycle, step...) changes, or where the frequency turns back against the
    direction the current sweep set with its first two points."""
    n = len(frequency)
    if n == 0:
        return []
    starts = {0}
    for key in keys:
        starts.update((np.flatnonzero(np.diff(np.asarray(key)) != 0) + 1).tolist())
    bounds = sorted(starts) + [n]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        step = np.sign(np.diff(frequency[a:b]))
        begin, direction = a, 0.0
        for k, s in enumerate(step, start=a + 1):
            if direction == 0.0:
                direction = s
            elif s == -direction:
                out.append(np.arange(begin, k))
                begin, direction = k, 0.0
        out.append(np.arange(begin, b))
    return out


def sweep_spectra(path: Path, f: list[float], z: list[complex], warnings: list[str], meta: dict,
                  keys: dict[str, list[float]] | None = None, split_on: tuple[str, ...] = ()) -> list[Spectrum]:
    """One Spectrum per sweep of the points (split_sweeps); `keys` holds per-point columns
    ("t_s", "cycle", "step") whose value at a sweep's first point goes into its meta, and
    those named in `split_on` also start a new sweep where they change."""
    first = spectrum(path, f, z, warnings, meta)          # checks every frequency once
    keys = {name: np.asarray(values, dtype=float) for name, values in (keys or {}).items()}
    out = []
    for rows in split_sweeps(first.frequency_hz, [keys[name] for name in split_on if name in keys]):
        sweep_meta = dict(meta)
        for name, values in keys.items():
            value = values[rows[0]]
            sweep_meta[name] = float(value) if name == "t_s" else int(value)
        out.append(Spectrum(first.frequency_hz[rows], first.z_ohm[rows], path, list(warnings), sweep_meta))
    return out


def _cells(line: str, separator: str | None) -> list[str]:
    return [c.strip() for c in line.split(separator)] if separator else line.split()


def read_eis_csv(path: str | Path) -> list[Spectrum]:
    """Headerless `frequency [Hz], Re Z [ohm], Im Z [ohm]` per line (impedance.py's
    layout), comma-separated, or semicolon-separated with decimal commas as a
    European-locale PC writes it; one spectrum per sweep."""
    path = Path(path)
    lines = lines_of(path)
    first = next((line for line in lines if line.strip()), "")
    separator = ";" if ";" in first else ","
    f, z = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = _cells(line, separator)
        if len(cells) != 3:
            raise FormatError(path, f"expected 3 {'semicolon' if separator == ';' else 'comma'}-separated numbers "
                              f"(frequency Hz, Re Z ohm, Im Z ohm), found {len(cells)} field(s)", line=number)
        values = [parse_number(path, c, number, name) for c, name in zip(cells, ("frequency", "Re Z", "Im Z"))]
        f.append(values[0])
        z.append(complex(values[1], values[2]))
    return sweep_spectra(path, f, z, [], {})


def _gamry_meta(path: Path, lines: list[str]) -> tuple[dict, list[str]]:
    """instrument, technique and start from a Gamry header's `KEY<TAB>TYPE<TAB>value` lines."""
    fields = {}
    for line in lines:
        cells = line.split("\t")
        if len(cells) >= 3 and cells[0] in ("TAG", "DATE", "TIME", "PSTAT"):
            fields.setdefault(cells[0], cells[2].strip())
        elif len(cells) >= 2 and cells[0] == "TAG":
            fields.setdefault("TAG", cells[1].strip())
    meta, warnings = {"technique": f"Gamry {fields.get('TAG', '')}".strip()}, []
    if fields.get("PSTAT"):
        meta["instrument"] = f"Gamry {fields['PSTAT']}"
    if fields.get("DATE") and fields.get("TIME"):
        found, warnings = start_meta(f"{fields['DATE']} {fields['TIME']}", ("%m/%d/%Y %H:%M:%S",),
                                     f"{path.name}, DATE/TIME", "Gamry writes month/day/year")
        meta.update(found)
    return meta, warnings


def read_gamry_dta(path: str | Path) -> list[Spectrum]:
    """The ZCURVE table of a Gamry Framework file: a names line, a units line, then
    indented rows (tabs, or spaces where the file was edited by hand) until the next
    block, which starts at the line's first column."""
    path = Path(path)
    lines = lines_of(path)
    start = next((k for k, line in enumerate(lines) if line.split("\t")[:2] == ["ZCURVE", "TABLE"]), None)
    if start is None:
        raise FormatError(path, "no 'ZCURVE<TAB>TABLE' line: not a Gamry EIS file")
    if len(lines) < start + 3:
        raise FormatError(path, "the file ends inside the ZCURVE table header: expected a line of column names "
                          "and a line of units after it", line=start + 1)
    names = lines[start + 1].split()
    try:
        kf, kr, ki = names.index("Freq"), names.index("Zreal"), names.index("Zimag")
    except ValueError:
        raise FormatError(path, "the ZCURVE header lacks Freq, Zreal or Zimag", line=start + 2) from None
    t = names.index("Time") if "Time" in names else None
    f, z, times = [], [], []
    for number, line in enumerate(lines[start + 3:], start=start + 4):
        if not line.strip() or not line[:1].isspace():
            break                              # the next block of the file begins
        cells = line.split()
        if len(cells) != len(names):
            raise FormatError(path, f"expected {len(names)} values, one per ZCURVE column, found {len(cells)}",
                              line=number)
        f.append(parse_number(path, cells[kf], number, "Freq"))
        z.append(complex(parse_number(path, cells[kr], number, "Zreal"),
                         parse_number(path, cells[ki], number, "Zimag")))
        if t is not None:
            times.append(parse_number(path, cells[t], number, "Time"))
    meta, warnings = _gamry_meta(path, lines[:start])
    return sweep_spectra(path, f, z, warnings, meta, {"t_s": times} if times else None)


ZPLOT_NAMES = ("Freq(Hz)", "Z'(a)", "Z''(b)")


def read_zplot(path: str | Path) -> list[Spectrum]:
    """ZPlot `.z`: a header ending in 'End Comments' with the column names on the line
    before it, then one tab-separated point per line; or, saved without that header
    (ZPlotW 'Raw Data'), a quoted line of space-separated names and comma-separated rows."""
    path = Path(path)
    lines = lines_of(path)
    if not lines or not (lines[0].startswith("ZPLOT") or lines[0].strip('"').startswith("ZPlot")):
        raise FormatError(path, "not a ZPlot file: expected 'ZPLOT2 ASCII' or '\"ZPlotW Data File' on line 1", line=1)
    end = next((k for k, line in enumerate(lines) if line.strip() == "End Comments"), None)
    meta, warnings, declared = {"technique": "ZPlot"}, [], None
    if end is not None and end > 0:
        names_at, first, separator = end - 1, end + 1, "\t"
        for number, line in enumerate(lines[:end], start=1):
            key, _, value = line.strip().partition(":")
            if key == "Data Points":
                try:
                    declared = int(value)
                except ValueError:
                    raise FormatError(path, f"expected a whole number of data points, found {value.strip()[:40]!r}",
                                      line=number, field_name="Data Points") from None
        date = next((l.split(":", 1)[1] for l in lines[:end] if l.strip().startswith("Date:")), "")
        time = next((l.split(":", 1)[1] for l in lines[:end] if l.strip().startswith("Time:")), "")
        if date.strip() and time.strip():
            found, warnings = start_meta(f"{date.strip()} {time.strip()}", ("%m-%d-%Y %H:%M:%S",),
                                         f"{path.name}, Date/Time", "ZPlot writes month-day-year")
            meta.update(found)
    else:
        names_at = next((k for k, line in enumerate(lines) if all(n in line for n in ZPLOT_NAMES)), None)
        if names_at is None:
            raise FormatError(path, "no 'End Comments' line before the data, nor a line naming the columns "
                              f"{', '.join(ZPLOT_NAMES)}")
        first, separator = names_at + 1, ","
        stamp = next((line.split() for line in lines[:names_at] if line.startswith("Date:") and "Time:" in line), None)
        if stamp and len(stamp) >= 4:          # 'Date: 12-17-2019    Time: 16:24:35'
            found, warnings = start_meta(f"{stamp[1]} {stamp[3]}", ("%m-%d-%Y %H:%M:%S",),
                                         f"{path.name}, Date/Time", "ZPlot writes month-day-year")
            meta.update(found)
    names = [c.strip() for c in lines[names_at].strip().strip('"').split(separator if separator == "\t" else None)]
    try:
        kf, kr, ki = (names.index(n) for n in ZPLOT_NAMES)
    except ValueError:
        raise FormatError(path, f"expected columns {', '.join(ZPLOT_NAMES)}", line=names_at + 1) from None
    f, z = [], []
    for number, line in enumerate(lines[first:], start=first + 1):
        if not line.strip():
            continue
        cells = _cells(line, separator)
        if len(cells) != len(names):
            raise FormatError(path, f"expected {len(names)} values, one per column name on line {names_at + 1}, "
                              f"found {len(cells)}", line=number)
        f.append(parse_number(path, cells[kf], number, "Freq(Hz)"))
        z.append(complex(parse_number(path, cells[kr], number, "Z'(a)"),
                         parse_number(path, cells[ki], number, "Z''(b)")))
    if declared is not None and declared != len(f):
        warnings.insert(0, f"{path.name}: the header declares {declared} data points, the file holds {len(f)}")
    return sweep_spectra(path, f, z, warnings, meta)


VERSASTUDIO_NAMES = ("Frequency(Hz)", "Z Real", "Z Imag")


def read_versastudio_par(path: str | Path) -> list[Spectrum]:
    """Princeton Applied Research VersaStudio `.par`: sections in `<Name>...</Name>`; each
    `<SegmentN>` holds a `Definition=` line of comma-separated column names (ending in a
    count that is not a column) and comma-separated rows. One spectrum per segment and sweep."""
    path = Path(path)
    lines = lines_of(path)
    sections: dict[str, dict[str, str]] = {}
    segments: list[tuple[int, int]] = []      # (Definition line index, end line index)
    k = 0
    while k < len(lines):
        tag = lines[k].strip()
        if tag.startswith("<Segment") and tag.endswith(">"):
            end = next((j for j in range(k + 1, len(lines)) if lines[j].strip() == "</" + tag[1:]), None)
            if end is None:
                raise FormatError(path, f"{tag} has no closing </{tag[1:]}", line=k + 1)
            definition = next((j for j in range(k + 1, end) if lines[j].startswith("Definition=")), None)
            if definition is None:
                raise FormatError(path, f"{tag} has no 'Definition=' line naming its columns", line=k + 1)
            segments.append((definition, end))
            k = end
        elif tag in ("<Instrument>", "<Experiment>"):
            end = next((j for j in range(k + 1, len(lines)) if lines[j].strip() == "</" + tag[1:]), len(lines))
            sections[tag] = dict(line.partition("=")[::2] for line in lines[k + 1:end])
            k = end
        k += 1
    if not segments:
        raise FormatError(path, "no <Segment> section: not a VersaStudio data file, or one without data")
    meta, warnings = {"technique": "VersaStudio"}, []
    instrument = sections.get("<Instrument>", {})
    if instrument.get("Type"):
        sn = f" (SN {instrument['SN']})" if instrument.get("SN") else ""
        meta["instrument"] = f"Princeton Applied Research {instrument['Type']}{sn}"
    experiment = sections.get("<Experiment>", {})
    if experiment.get("DateAcquired") and experiment.get("TimeAcquired"):
        found, warnings = start_meta(f"{experiment['DateAcquired']} {experiment['TimeAcquired']}",
                                     ("%A, %B %d, %Y %I:%M:%S %p",), f"{path.name}, DateAcquired/TimeAcquired",
                                     "VersaStudio writes its date in words")
        meta.update(found)
    out = []
    for number, (definition, end) in enumerate(segments, start=1):
        names = [c.strip() for c in lines[definition].partition("=")[2].split(",")]
        if names and names[-1].isdecimal():
            names.pop()                       # a count after the last name, not a column
        try:
            kf, kr, ki = (names.index(n) for n in VERSASTUDIO_NAMES)
        except ValueError:
            raise FormatError(path, f"expected columns {', '.join(VERSASTUDIO_NAMES)}", line=definition + 1) from None
        kt = names.index("Elapsed Time(s)") if "Elapsed Time(s)" in names else None
        f, z, times = [], [], []
        for line_no, line in enumerate(lines[definition + 1:end], start=definition + 2):
            if not line.strip():
                continue
            cells = [c.strip() for c in line.split(",")]
            if len(cells) != len(names):
                raise FormatError(path, f"expected {len(names)} comma-separated values, one per name on line "
                                  f"{definition + 1}, found {len(cells)}", line=line_no)
            f.append(parse_number(path, cells[kf], line_no, VERSASTUDIO_NAMES[0]))
            z.append(complex(parse_number(path, cells[kr], line_no, "Z Real"),
                             parse_number(path, cells[ki], line_no, "Z Imag")))
            if kt is not None:
                times.append(parse_number(path, cells[kt], line_no, "Elapsed Time(s)"))
        segment_meta = dict(meta, segment=number)
        out.extend(sweep_spectra(path, f, z, warnings, segment_meta, {"t_s": times} if times else None))
    return out


MAX_SPECTRUM_POINTS = 100_000   # a sweep has tens to hundreds of points; more is not one spectrum
MAX_SPECTRA = 10_000


def read_bdf_eis(path: str | Path) -> list[Spectrum]:
    """A BDF-labelled table of impedance points (`Frequency / Hz`, `Real Impedance / ohm`,
    `Imaginary Impedance / ohm`, as the station exports them), one spectrum per run of
    rows with the same `Step Count / 1` when it is there; `Test Time` (any BDF time unit)
    and `Cycle Count / 1` of a spectrum's first point go into its meta. Read in bounded
    memory (bounded_csv); a spectrum of more than MAX_SPECTRUM_POINTS points, or more
    than MAX_SPECTRA spectra, is refused."""
    path = Path(path)
    names = read_header(path, "a header with 'Frequency / Hz'")
    use: dict[int, tuple[str, float]] = {}
    for k, header in enumerate(names):
        found = (bdf.eis_name(header), 1.0) if bdf.eis_name(header) else bdf_quantity(header)
        if found and found[0] in (*bdf.EIS_COLUMNS, "t_s", "cycle", "step") \
                and found[0] not in {name for name, _ in use.values()}:
            use[k] = found
    header_of = {name: names[k] for k, (name, _) in use.items()}
    for name in bdf.EIS_COLUMNS:
        if name not in header_of:
            raise FormatError(path, f"missing column {bdf.EIS_COLUMNS[name][0]!r}", line=1)
    rows = check_rows(path, len(names))
    if rows == 0:
        raise FormatError(path, "the header has no data rows after it", line=2)
    arrays = read_columns(path, names, {k: name for k, (name, _) in use.items()}, rows)
    values = {}
    for k, (name, factor) in use.items():
        column = arrays[k] * factor
        bad = np.flatnonzero(~np.isfinite(column))
        if bad.size:
            found = "an empty value" if np.isnan(column[bad[0]]) else f"{column[bad[0]]}"
            raise FormatError(path, f"expected a finite number, found {found}", line=int(bad[0]) + 2,
                              field_name=header_of[name])
        values[name] = bdf.whole_numbers(path, column, header_of[name]) if name in ("step", "cycle") else column
    n = values["frequency_Hz"].size
    group = values.get("step", np.zeros(n, dtype=np.int64))
    starts = np.concatenate(([0], np.flatnonzero(np.diff(group)) + 1))
    ends = np.append(starts[1:], n)
    if starts.size > MAX_SPECTRA:
        raise FormatError(path, f"{starts.size:,} spectra (changes of {header_of.get('step', 'step')!r}); at most "
                          f"{MAX_SPECTRA:,} are read from one file")
    big = np.flatnonzero(ends - starts > MAX_SPECTRUM_POINTS)
    if big.size:
        a, b = int(starts[big[0]]), int(ends[big[0]])
        raise FormatError(path, f"one spectrum of {b - a:,} points (lines {a + 2}-{b + 1}); a spectrum has at most "
                          f"{MAX_SPECTRUM_POINTS:,}: give each sweep its own 'Step Count / 1'", line=a + 2)
    out = []
    for a, b in zip(starts, ends):
        meta = {"technique": "BDF", "step": int(group[a])}
        meta.update({name: values[name][a].item() for name in ("t_s", "cycle") if name in values})
        out.append(spectrum(path, values["frequency_Hz"][a:b],
                            values["z_real_ohm"][a:b] + 1j * values["z_imag_ohm"][a:b], [], meta))
    return out
