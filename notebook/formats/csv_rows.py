"""Vendor CSV tables read strictly: each data row must have exactly as many values as
the header has names (a single empty value after the last, left by a trailing comma, is
allowed), and each number column must hold numbers. A row that breaks either rule is a
FormatError naming its line, instead of values silently shifted into other columns."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.bounded_csv import MAX_COLUMNS, MAX_LINE_BYTES
from notebook.formats.common import FormatError
from notebook.formats.spectra import decode_text


def read_lines(path: Path, expected: str) -> list[str]:
    """The file's text lines (UTF-8 or UTF-16, BOM dropped: spectra.decode_text); an
    unreadable, binary or empty file is a FormatError."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    text, encoding = decode_text(raw)
    if not encoding.startswith("utf-16") and "\x00" in text[:4096]:
        raise FormatError(path, f"a binary file, not CSV text; expected {expected}", line=1)
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise FormatError(path, f"the file is empty; expected {expected}")
    for number, line in enumerate(lines, start=1):
        if len(line) > MAX_LINE_BYTES:       # no cycler writes such a line (bounded_csv says why)
            raise FormatError(path, f"a line of {len(line):,} characters; a table row is at most "
                              f"{MAX_LINE_BYTES:,}", line=number)
    return lines


def split_row(line: str) -> list[str]:
    return next(csv.reader(io.StringIO(line)), [])


class Table:
    """The data rows under a header line as text cells, with each row's line number
    (1-based) so that a bad value can be reported where it is."""

    def __init__(self, path: Path, header: list[str], rows: list[list[str]], lines: list[int]):
        self.path, self.header, self.lines = path, header, np.asarray(lines, dtype=np.int64)
        self.cells = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame(columns=header, dtype=str)

    def __len__(self) -> int:
        return len(self.cells)

    def text(self, name: str) -> pd.Series:
        return self.cells[name].str.strip()

    def numbers(self, name: str, what: str = "a number") -> np.ndarray:
        """The column as floats; an empty or non-numeric cell is a FormatError at its line."""
        raw = self.text(name)
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise FormatError(self.path, f"expected {what}, found {raw.iloc[k]!r}", line=int(self.lines[k]),
                              field_name=name)
        return values

    def integers(self, name: str) -> np.ndarray:
        values = self.numbers(name, "a whole number")
        bad = values != np.round(values)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise FormatError(self.path, f"expected a whole number, found {self.text(name).iloc[k]!r}",
                              line=int(self.lines[k]), field_name=name)
        return values.astype(np.int64)


def read_table(path: Path, lines: list[str], header_index: int) -> Table:
    """The rows after lines[header_index] (the header), each checked for its value count.
    Blank lines are skipped."""
    reader = csv.reader(io.StringIO("\n".join(lines[header_index + 1:])))
    rows = ((header_index + 1 + reader.line_num, row) for row in reader)
    try:
        return check_rows(path, split_row(lines[header_index]), rows, header_index + 1)
    except csv.Error as exc:        # e.g. an unterminated quote running over many lines
        raise FormatError(path, f"not a readable CSV table: {exc}", line=header_index + 1 + reader.line_num) from None


def check_rows(path: Path, header: list[str], rows, header_line: int) -> Table:
    """A Table of (line number, values) rows under `header` (on line `header_line`),
    each with one value per name; blank rows are skipped."""
    header = [name.strip() for name in header]
    while header and not header[-1]:
        header.pop()   # the header's own trailing separator
    n = len(header)
    if n > MAX_COLUMNS:
        raise FormatError(path, f"the header names {n:,} columns; a table SolidStack reads has at most {MAX_COLUMNS} "
                          "(one column per quantity)", line=header_line)
    kept, numbers = [], []
    for number, row in rows:
        if not any(value.strip() for value in row):
            continue
        if len(row) == n + 1 and not row[-1].strip():
            row = row[:n]
        if len(row) != n:
            raise FormatError(path, f"{len(row)} values in the row, expected {n} (one per header name on line "
                              f"{header_line})", line=number)
        kept.append(row)
        numbers.append(number)
    if not kept:
        raise FormatError(path, f"no data rows under the header on line {header_line}")
    return Table(path, header, kept, numbers)
