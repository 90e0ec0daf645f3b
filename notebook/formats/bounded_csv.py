"""Reading a comma-separated table with one header line in bounded time and memory:
the shape is checked in a streaming pass (column count, line length, the same number of
values on every row), then only the columns a reader uses are parsed, as float arrays.

A table with more than MAX_COLUMNS columns or a line longer than MAX_LINE_BYTES is
refused at once: no cycler writes either, and reading them whole is what made a
15,000-column file take minutes and a single 200 MB line never finish."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError

MAX_COLUMNS = 512
MAX_LINE_BYTES = 1 << 20                 # 1 MiB: a row of 512 numbers is a few kB
BLOCK_BYTES = 4 << 20                    # the streaming pass holds about this much of the file at a time
PARSE_CHUNK_ROWS = 250_000               # rows parsed at a time
# The csv module refuses fields over 128 kB with its own error; our bound is the line's.
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_BYTES))


def read_header(path: Path, expected: str) -> list[str]:
    """The header's names (BOM, quotes and surrounding spaces removed), refusing an empty
    file, an unreadable or overlong first line, and more than MAX_COLUMNS names."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(MAX_LINE_BYTES + 1)
    except OSError as exc:
        raise FormatError(path, f"cannot be read: {exc.strerror}") from None
    if not head.strip():
        raise FormatError(path, f"the file is empty; expected {expected}")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FormatError(path, f"UTF-16 text, as Excel's 'Unicode text' writes it; this format is UTF-8: save it as "
                          f"'CSV UTF-8' (or plain CSV) and import that; expected {expected}", line=1)
    end = head.find(b"\n")
    if end < 0 and len(head) > MAX_LINE_BYTES:
        raise FormatError(path, f"the header line is longer than {MAX_LINE_BYTES:,} bytes; expected {expected}", line=1)
    line = head if end < 0 else head[:end]
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:   # instrument software also writes Latin-1 ('°C')
        text = line.decode("latin-1").rstrip("\r")
    names = [name.strip() for name in next(csv.reader([text]), [])]
    if len(names) > MAX_COLUMNS:
        raise FormatError(path, f"the header names {len(names):,} columns; a table SolidStack reads has at most "
                          f"{MAX_COLUMNS} (one column per quantity)", line=1)
    return names


def check_rows(path: Path, n_fields: int) -> int:
    """The number of data rows, after checking in one streaming pass that each line has
    exactly `n_fields` values and is at most MAX_LINE_BYTES long. Empty lines are allowed
    only at the end of the file (pandas would skip them and shift every line number)."""
    rows = 0
    line_no = 1                          # the last complete line seen (the header is line 1)
    first_blank = 0
    carry = b""
    header_done = False
    with open(path, "rb") as fh:
        while True:
            block = fh.read(BLOCK_BYTES)
            buf = carry + block
            if not block:
                if buf.strip():
                    buf += b"\n"         # the last line has no line end
                else:
                    break
            nl = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
            if nl.size == 0:
                if len(buf) > MAX_LINE_BYTES:
                    raise FormatError(path, f"a line longer than {MAX_LINE_BYTES:,} bytes; expected rows of "
                                      f"{n_fields} values", line=line_no + 1)
                carry = buf
                continue
            starts = np.concatenate(([0], nl[:-1] + 1))
            lengths = nl - starts
            if not header_done:          # read_header has checked line 1
                starts, lengths, header_done = starts[1:], lengths[1:], True
                first_line = 2
            else:
                first_line = line_no + 1
            long = np.flatnonzero(lengths > MAX_LINE_BYTES)
            if long.size:
                raise FormatError(path, f"the line is {int(lengths[long[0]]):,} bytes long; a row is at most "
                                  f"{MAX_LINE_BYTES:,} bytes", line=first_line + int(long[0]))
            counts = _field_counts(buf, starts, lengths)
            blank = np.array([not buf[s:s + n].strip() for s, n in zip(starts, lengths)]) if (counts == 1).any() \
                else np.zeros(starts.size, dtype=bool)
            if first_blank and (~blank).any():
                raise FormatError(path, f"an empty line inside the table; expected {n_fields} values on every row",
                                  line=first_blank)
            if blank.any():
                k = int(np.flatnonzero(blank)[0])
                if (~blank[k:]).any():
                    raise FormatError(path, "an empty line inside the table; expected "
                                      f"{n_fields} values on every row", line=first_line + k)
                first_blank = first_blank or first_line + k
            wrong = np.flatnonzero((counts != n_fields) & ~blank)
            if wrong.size:
                k = int(wrong[0])
                raise FormatError(path, f"expected {n_fields} values, as the header has names, found "
                                  f"{int(counts[k])}", line=first_line + k)
            rows += int((~blank).sum())
            line_no = first_line + starts.size - 1
            carry = buf[nl[-1] + 1:]
            if not block:
                break
    return rows


def _field_counts(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Values per line: commas + 1, or the csv module's count where quotes may hide commas."""
    if b'"' in buf:                      # rare: exactness over speed here
        return np.array([len(next(csv.reader([buf[s:s + n].decode("utf-8", errors="replace")]), [""]))
                         for s, n in zip(starts, lengths)], dtype=np.int64)
    commas = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 44)
    return np.searchsorted(commas, starts + lengths) - np.searchsorted(commas, starts) + 1


def read_columns(path: Path, names: list[str], wanted: dict[int, str], rows: int) -> dict[int, np.ndarray]:
    """Columns (by position in the header) as float arrays of `rows` values (check_rows'
    count); an empty cell is NaN. Parsed a chunk at a time into arrays allocated once, so
    memory peaks at the result plus one chunk. A cell that is not a number is a
    FormatError naming its line and column."""
    if not wanted:
        return {}
    index = sorted(wanted)
    # numbers are ASCII: a stray Latin-1 byte in a text column we skip must not stop the read
    options = dict(header=None, skiprows=1, usecols=index, encoding="utf-8-sig", encoding_errors="replace",
                   skipinitialspace=True, engine="c")   # pandas 3 parses floats exactly by default
    out = {k: np.empty(rows, dtype=float) for k in index}
    at = 0
    try:
        with pd.read_csv(path, dtype={k: np.float64 for k in index}, chunksize=PARSE_CHUNK_ROWS, **options) as chunks:
            for chunk in chunks:
                n = len(chunk)
                if at + n > rows:
                    raise FormatError(path, "the file changed while it was read", line=at + 2)
                for k in index:
                    out[k][at:at + n] = chunk[k].to_numpy(dtype=float)
                at += n
    except ValueError as exc:
        if isinstance(exc, FormatError):
            raise
        _raise_first_bad_cell(path, names, index, options)
        raise
    if at != rows:
        raise FormatError(path, f"{at:,} rows parsed where {rows:,} were counted: the file changed while it was read")
    return out


def _raise_first_bad_cell(path: Path, names: list[str], index: list[int], options: dict) -> None:
    line = 2
    with pd.read_csv(path, dtype=str, chunksize=PARSE_CHUNK_ROWS, **options) as chunks:
        for chunk in chunks:
            for k in index:
                bad = pd.to_numeric(chunk[k], errors="coerce").isna() & chunk[k].notna()   # pandas' NA words pass
                if bad.any():
                    row = int(np.flatnonzero(bad.to_numpy())[0])
                    raise FormatError(path, f"expected a number, found {chunk[k].iloc[row][:40]!r}", line=line + row,
                                      field_name=names[k])
            line += len(chunk)
    raise FormatError(path, "a cell is not a number, but it could not be located")
