"""Arbin cycler files: the MITS Pro `.res` database (an MS Access file, read in pure
Python through access-parser so that no system tool is needed) and the CSV and xlsx
exports of the same records (`Test_Time(s)` or `Test Time (s)`, `Current(A)`,
`Charge_Capacity(Ah)`..., units in the names).

Arbin's current is positive on charge, as ours. Its `Charge_Capacity` and
`Discharge_Capacity` columns are the instrument's charge counters: both count up from 0
through a cycle and restart at the next, and they are the reference (TimeSeries.dq_Ah)
the integrated current is checked against. Their values at each cycle's last record
are the per-cycle table the run keeps (meta["vendor_cycles"])."""
from __future__ import annotations

import csv
import logging
import re
import struct
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from access_parser import AccessParser
from construct import ConstructError
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from notebook.formats import bounded_csv
from notebook.formats.access_rows import numeric_columns
from notebook.formats.common import FormatError, TimeSeries
from notebook.formats.counters import per_step_counter_dq, step_starts
from notebook.formats.start_time import start_meta

# Arbin's own names, reduced by _key (lower case, no spaces or underscores) -> the units
# each may carry in brackets, with their factors to SI
UNITS = {
    "datapoint": {"": 1.0}, "cycleindex": {"": 1.0}, "stepindex": {"": 1.0},
    "testtime": {"s": 1.0, "min": 60.0, "h": 3600.0},
    "current": {"a": 1.0, "ma": 1e-3, "ua": 1e-6, "µa": 1e-6},
    "voltage": {"v": 1.0, "mv": 1e-3},
    "chargecapacity": {"ah": 1.0, "mah": 1e-3}, "dischargecapacity": {"ah": 1.0, "mah": 1e-3},
    "chargeenergy": {"wh": 1.0, "mwh": 1e-3}, "dischargeenergy": {"wh": 1.0, "mwh": 1e-3},
    "auxtemperature1": {"c": 1.0, "°c": 1.0, "degc": 1.0},
}
REQUIRED = ("datapoint", "testtime", "current", "voltage", "cycleindex", "stepindex", "chargecapacity",
            "dischargecapacity")
DATE_TIME = "datetime"
COUNTER = "Charge_Capacity, Discharge_Capacity"
# month/day/year first, as Arbin (US software) writes; day/month only where the test's span says so
DATE_FORMATS = ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S",
                "%d/%m/%Y %H:%M:%S.%f", "%d/%m/%Y %H:%M:%S")
EXPECTED_EXPORT = ("an Arbin export header ('Data_Point,Date_Time,Test_Time(s),...,Current(A),Voltage(V),"
                   "Charge_Capacity(Ah),Discharge_Capacity(Ah),...')")

# .res tables
NORMAL_TABLE, GLOBAL_TABLE = "Channel_Normal_Table", "Global_Table"
RES_COLUMNS = {"Data_Point": "datapoint", "Test_Time": "testtime", "Current": "current", "Voltage": "voltage",
               "Cycle_Index": "cycleindex", "Step_Index": "stepindex", "Charge_Capacity": "chargecapacity",
               "Discharge_Capacity": "dischargecapacity", "Charge_Energy": "chargeenergy",
               "Discharge_Energy": "dischargeenergy"}
ACCESS_MAGIC = (b"Standard Jet DB", b"Standard ACE DB")
OLE_EPOCH = datetime(1899, 12, 30)       # Access dates count days from here
# access-parser logs each damaged page it meets; the damage is reported here, in one line
logging.getLogger("access_parser").setLevel(logging.CRITICAL)


def _key(name: str) -> tuple[str, str]:
    """('testtime', 's') from 'Test_Time(s)' or 'Test Time (s)'."""
    compact = re.sub(r"[\s_]", "", name.strip().lstrip("\ufeff")).lower()
    match = re.fullmatch(r"(.*?)\((.*)\)", compact)
    return (match.group(1), match.group(2)) if match else (compact, "")


def looks_like_arbin_header(names: list[str]) -> bool:
    return set(REQUIRED) <= {_key(name)[0] for name in names}


def looks_like_arbin_csv(first_line: str) -> bool:
    return looks_like_arbin_header(next(csv.reader([first_line.lstrip("\ufeff")]), []))


def looks_like_arbin_xlsx(path: Path) -> bool:
    """An xlsx workbook with a sheet headed by Arbin's record columns; a damaged or
    foreign workbook is not claimed (read_any then names the formats it knows)."""
    try:
        return bool(_xlsx_data_sheets(path))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return False


def _columns(path: Path, names: list[str], line: int | None = 1) -> dict[str, tuple[int, float]]:
    """{quantity: (position, factor to SI)} of the columns this module reads."""
    found: dict[str, tuple[int, float]] = {}
    for k, name in enumerate(names):
        base, unit = _key(name)
        if base not in UNITS or base in found:
            continue
        factors = UNITS[base]
        if unit not in factors:
            raise FormatError(path, f"unit {unit!r} of column {name!r} is not one SolidStack reads "
                              f"({', '.join(u or 'none' for u in factors)})", line=line, field_name=name)
        found[base] = (k, factors[unit])
    missing = [m for m in REQUIRED if m not in found]
    if missing:
        raise FormatError(path, f"the header lacks {', '.join(missing)}; expected {EXPECTED_EXPORT}", line=line)
    return found


def _no_place(k: int) -> tuple[str, int | None]:
    return f"record {k + 1}: ", None


def _series(path: Path, values: dict[str, np.ndarray], meta: dict, warnings: list[str],
            place: Callable[[int], tuple[str, int | None]] = _no_place) -> TimeSeries:
    """The TimeSeries of Arbin records given as {quantity key: SI values} in file order.
    place(k) says where record k is, for errors: (text naming it, file line or None)."""
    for key in REQUIRED:
        bad = ~np.isfinite(values[key])
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            prefix, line = place(k)
            raise FormatError(path, f"{prefix}expected a number in {key!r}, found none", line=line)
    points = values["datapoint"]
    if points.size == 0:
        raise FormatError(path, "no records; expected at least one row of data")
    t = values["testtime"]
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        k = int(back[0]) + 1
        prefix, line = place(k)
        raise FormatError(path, f"{prefix}test time goes back from {t[k - 1]:g} s to {t[k]:g} s at data point "
                          f"{points[k]:.0f}; expected it to rise through the file", line=line)
    cycle = values["cycleindex"].astype(np.int64)
    charge, discharge = values["chargecapacity"], values["dischargecapacity"]
    # a restart shows as a new cycle, or as a counter that falls
    restart = step_starts(cycle)
    restart[1:] |= (np.diff(charge) < 0) | (np.diff(discharge) < 0)
    frame = pd.DataFrame({"t_s": t, "current_A": values["current"], "voltage_V": values["voltage"],
                          "cycle": cycle, "step": values["stepindex"].astype(np.int64)})
    if "auxtemperature1" in values:
        frame["temperature_degC"] = values["auxtemperature1"]
    frame["dq_Ah"] = per_step_counter_dq(charge, discharge, restart)
    ends = np.concatenate((np.flatnonzero(np.diff(cycle)), [cycle.size - 1]))
    vendor = pd.DataFrame({"cycle": cycle[ends], "charge_mAh": charge[ends] * 1e3,
                           "discharge_mAh": discharge[ends] * 1e3})
    for key, name in (("chargeenergy", "charge_Wh"), ("dischargeenergy", "discharge_Wh")):
        if key in values:
            vendor[name] = values[key][ends]
    meta = {**meta, "counter": COUNTER, "vendor_cycles": vendor}
    return TimeSeries(frame, path, warnings, meta)


def _started(path: Path, first: object, last: object, t_s: np.ndarray, source: str) -> tuple[dict, list[str]]:
    """Start-time meta from the first and last records' wall-clock stamps (text or
    datetime) and their test times: the first stamp less its test time. Text is read
    month/day/year as Arbin writes it, unless only day/month fits the span of the test."""
    span = float(t_s[-1] - t_s[0])
    best, error = None, np.inf
    for fmt in DATE_FORMATS:
        a, b = _parse_stamp(first, fmt), _parse_stamp(last, fmt)
        if a is not None and b is not None and abs((b - a).total_seconds() - span) < error - 1.0:
            best, error = a, abs((b - a).total_seconds() - span)
    if best is None:
        return {}, [f"{path.name}, {source}: date {str(first).strip()[:40]!r} not understood (month/day/year "
                    "expected); the run's start is not taken from the file"]
    start = best - timedelta(seconds=float(t_s[0]))
    return start_meta(start.strftime("%Y-%m-%d %H:%M:%S.%f"), ("%Y-%m-%d %H:%M:%S.%f",), f"{path.name}, {source}",
                      "the first record's stamp less its test time")


def _parse_stamp(value: object, fmt: str) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.strptime(str(value).strip(), fmt)
    except ValueError:
        return None


def _last_row(path: Path) -> list[str]:
    """The last non-empty row of a CSV file, read from its end."""
    with open(path, "rb") as fh:
        fh.seek(max(0, fh.seek(0, 2) - bounded_csv.MAX_LINE_BYTES))
        tail = fh.read().decode("utf-8", errors="replace")
    last = next(line for line in reversed(tail.splitlines()) if line.strip())
    return next(csv.reader([last]))


# ---- .res --------------------------------------------------------------------------------

def read_arbin_res(path: str | Path) -> TimeSeries:
    """An Arbin MITS Pro `.res` file: records from Channel_Normal_Table, the test's start,
    name, channel and software from Global_Table."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(32)
        size = path.stat().st_size
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    if head[4:19] not in ACCESS_MAGIC:
        raise FormatError(path, "not an MS Access database (no 'Standard Jet DB' header); expected an Arbin "
                          "MITS Pro .res file")
    page = 0x800 if head[20] == 0 else 0x1000     # Jet 3 pages are 2 KiB, later ones 4 KiB
    if size % page:
        raise FormatError(path, f"truncated: {size:,} bytes is not a whole number of {page:,}-byte database pages")
    damaged = (struct.error, KeyError, IndexError, ValueError, ConstructError, UnicodeDecodeError)
    try:
        db = AccessParser(str(path))
        tables = {name: _res_table(path, db, name) for name in (NORMAL_TABLE, GLOBAL_TABLE)}
    except FormatError:
        raise
    except damaged as exc:
        raise FormatError(path, f"damaged or truncated database ({type(exc).__name__}: {exc})") from None
    normal, info = tables[NORMAL_TABLE], tables[GLOBAL_TABLE]
    tests = sorted({int(v) for v in normal.get("Test_ID", [])})
    if len(tests) > 1:
        raise FormatError(path, f"holds {len(tests)} tests (Test_ID {tests}); SolidStack imports one test a file",
                          field_name="Test_ID")
    missing = [name for name in RES_COLUMNS if name not in normal and RES_COLUMNS[name] in REQUIRED]
    if missing:
        raise FormatError(path, f"{NORMAL_TABLE} lacks {', '.join(missing)}")
    order = np.argsort(np.asarray(normal["Data_Point"], dtype=float), kind="stable")
    values = {key: np.asarray(normal[name], dtype=float)[order] for name, key in RES_COLUMNS.items() if name in normal}
    gaps = np.flatnonzero(np.diff(values["datapoint"]) != 1)
    if gaps.size:
        k = int(gaps[0])
        raise FormatError(path, f"data point {values['datapoint'][k]:.0f} is followed by "
                          f"{values['datapoint'][k + 1]:.0f}: records are missing (a damaged file)",
                          field_name="Data_Point")
    meta, warnings = _res_meta(path, info, tests[0] if tests else None)
    return _series(path, values, meta, warnings)


def _res_table(path: Path, db, name: str) -> dict[str, list | np.ndarray]:
    """One table's columns, after checking that every row its definition counts was read:
    access-parser skips pages it cannot find, so a truncated file would lose rows quietly."""
    if name not in db.catalog:
        raise FormatError(path, f"an Access database without Arbin's {name}; expected an Arbin MITS Pro .res file")
    table = db.get_table(name)
    if table is None:
        raise FormatError(path, f"the definition of {name} is missing: the file is truncated or damaged")
    declared = int(table.table_header.number_of_rows)
    fast = numeric_columns(table, db.version, db.page_size)
    columns = fast if fast is not None else dict(table.parse())
    lengths = {len(v) for v in columns.values() if isinstance(v, (list, np.ndarray))}
    if len(lengths) > 1:
        raise FormatError(path, f"{name}: its columns were read with different lengths {sorted(lengths)}: "
                          "damaged rows")
    rows = lengths.pop() if lengths else 0
    if rows < declared:
        raise FormatError(path, f"{name} holds {declared:,} rows but only {rows:,} could be read: the file is "
                          "truncated or damaged")
    return columns


def _res_meta(path: Path, info: dict[str, list], test_id) -> tuple[dict, list[str]]:
    ids = info.get("Test_ID", [])
    if not ids:
        return {}, [f"{path.name}: {GLOBAL_TABLE} is empty; the start time, channel and test name are unknown"]
    row = ids.index(test_id) if test_id in ids else 0
    field = {name: values[row] for name, values in info.items() if isinstance(values, list) and len(values) > row}
    meta: dict = {}
    warnings: list[str] = []
    if field.get("Test_Name"):
        meta["cell_id"] = str(field["Test_Name"]).strip()
    if field.get("Channel_Index") is not None:
        meta["channel"] = str(field["Channel_Index"])
    version, serial = str(field.get("Software_Version") or "").strip(), str(field.get("Serial_Number") or "").strip()
    details = ", ".join(filter(None, (f"MITS Pro {version}" if version else "", f"serial {serial}" if serial else "")))
    meta["instrument"] = f"Arbin ({details})" if details else "Arbin"
    start = field.get("Start_DateTime")
    if isinstance(start, (int, float)) and start > 0:
        started = OLE_EPOCH + timedelta(days=float(start))
        found, warnings = start_meta(started.strftime("%Y-%m-%d %H:%M:%S"), ("%Y-%m-%d %H:%M:%S",),
                                     f"{path.name}, {GLOBAL_TABLE}.Start_DateTime", "an Access date")
        meta.update(found)
    return meta, warnings


# ---- CSV export --------------------------------------------------------------------------

def read_arbin_csv(path: str | Path) -> TimeSeries:
    """An Arbin CSV export: one header line, one row per record, every row as many values
    as the header has names."""
    path = Path(path)
    names = bounded_csv.read_header(path, EXPECTED_EXPORT)
    if not looks_like_arbin_header(names):
        raise FormatError(path, f"expected {EXPECTED_EXPORT}, found {','.join(names)[:60]!r}", line=1)
    columns = _columns(path, names)
    rows = bounded_csv.check_rows(path, len(names))
    raw = bounded_csv.read_columns(path, names, {k: key for key, (k, _) in columns.items()}, rows)
    values = {key: raw[k] * factor for key, (k, factor) in columns.items()}
    meta, warnings = {}, []
    date_column = next((k for k, name in enumerate(names) if _key(name)[0] == DATE_TIME), None)
    if date_column is not None:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            first = next(reader)
        meta, warnings = _started(path, first[date_column], _last_row(path)[date_column], values["testtime"],
                                  f"line 2, {names[date_column]!r}")
    return _series(path, values, meta, warnings, place=lambda k: ("", k + 2))


# ---- xlsx export -------------------------------------------------------------------------

def _xlsx_data_sheets(path: Path) -> list[str]:
    """Names of the sheets headed by Arbin's record columns (a long test is split over
    several `Channel_...` sheets; `Global_Info` and `Statistics_...` are not records)."""
    book = load_workbook(path, read_only=True, data_only=True)
    try:
        found = []
        for sheet in book.worksheets:
            first = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), ())
            if looks_like_arbin_header([str(v) for v in first if v is not None]):
                found.append(sheet.title)
        return found
    finally:
        book.close()


def read_arbin_xlsx(path: str | Path) -> TimeSeries:
    """An Arbin xlsx export: the records of every data sheet, in sheet order."""
    path = Path(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise FormatError(path, f"not a readable xlsx workbook ({exc}); expected an Arbin xlsx export") from None
    try:
        rows, where, header = _xlsx_rows(path, book)
    finally:
        book.close()
    columns = _columns(path, header)
    values = {}
    for key, (k, factor) in columns.items():
        cells = pd.Series([row[k] for row in rows], dtype=object)
        numbers = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(numbers) & cells.notna().to_numpy() & (cells.astype(str).str.strip() != "").to_numpy()
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise FormatError(path, f"sheet {where[j][0]!r}, row {where[j][1]}: expected a number, found "
                              f"{cells.iloc[j]!r}", field_name=header[k])
        values[key] = numbers * factor
    meta, warnings = {}, []
    date_column = next((k for k, name in enumerate(header) if _key(name)[0] == DATE_TIME), None)
    if date_column is not None and rows[0][date_column] is not None:
        meta, warnings = _started(path, rows[0][date_column], rows[-1][date_column], values["testtime"],
                                  f"sheet {where[0][0]!r}, row {where[0][1]}")
    return _series(path, values, meta, warnings, place=lambda k: (f"sheet {where[k][0]!r}, row {where[k][1]}: ", None))


def _xlsx_rows(path: Path, book) -> tuple[list[tuple], list[tuple[str, int]], list[str]]:
    """(rows, (sheet, row number) of each, header) of the data
    sheets; each row must have one value per header name, no more, no fewer."""
    header: list[str] | None = None
    rows, where = [], []
    for sheet in book.worksheets:
        iterator = sheet.iter_rows(values_only=True)
        first = next(iterator, ())
        names = [str(v).strip() for v in first if v is not None]
        if not looks_like_arbin_header(names):
            continue
        if list(first[:len(names)]) != [v for v in first if v is not None]:
            raise FormatError(path, f"sheet {sheet.title!r}, row 1: an empty cell inside the header")
        if header is None:
            header = names
        elif names != header:
            raise FormatError(path, f"sheet {sheet.title!r}, row 1: its header differs from the first data sheet's")
        n = len(names)
        for number, row in enumerate(iterator, start=2):
            filled = [k for k, v in enumerate(row) if v is not None and str(v).strip() != ""]
            if not filled:
                continue
            if filled[-1] >= n:
                raise FormatError(path, f"sheet {sheet.title!r}, row {number}: {filled[-1] + 1} values, expected {n} "
                                  "(one per header name)")
            row = tuple(row) + (None,) * (n - len(row))
            missing = [names[k] for k in range(n) if _key(names[k])[0] in REQUIRED and (row[k] is None or
                                                                                         str(row[k]).strip() == "")]
            if missing:
                raise FormatError(path, f"sheet {sheet.title!r}, row {number}: {len(filled)} values, expected {n}; "
                                  f"no value for {missing[0]!r}")
            rows.append(row[:n])
            where.append((sheet.title, number))
    if header is None:
        raise FormatError(path, f"no sheet headed by Arbin's record columns; expected {EXPECTED_EXPORT} on a "
                          "sheet's first row")
    if not rows:
        raise FormatError(path, "no records under the header; expected at least one row of data")
    return rows, where, header
