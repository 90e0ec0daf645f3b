"""The station's identity and its lab address, kept in the notebook's `station` table
(schema v5): a UUID made when the notebook was created or migrated, a name (the
computer's name unless one is given) and the lab store's URL once one is set.

A URL is kept only without a password: credentials come from libpq's own places (a
service file, .pgpass, PG* variables), never from the notebook."""
from __future__ import annotations

import socket
import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit

from notebook.errors import NotebookError


@dataclass(frozen=True)
class StationIdentity:
    name: str
    uuid: str


def _get(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM station WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def identity(conn: sqlite3.Connection) -> StationIdentity:
    """This notebook's station; the first call names it after the computer (on a
    read-only notebook the name is only given, not stored)."""
    name = _get(conn, "name")
    if name is None:
        name = socket.gethostname() or "station"
        try:
            with conn:
                conn.execute("INSERT OR IGNORE INTO station (key, value) VALUES ('name', ?)", (name,))
            name = _get(conn, "name") or name
        except sqlite3.OperationalError:
            pass        # read-only: the computer's name, unsaved
    return StationIdentity(name, _get(conn, "uuid") or "")


def set_name(conn: sqlite3.Connection, name: str) -> None:
    text = " ".join(str(name).split())
    if not text:
        raise NotebookError("a station's name cannot be empty")
    with conn:
        conn.execute("INSERT OR REPLACE INTO station (key, value) VALUES ('name', ?)", (text,))


def has_password(url: str) -> bool:
    """Whether a libpq URL or key=value string carries a password."""
    text = url.strip()
    if "://" in text:
        try:
            if urlsplit(text).password is not None:
                return True
        except ValueError:
            return False
        return "password=" in (urlsplit(text).query or "").lower()
    return any(part.split("=", 1)[0].strip().lower() == "password" for part in text.split() if "=" in part)


def lab_url(conn: sqlite3.Connection) -> str | None:
    return _get(conn, "lab_url")


def set_lab_url(conn: sqlite3.Connection, url: str) -> None:
    """Remember the lab store's address; one carrying a password is refused."""
    text = url.strip()
    if not text:
        raise NotebookError("the lab store's URL is empty")
    if has_password(text):
        raise NotebookError("the lab store's URL carries a password, which SolidStack never stores: put the password "
                            "in ~/.pgpass (or a service file, or PGPASSWORD) and give the URL without it")
    with conn:
        conn.execute("INSERT OR REPLACE INTO station (key, value) VALUES ('lab_url', ?)", (text,))
