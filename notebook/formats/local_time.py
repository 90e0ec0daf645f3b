"""When a cycler file says its test started, from the date of its first record less
that record's test time. Neware's and Landt's exports stamp each record with the cycler
computer's wall clock and no time zone: such a start is read as notebook.formats.start_time
reads a header's (this computer's zone, said in a warning, the local text kept in
meta["started_local"]). A stamp that carries its zone (Neware BTS 9 binaries count Unix
seconds) gives meta["started_utc"] as it is."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from notebook.formats.csv_rows import Table
from notebook.formats.start_time import start_meta

STAMP = "%Y-%m-%d %H:%M:%S"
# day-first and month-first both exist; a file's whole column decides (see _parse_column)
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
                "%Y/%m/%d %H:%M:%S")


def _parse(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), fmt)
    except ValueError:
        return None


def _parse_column(first: str, last: str, span_s: float) -> datetime | None:
    """The first stamp, read in the one format that reads both ends of the column; where
    several do (04/05 or 05/04), the one whose wall-clock span is nearest the test's."""
    best, best_error = None, np.inf
    for fmt in DATE_FORMATS:
        a, b = _parse(first, fmt), _parse(last, fmt)
        if a is None or b is None:
            continue
        error = abs((b - a).total_seconds() - span_s)
        if error < best_error:
            best, best_error = a, error
    return best


def naive_start(name: str, started: datetime) -> tuple[dict, list[str]]:
    """(meta, warnings) for a start on a wall clock without a zone."""
    started += timedelta(microseconds=500_000)       # to the nearest second: the stamps' resolution
    return start_meta(started.strftime(STAMP), (STAMP,), f"{name} (its first record's date less its test time)",
                      "year-month-day")


def aware_start(started: datetime) -> dict:
    return {"started_utc": started.astimezone(timezone.utc).isoformat(timespec="seconds")}


def local_start(table: Table, column: str, t_s: np.ndarray) -> tuple[dict, list[str]]:
    """(meta, warnings) from a table's column of local date-times and its test time."""
    stamps = table.text(column)
    return stamps_start(table.path.name, column, stamps.iloc[0], stamps.iloc[-1], t_s)


def stamps_start(name: str, column: str, first: str, last: str, t_s: np.ndarray) -> tuple[dict, list[str]]:
    """(meta, warnings) from the first and last records' local date-times and the test time."""
    started = _parse_column(first, last, float(t_s[-1] - t_s[0]))
    if started is None:
        return {}, [f"{name}: the {column!r} column ({first!r}) is not a date and time SolidStack reads; "
                    "the start time is unknown"]
    return naive_start(name, started - timedelta(seconds=float(t_s[0])))
