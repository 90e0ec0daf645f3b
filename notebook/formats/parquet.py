"""Parquet files with BDF column labels (what the station's Parquet export writes),
read and written through pyarrow: an optional extra (requirements-parquet.txt, which
requirements-dev.txt and so every source install includes) that the packaged build
leaves out for its size (159 MiB bundled). Without it both directions say so and point
to BDF CSV. Imported by name only, so that nothing of ours requires it statically."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from notebook.formats.bdf import bdf_table
from notebook.formats.common import FormatError, ReaderMissing, TimeSeries

PYARROW_MISSING = ("Parquet needs pyarrow, which is not installed{where}; use BDF CSV instead "
                   "(or install it: pip install -r requirements-parquet.txt)")


def pyarrow_parquet(path: str | Path) -> ModuleType:
    """pyarrow.parquet, or ReaderMissing naming `path` when pyarrow is not there."""
    try:
        return importlib.import_module("pyarrow.parquet")
    except ModuleNotFoundError:
        frozen = " in this packaged build" if getattr(sys, "frozen", False) else ""
        raise ReaderMissing(path, PYARROW_MISSING.format(where=frozen)) from None


def read_parquet(path: str | Path) -> TimeSeries:
    """A Parquet table with BDF labels or machine names, checked as a BDF CSV is
    (required columns, numbers, time that does not run backwards); error lines count
    rows as a CSV with one header line would."""
    path = Path(path)
    pq = pyarrow_parquet(path)
    try:
        table = pq.read_table(path)
    except OSError as exc:
        raise FormatError(path, f"not a readable Parquet file: {exc}") from None
    series = bdf_table(path, table.to_pandas())
    metadata = table.schema.metadata or {}
    series.meta.update({key.decode(): value.decode() for key, value in metadata.items()
                        if key.startswith(b"solidstack.")})
    return series
