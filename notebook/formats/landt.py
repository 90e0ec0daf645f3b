"""Landt/LANHE cycler exports, CSV or xlsx in the same layout: a few `name: value` lines
about the cell and test, then a header line (`channel_index,cycle_index,step_index,
date_time_iso_string,test_time_s,step_time_s,current_A,voltage_V,discharge_capacity_Ah,
charge_capacity_Ah,...`) and one row per record. The per-step charge and discharge
capacity columns are the instrument's counter (TimeSeries.dq_Ah)."""
from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from notebook.formats.common import FormatError, TimeSeries
from notebook.formats.counters import per_step_counter_dq, step_numbers, step_starts
from notebook.formats.csv_rows import Table, check_rows, read_lines, read_table, split_row
from notebook.formats.local_time import local_start

REQUIRED = ("cycle_index", "step_index", "test_time_s", "current_A", "voltage_V", "charge_capacity_Ah",
            "discharge_capacity_Ah")
EXPECTED = f"a Landt export header line with {', '.join(REQUIRED)}"
HEADER_SEARCH_LINES = 30            # the cell/test block above the header is a handful of lines
PSI_PA = 6894.757293168
# the block's names (before the colon) -> meta keys
BLOCK_KEYS = {"cell id": "cell_id", "cell model": "cell_model", "test": "test_name"}
# optional columns -> (TimeSeries column, factor); kept only where the file has a sensor:
# Landt writes 0 in every row of a channel without one
SENSORS = {"temperature_1_C": ("temperature_degC", 1.0), "temperature_2_C": ("temperature_2_degC", 1.0),
           "temperature_3_C": ("temperature_3_degC", 1.0), "Pressure_Psi": ("pressure_Pa", PSI_PA)}


def _is_header(cells: list[str]) -> bool:
    return set(REQUIRED) <= {cell.strip() for cell in cells}


def header_index(rows: list[list[str]]) -> int | None:
    for k, cells in enumerate(rows[:HEADER_SEARCH_LINES]):
        if _is_header(cells):
            return k
    return None


def looks_like_landt(text: str) -> bool:
    return header_index([split_row(line) for line in text.splitlines()[:HEADER_SEARCH_LINES]]) is not None


def _block(rows: list[list[str]]) -> dict:
    """meta from the `name: value` lines above the header (empty values are left out)."""
    meta = {}
    for cells in rows:
        if not cells or ":" not in cells[0]:
            continue
        name, value = cells[0].split(":", 1)
        value = value.strip() or next((c.strip() for c in cells[1:] if c.strip()), "")
        key = BLOCK_KEYS.get(name.strip().lower())
        if key and value:
            meta[key] = value
    return meta


def _series(path: Path, table: Table, block: dict) -> TimeSeries:
    t = table.numbers("test_time_s")
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        k = int(back[0]) + 1
        raise FormatError(path, "the test time goes backwards; expected it to rise through the file",
                          line=int(table.lines[k]), field_name="test_time_s")
    cycle, step_index = table.integers("cycle_index"), table.integers("step_index")
    frame = pd.DataFrame({"t_s": t, "current_A": table.numbers("current_A"), "voltage_V": table.numbers("voltage_V"),
                          "cycle": cycle, "step": step_numbers(cycle, step_index)})
    for name, (column, factor) in SENSORS.items():
        if name in table.header:
            values = table.numbers(name)
            if np.any(values != 0):
                frame[column] = values * factor
    frame["dq_Ah"] = per_step_counter_dq(table.numbers("charge_capacity_Ah"), table.numbers("discharge_capacity_Ah"),
                                         step_starts(cycle, step_index))
    meta = {"instrument": "Landt", "counter": "charge_capacity_Ah - discharge_capacity_Ah (per step)", **block}
    warnings = []
    # channel_index counts the records (1, 2, 3...): it is not the cycler channel
    if "date_time_iso_string" in table.header:
        started, warnings = local_start(table, "date_time_iso_string", t)
        meta.update(started)
    return TimeSeries(frame, path, warnings=warnings, meta=meta)


def read_landt_csv(path: str | Path) -> TimeSeries:
    path = Path(path)
    lines = read_lines(path, EXPECTED)
    head = [split_row(line) for line in lines[:HEADER_SEARCH_LINES]]
    k = header_index(head)
    if k is None:
        raise FormatError(path, f"expected {EXPECTED} within the first {HEADER_SEARCH_LINES} lines")
    return _series(path, read_table(path, lines, k), _block(head[:k]))


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _sheet_rows(path: Path, limit: int | None = None) -> list[list[str]]:
    """The rows (as text) of the first sheet that has a Landt header, up to `limit` rows;
    [] when none has. A file that is not a readable workbook is a FormatError."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FormatError(path, f"not a readable xlsx workbook: {exc}") from None
    try:
        for sheet in book.worksheets:
            rows = []
            for values in sheet.iter_rows(values_only=True):
                rows.append([_cell_text(v) for v in values])
                if len(rows) == HEADER_SEARCH_LINES and header_index(rows) is None:
                    break
                if limit is not None and len(rows) >= limit:
                    break
            if header_index(rows) is not None:
                return rows
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise FormatError(path, f"not a readable xlsx workbook: {exc}") from None
    finally:
        book.close()
    return []


def looks_like_landt_xlsx(path: Path) -> bool:
    try:
        return bool(_sheet_rows(path, limit=HEADER_SEARCH_LINES))
    except FormatError:
        return False            # a damaged workbook: whichever format claims .xlsx reports it


def read_landt_xlsx(path: str | Path) -> TimeSeries:
    path = Path(path)
    rows = _sheet_rows(path)
    k = header_index(rows)
    if k is None:
        raise FormatError(path, f"expected {EXPECTED} within the first {HEADER_SEARCH_LINES} rows of a sheet")
    width = len([name for name in rows[k] if name.strip()])
    # a sheet pads every row to its widest; the empty cells right of the header are not values
    body = ((number, cells[:width] if not any(c.strip() for c in cells[width:]) else cells)
            for number, cells in enumerate(rows[k + 1:], start=k + 2))
    return _series(path, check_rows(path, rows[k][:width], body, k + 1), _block(rows[:k]))
