"""The lab admin's work on the store: a login role per station (`station_<name>`, in the
solidstack_station group) or per reader (`reader_<name>`, in solidstack_reader), with its
row in solidstack.stations, in one transaction: a refused name leaves nothing behind.

A password, when one is given, is sent to the server only as its SCRAM-SHA-256 verifier
(computed by libpq here, as psql's \\password does), so the clear text never reaches the
server's logs. Who then holds it is the admin's business: libpq's .pgpass or a service
file on the station; never SolidStack's notebook or settings.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg
from psycopg import sql

from lab.connection import LabError, connect, describe
from lab.schema import READER_GROUP, SCHEMA, STATION_GROUP, check_version

NAME = re.compile(r"^[a-z0-9_]{1,40}$")
KINDS = {"station": ("station_", STATION_GROUP), "reader": ("reader_", READER_GROUP)}


@dataclass(frozen=True)
class NewRole:
    """What `create_login` made: the role, the station name, and where it connects."""
    role: str
    name: str
    kind: str
    host: str
    port: int
    dbname: str

    def url(self) -> str:
        """The role's lab URL, with no password (libpq finds it in .pgpass)."""
        if self.host.startswith("/"):        # reached through a Unix socket
            return f"postgresql://{self.role}@/{self.dbname}?host={self.host}&port={self.port}"
        return f"postgresql://{self.role}@{self.host}:{self.port}/{self.dbname}"

    def pgpass_line(self, password: str) -> str:
        """The line libpq's .pgpass needs for this role (':' and '\\' escaped; a Unix
        socket's host is written `localhost`, as libpq looks it up)."""
        def esc(text: object) -> str:
            return str(text).replace("\\", "\\\\").replace(":", "\\:")
        host = "localhost" if self.host.startswith("/") else self.host
        return ":".join(esc(p) for p in (host, self.port, self.dbname, self.role, password))


def check_name(name: str) -> str:
    """A station's or reader's name, lower-cased: letters, digits and _, 1 to 40 of them."""
    text = str(name).strip().lower()
    if not NAME.match(text):
        raise LabError(f"{name!r} is not a usable name: use 1 to 40 letters, digits or _ (e.g. glovebox_2); "
                       "it becomes part of the station's login role")
    return text


def _utc_now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_login(url: str, name: str, kind: str, password: str | None = None) -> NewRole:
    """Make the login role for station or reader `name` in its group, and its stations row.
    `password`: the role's password (sent as a SCRAM verifier); None for a role that logs in
    by certificate or peer authentication, or gets its password later from the admin."""
    prefix, group = KINDS[kind]
    name = check_name(name)
    role = prefix + name
    conn = connect(url, role_hint="lab admin")
    try:
        check_version(conn)
        conn.rollback()      # check_version's reads opened a transaction: start the real one clean
        with conn.transaction():
            row = conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetchone()
            if not (row and row[0]):
                raise LabError(f"the role {conn.info.user!r} may not create roles: connect as the lab admin "
                               "(a superuser or a role with CREATEROLE)")
            taken = conn.execute(sql.SQL("SELECT role FROM {} WHERE name = %s").format(
                sql.Identifier(SCHEMA, "stations")), (name,)).fetchone()
            if taken:
                raise LabError(f"the name {name!r} is already taken in this lab store (role {taken[0]!r}): "
                               f"choose another {kind} name")
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                # roles belong to the server, not the database: another lab store on it may have made it
                raise LabError(f"a role {role!r} already exists on this server: choose another {kind} name")
            statement = sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(sql.Identifier(role), sql.Identifier(group))
            if password is not None:
                verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
                statement += sql.SQL(" PASSWORD {}").format(sql.Literal(verifier.decode()))
            conn.execute(statement)
            conn.execute(sql.SQL("INSERT INTO {} (role, name, created_utc, kind) VALUES (%s, %s, %s, %s)").format(
                sql.Identifier(SCHEMA, "stations")), (role, name, _utc_now(), kind))
        return NewRole(role, name, kind, conn.info.host, conn.info.port, conn.info.dbname)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise LabError(f"the role {conn.info.user!r} may not add a {kind} to the lab store at {describe(url)} "
                       f"({exc.diag.message_primary}): connect as the lab admin; nothing was changed") from None
    except psycopg.Error as exc:
        raise LabError(f"adding {kind} {name!r} to the lab store at {describe(url)} failed: "
                       f"{exc.diag.message_primary or type(exc).__name__}; nothing was changed") from None
    finally:
        conn.close()


def add_station(url: str, name: str, password: str | None = None) -> str:
    """The login role `station_<name>` (solidstack_station: writes its own rows, reads all)."""
    return create_login(url, name, "station", password).role


def add_reader(url: str, name: str, password: str | None = None) -> str:
    """The login role `reader_<name>` (solidstack_reader: reads only)."""
    return create_login(url, name, "reader", password).role
