"""Stable, time-ordered identities of what the notebook records: UUID version 7 (RFC 9562:
a 48-bit Unix time in milliseconds, then random bits), as canonical lower-case text.

The lab store keys every record by its UUID (local integer ids differ between stations).
New rows get theirs from an SQLite trigger (notebook/schema.py), so every path that writes
(a run's writer, the importer, annotations) gets one without knowing; `uuid7_sql` is that
expression in plain SQL, which needs no function registered on the connection."""
from __future__ import annotations

import os
import re
import time

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def uuid7(unix_ms: int | None = None) -> str:
    """A new UUIDv7 for the time `unix_ms` (default: now)."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | rand & (2**62 - 1)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def is_uuid(text: object) -> bool:
    """Whether `text` is a UUID in canonical text form (any version; lower or upper case)."""
    return isinstance(text, str) and bool(_UUID.match(text.lower()))


def uuid7_sql(julian_day: str = "julianday('now')") -> str:
    """An SQLite expression giving a UUIDv7 for the time `julian_day` (an SQL expression
    of a Julian day number: julianday('now'), or julianday(created_utc) for an old row)."""
    ms = f"CAST(round(({julian_day} - 2440587.5) * 86400000.0) AS INTEGER)"   # round: a Julian day is a float
    return ("(printf('%08x', " + ms + " >> 16) || '-' || printf('%04x', " + ms + " & 65535)"
            " || '-7' || substr(lower(hex(randomblob(2))), 2)"
            " || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2)"
            " || '-' || lower(hex(randomblob(6))))")
