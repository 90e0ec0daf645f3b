"""Parquet files with BDF column labels or machine names (`.bdf.parquet`, and what the
station's Parquet export writes), read and written through pyarrow: an optional extra
(requirements-parquet.txt, which requirements-dev.txt and so every source install
includes) that the packaged build leaves out for its size (159 MiB bundled). Without it
both directions say so and point to BDF CSV. Imported by name only, so that nothing of
ours requires it statically.

Only the columns a BDF reader uses are read (the schema says which), so a wide file
costs no more than a narrow one; an empty, truncated or garbage file is one FormatError."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from notebook.formats.bdf import bdf_series, column_plan
from notebook.formats.bdf_columns import key
from notebook.formats.common import FormatError, ReaderMissing, TimeSeries

PYARROW_MISSING = ("Parquet needs pyarrow, which is not installed{where}; use BDF CSV instead "
                   "(or install it: pip install -r requirements-parquet.txt)")
MAX_ROWS = 200_000_000   # a row count beyond this is a damaged footer, not a cycling record


def pyarrow_parquet(path: str | Path) -> ModuleType:
    """pyarrow.parquet, or ReaderMissing naming `path` when pyarrow is not there."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ModuleNotFoundError:
        frozen = " in this packaged build" if getattr(sys, "frozen", False) else ""
        raise ReaderMissing(path, PYARROW_MISSING.format(where=frozen)) from None


def read_parquet(path: str | Path, time_bug: str = "repair") -> TimeSeries:
    """A Parquet table with BDF labels or machine names, checked as a BDF CSV is
    (required columns, numbers, units, a plausible time axis); error lines count rows
    as a CSV with one header line would."""
    path = Path(path)
    pq = pyarrow_parquet(path)
    pa = importlib.import_module("pyarrow")
    try:
        parquet = pq.ParquetFile(path)
        names = list(parquet.schema_arrow.names)
        rows = parquet.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(path, f"not a readable Parquet file ({_first_line(exc)}); expected a Parquet table "
                          "with BDF column names") from None
    if rows > MAX_ROWS:
        raise FormatError(path, f"the file claims {rows:,} rows, more than {MAX_ROWS:,}: a damaged file")
    plan = column_plan(path, [_as_unix_time(name, parquet.schema_arrow.field(k).type, pa)
                              for k, name in enumerate(names)])
    plan.header_of = {ours: names[k] for k, (ours, _) in plan.use.items()}   # errors quote the file's own names
    try:
        table = parquet.read(columns=[names[k] for k in plan.use])
    except (pa.ArrowException, OSError) as exc:
        raise FormatError(path, f"not a readable Parquet file ({_first_line(exc)})") from None
    columns = {}
    for k, (name, factor) in plan.use.items():
        values = _floats(path, pa, table.column(names[k]), names[k])
        columns[name] = values * factor if factor != 1.0 else values
    series = bdf_series(path, columns, plan, time_bug)
    metadata = parquet.schema_arrow.metadata or {}
    series.meta.update({key.decode(): value.decode() for key, value in metadata.items()
                        if key.startswith(b"solidstack.")})
    return series


def _as_unix_time(name: str, kind, pa: ModuleType) -> str:
    """A timestamp column named as a date or time (legacy `Date Time`) is the Unix time."""
    stamp = pa.types.is_timestamp(kind) and key(name).replace("_", " ") in ("date time", "datetime", "unix time",
                                                                              "timestamp")
    return "Unix Time / s" if stamp else name


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def _floats(path: Path, pa: ModuleType, column, label: str) -> np.ndarray:
    """A column as float64: numbers as they are, timestamps as Unix seconds, text parsed
    (a cell that is not a number names its row as a CSV line)."""
    kind = column.type
    if pa.types.is_timestamp(kind):
        seconds = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64()).to_numpy(zero_copy_only=False)
        return np.asarray(seconds, dtype=float) / 1e6
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind) \
            or pa.types.is_decimal(kind):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=float)
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        text = pd.Series(column.to_pandas(), dtype=object)
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() & text.notna() & (text.astype(str).str.strip() != "")
        if bad.any():
            k = int(np.flatnonzero(bad.to_numpy())[0])
            raise FormatError(path, f"expected a number, found {str(text.iloc[k])[:40]!r}", line=k + 2,
                              field_name=label)
        return values.to_numpy(dtype=float)
    raise FormatError(path, f"expected a column of numbers, found Parquet type {kind}", field_name=label)
