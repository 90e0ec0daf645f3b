"""Connecting to the lab store, and the words for when it fails.

A lab URL is whatever libpq accepts: `postgresql://user@host:port/db?sslmode=verify-full`,
key=value (`host=lab port=5432 dbname=lab`) or `service=NAME` (pg_service.conf).
Credentials come only from libpq's own mechanisms (.pgpass / PGPASSFILE, a service file,
PGPASSWORD): a URL that holds a password is refused, so no password is ever stored in a
notebook or settings, nor printed. libpq's errors are turned into one line that names the
host, port, database and role and says what to fix; `redact` takes any password out of a URL
before a message names it.
"""
from __future__ import annotations

import os
import re

import psycopg
from psycopg.conninfo import conninfo_to_dict

APPLICATION_NAME = "SolidStack"
CONNECT_TIMEOUT_S = 5
MIN_SERVER_VERSION = 140000          # PostgreSQL 14: the oldest the lab schema is written for


class LabError(Exception):
    """A lab-store problem in words a user can act on; never holds a password."""


# -- passwords out of URLs --
_URL = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<rest>[^\s'\"]*)", re.IGNORECASE)
_URL_QUERY_PASSWORD = re.compile(r"([?&])password=[^&#\s]*&?", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"""\bpassword\s*=\s*(?:'(?:[^'\\]|\\.)*'?|\S*)\s*""", re.IGNORECASE)


def _redact_url(match: re.Match) -> str:
    rest = match.group("rest")
    head, sep, query = rest.partition("?")
    at = head.rfind("@")
    if at >= 0:
        userinfo = head[:at].split(":", 1)[0]
        head = f"{userinfo}@{head[at + 1:]}" if userinfo else head[at + 1:]
    if sep:
        query = _URL_QUERY_PASSWORD.sub(lambda m: m.group(1), "?" + query)[1:]
        query = query.rstrip("&")
        sep = "?" if query else ""
    return match.group("scheme") + head + sep + query


def redact(url: str) -> str:
    """`url` (or any text holding one) with every password taken out: the user:password@
    part and ?password= of a URL, and password=... of a key=value string."""
    text = _URL.sub(_redact_url, str(url))
    return _KV_PASSWORD.sub("", text).strip()


def url_has_password(url: str) -> bool:
    """Whether `url` carries a password (URL userinfo, ?password= or password=...)."""
    try:
        return bool(conninfo_to_dict(url).get("password"))
    except (psycopg.Error, TypeError):
        return redact(url) != str(url).strip()


# -- connecting --
def describe(url: str) -> str:
    """Where `url` points, as words for a message: role@host:port/db (or the service)."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        return redact(url)
    env = os.environ
    if params.get("service") and not params.get("host"):
        where = f"service {params['service']!r}"
    else:
        where = f"{params.get('host') or env.get('PGHOST') or 'the local socket'}:" \
                f"{params.get('port') or env.get('PGPORT') or 5432}"
    user = params.get("user") or env.get("PGUSER")
    dbname = params.get("dbname") or env.get("PGDATABASE")
    text = where + (f"/{dbname}" if dbname else "")
    return f"{user}@{text}" if user else text


def _parse(url: str) -> dict:
    if not isinstance(url, str) or not url.strip():
        raise LabError("no lab URL given: give postgresql://ROLE@HOST:PORT/DB, key=value settings or service=NAME")
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        # libpq's parse errors quote the input, which may hold a password: name only the option
        option = re.search(r'invalid (?:connection option|URI query parameter):? "([^"]+)"', str(exc))
        reason = f": unknown setting {option.group(1)!r}" if option else ""
        raise LabError(f"{redact(url)!r} is not a PostgreSQL URL (postgresql://ROLE@HOST:PORT/DB) or connection "
                       f"string (key=value, or service=NAME){reason}") from None


def check_no_password(url: str) -> None:
    """Refuse a URL that carries a password: it would end up in a notebook, a setting or a log."""
    if url_has_password(url):
        raise LabError(f"the lab URL {redact(url)!r} holds a password: SolidStack takes credentials only from "
                       "libpq: put the password in ~/.pgpass (or PGPASSFILE; mode 0600, a line "
                       "host:port:database:role:password) or a service file, and give the URL without it")


def connect(url: str, *, role_hint: str | None = None, autocommit: bool = False) -> psycopg.Connection:
    """A connection to the lab store at `url` (application_name SolidStack, a 5 s connect
    timeout unless the URL sets one). `role_hint` names the kind of role expected (e.g.
    'station', 'lab admin') in error messages. LabError says what went wrong and what to fix."""
    params = _parse(url)
    check_no_password(url)
    extra = {}
    if "application_name" not in params:
        extra["application_name"] = APPLICATION_NAME
    if "connect_timeout" not in params:
        extra["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        conn = psycopg.connect(url, autocommit=autocommit, **extra)
    except psycopg.OperationalError as exc:
        raise LabError(explain(exc, url, role_hint)) from None
    except psycopg.Error as exc:
        raise LabError(f"could not connect to the lab store at {describe(url)}: {_first_line(exc, url)}") from None
    if conn.info.server_version < MIN_SERVER_VERSION:
        version = conn.info.parameter_status("server_version") or str(conn.info.server_version)
        conn.close()
        raise LabError(f"the server at {describe(url)} runs PostgreSQL {version}; the lab store needs PostgreSQL 14 "
                       "or newer")
    return conn


def _first_line(exc: BaseException, url: str) -> str:
    """libpq's message, one line, without the 'connection to server at ... failed:' prefix
    and with any password of `url` taken out (libpq never prints one, but be sure)."""
    text = str(exc).strip()
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^connection (failed|is bad):\s*", "", line.strip())     # psycopg's prefixes
        line = re.sub(r"^connection to server (at|on) .*? failed:\s*", "", line)  # libpq's: described apart
        if line:
            lines.append(line)
    text = "; ".join(dict.fromkeys(lines)) or type(exc).__name__
    text = re.sub(r"^(FATAL|ERROR):\s+", "", text)
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        password = None
    if password:
        text = text.replace(password, "***")
    return redact(text)


def explain(exc: BaseException, url: str, role_hint: str | None = None) -> str:
    """One line saying why connecting to `url` failed and what to fix."""
    where = describe(url)
    detail = _first_line(exc, url)
    low = detail.lower()
    role = f" ({role_hint} role)" if role_hint else ""
    if "password authentication failed" in low:
        return (f"the lab store at {where} refused the password{role}: correct the line for this host, port, "
                "database and role in ~/.pgpass (or PGPASSFILE) or the service file")
    if "no password supplied" in low or "password is required" in low:
        return (f"the lab store at {where} asks a password{role} and libpq found none: add a line "
                "host:port:database:role:password to ~/.pgpass (mode 0600; or set PGPASSFILE), or use a service file")
    if "role" in low and "does not exist" in low:
        return f"the lab store at {where} has no such role{role}: ask the lab admin to run `lab add-station`"
    if "database" in low and "does not exist" in low:
        return f"there is no such database on the server at {where}: check the database name in the URL"
    if "connection refused" in low or "no such file or directory" in low:
        return (f"no PostgreSQL server answers at {where} (connection refused): check the host and port, and that "
                "the server runs and listens there")
    if "timeout expired" in low or "timed out" in low:
        return f"no answer from {where} within the connect timeout: check the host, port, network and firewall"
    if "could not translate host name" in low or "name or service not known" in low:
        return f"the host of {where} is unknown: check the host name in the URL"
    if "no pg_hba.conf entry" in low:
        return (f"the server at {where} does not accept this connection (no pg_hba.conf entry{role}): ask the "
                "server's admin to allow this host and role, or check sslmode")
    if "ssl" in low or "certificate" in low:
        return f"TLS to {where} failed: {detail} (check sslmode, sslrootcert and the server's certificate)"
    if "definition of service" in low or "service file" in low:
        return f"{detail}: check pg_service.conf (PGSERVICEFILE) for the service named in the URL"
    if "invalid" in low and ("value" in low or "port" in low):
        return f"the lab URL {redact(url)!r} has a bad setting: {detail}"
    return f"could not connect to the lab store at {where}: {detail}"
