"""Numeric columns of an MS Access (Jet 4 and later) table read as whole arrays.

access-parser finds a table's definition and data pages, then decodes each field of
each row in Python: about 5,000 rows a second, minutes for an Arbin `.res` file of a
long test. Arbin's record table holds only fixed-length numbers, so the same pages are
read here with numpy instead: each row's fixed-length field sits at a known offset
after the row's 2-byte field count, and its null flag in the bitmap that ends the row.
Tables this cannot read exactly (rows continued on overflow pages, text columns,
Jet 3 files) return None, and the caller falls back to access-parser."""
from __future__ import annotations

import numpy as np

# Access column type -> numpy type of its fixed-length field
NUMERIC = {2: "i1", 3: "<i2", 4: "<i4", 5: "<i8", 6: "<f4", 7: "<f8"}
DELETED, OVERFLOW, OFFSET = 0x8000, 0x4000, 0x0FFF
RECORD_COUNT_AT = 12        # a Jet 4 data page: magic, free space, owner, 4 unknown bytes, then the row count


def numeric_columns(table, version: int, page_size: int) -> dict[str, np.ndarray] | None:
    """{column name: float array (NaN where null)} of an access_parser AccessTable, or
    None when the table has a column or a row this reader does not handle."""
    columns = list(table.columns.values())
    if version <= 3 or not all(c.column_flags.fixed_length and c.type in NUMERIC for c in columns):
        return None
    pages = table.table.linked_pages
    starts, ends = [], []
    for k, page in enumerate(pages):
        count = int.from_bytes(page[RECORD_COUNT_AT:RECORD_COUNT_AT + 2], "little")
        offsets = np.frombuffer(page, dtype="<u2", count=count, offset=RECORD_COUNT_AT + 2).astype(np.int64)
        if (offsets[(offsets & DELETED) == 0] & OVERFLOW).any():
            return None
        # rows fill the page from its end: each ends where the one before it starts
        position = offsets & OFFSET
        end = np.concatenate(([page_size], position[:-1]))
        live = (offsets & DELETED) == 0
        starts.append(position[live] + k * page_size)
        ends.append(end[live] + k * page_size)
    data = np.frombuffer(b"".join(pages), dtype=np.uint8)
    start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    end = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    null_bytes = (table.table_header.column_count + 7) // 8
    if (end - start < 2 + null_bytes).any():
        return None
    out = {}
    for column in columns:
        dtype = np.dtype(NUMERIC[column.type])
        at = start + 2 + column.fixed_offset         # after the row's field count
        if (at + dtype.itemsize > end - null_bytes).any():
            return None
        raw = data[at[:, None] + np.arange(dtype.itemsize)]
        values = raw.copy().view(dtype).ravel().astype(float)
        present = (data[end - null_bytes + column.column_id // 8] >> (column.column_id % 8)) & 1
        values[present == 0] = np.nan
        out[column.col_name_str] = values
    return out
