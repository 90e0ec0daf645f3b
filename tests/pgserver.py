"""A throwaway PostgreSQL server for the tests: the system's own binaries, a data folder in a
temporary directory, 127.0.0.1 on a free port, stopped when the session ends.

Credentials go through libpq as a station's would: host connections need scram-sha-256, and
the superuser `lab_admin`'s password (and any role's a test makes) sits in a .pgpass file
named by PGPASSFILE, never in a URL. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` user (`runuser -u postgres --`); otherwise as whoever runs
the tests.

Fixtures (registered for the whole test tree by tests/conftest.py):
- `pg_server` (session): the one server, started once (initdb takes a second or two);
- `pg_database` (per test): a fresh, empty database on it, dropped afterwards together with
  every role the test made, so tests never see each other's roles or rows;
- `lab_store` (per test): a database set up as a lab store (lab.schema.migrate), with no rows
  and no stations, and `add_station(name)` / `add_reader(name)` giving a new role's
  password-free URL. Migrated once and emptied between tests (rows deleted, the test's roles
  dropped) while a digest of its catalog shows nothing else changed; else made anew;
- `two_stations` (per test): a lab store with stations alpha and beta and reader desk.
They live here, not in a tests/lab/conftest.py: with pytest's default (prepend) import mode a
second module named `conftest` replaces the top one in sys.modules, and every later
`from conftest import ROOT` elsewhere in the tree would fail. Hand-made rows for the lab
tests: tests/lab/lab_rows.py.
"""
from __future__ import annotations

import atexit
import importlib.metadata
import itertools
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ADMIN = "lab_admin"
BINARIES = ("initdb", "pg_ctl", "postgres")
# Roles the server itself owns: never dropped between tests.
_KEEP_ROLES = re.compile(r"^(pg_.*|postgres|lab_admin)$")


class PgServerError(RuntimeError):
    """The test server could not be found or started: says what to install or look at."""


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.name)) or (0,)


def wheel_binaries(distribution: str = "pgserver") -> Path | None:
    """The server the pinned pip package `pgserver` bundles (requirements-dev.txt: PostgreSQL
    16 for Linux and macOS), for a machine without a system server. Found through the
    package's installed files, not by importing it: this module's own name is the same."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    folder = Path(str(dist.locate_file("pgserver/pginstall/bin")))
    return folder if all(os.access(folder / b, os.X_OK) for b in BINARIES) else None


def find_binaries(path: str | None = None, debian: Path = Path("/usr/lib/postgresql"),
                  wheel: str = "pgserver") -> Path:
    """The folder holding initdb, pg_ctl and postgres: on PATH (or `path`) first, then in
    Debian's /usr/lib/postgresql/<version>/bin, newest version first, then the server the
    pip package `wheel` bundles."""
    found = [shutil.which(b, path=path) for b in BINARIES]
    if all(found):
        folders = {Path(f).resolve().parent for f in found}
        if len(folders) == 1:
            return folders.pop()
    for folder in sorted(debian.glob("*"), key=_version, reverse=True):
        if all((folder / "bin" / b).is_file() for b in BINARIES):
            return folder / "bin"
    bundled = wheel_binaries(wheel)
    if bundled is not None:
        return bundled
    raise PgServerError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH, in /usr/lib/postgresql/*/bin or "
        "from the pip package pgserver: the lab tests need a real server. `make test` installs pgserver "
        "(requirements-dev.txt) on Linux and macOS; elsewhere install PostgreSQL (Debian/Ubuntu: "
        "apt-get install postgresql) or put its bin folder on PATH")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    """One running server. `url(db, user)` gives a password-free URL; the password comes
    from the .pgpass file at `pgpass` (exported as PGPASSFILE for the session)."""
    bin: Path
    root: Path              # temporary folder: data/, the socket and the log
    pgpass: Path
    port: int = 0
    host: str = "127.0.0.1"
    _process_owner: str | None = None    # "postgres" when run through runuser
    _running: bool = False
    _spare_store: str | None = None      # a lab store left clean by the last test, for the next
    _store_fingerprint: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres", user: str = ADMIN) -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def add_password(self, role: str, password: str, dbname: str = "*") -> None:
        """Let `role` log in to `dbname` with `password` through the .pgpass file (libpq reads
        it at every connection, so the line counts from the next connection). It replaces an
        earlier line for the same database and role: libpq takes the first line that matches,
        and a later test may make a role of the same name again."""
        start = f"{self.host}:{self.port}:{dbname}:{role}:"
        lines = [line for line in self.pgpass.read_text().splitlines() if line and not line.startswith(start)]
        self.pgpass.write_text("\n".join([start + password, *lines]) + "\n")

    def forget_passwords(self, dbname: str) -> None:
        """Drop the .pgpass lines for the database `dbname` (its test is over)."""
        prefix = f"{self.host}:{self.port}:{dbname}:"
        lines = [line for line in self.pgpass.read_text().splitlines() if line and not line.startswith(prefix)]
        self.pgpass.write_text("".join(line + "\n" for line in lines))

    def passwords(self) -> list[str]:
        """Every password in the .pgpass file: for tests that check none is ever printed."""
        return [line.rsplit(":", 1)[1] for line in self.pgpass.read_text().splitlines() if line.count(":") >= 4]

    # -- running the binaries --
    def _command(self, name: str, *args: str) -> list[str]:
        command = [str(self.bin / name), *args]
        return ["runuser", "-u", self._process_owner, "--", *command] if self._process_owner else command

    def _run(self, name: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(self._command(name, *args), capture_output=True, text=True, timeout=timeout,
                                cwd=self.root)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PgServerError(f"{name} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                                f"\n{log}")

    def start(self) -> None:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            import pwd          # POSIX only; Windows has no root
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PgServerError("running as root, and PostgreSQL refuses to run as root: the server runs as the "
                                    "`postgres` user, which does not exist here (the postgresql package makes it)") from None
            self._process_owner = "postgres"
            shutil.chown(self.root, "postgres", "postgres")
        password = secrets.token_urlsafe(24)
        pwfile = self.root / "pwfile"
        pwfile.write_text(password + "\n")
        if self._process_owner:
            shutil.chown(pwfile, self._process_owner)
        pwfile.chmod(0o600)
        self._run("initdb", "-D", str(self.data), "-U", ADMIN, f"--pwfile={pwfile}", "-A", "scram-sha-256",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        (self.data / "pg_hba.conf").write_text(
            "# the test server: every connection proves its password (scram-sha-256)\n"
            "local all all scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host all all ::1/128 scram-sha-256\n")
        for attempt in range(3):
            self.port = free_port()
            with (self.data / "postgresql.conf").open("a") as f:
                f.write(f"\n# the test server (tests/pgserver.py)\nport = {self.port}\n"
                        "listen_addresses = '127.0.0.1'\n"
                        f"unix_socket_directories = '{self.root}'\n"
                        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                        "shared_buffers = 16MB\nmax_connections = 200\n"
                        "password_encryption = 'scram-sha-256'\n")
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")
            except PgServerError:
                if attempt == 2 or "could not bind" not in self.log.read_text(errors="replace"):
                    raise
                continue                  # another process took the port in between: try another
            break
        self._running = True
        self.add_password(ADMIN, password)

    def stop(self) -> None:
        if self._running:
            self._running = False
            subprocess.run(self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           capture_output=True, timeout=60, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.pgpass.parent, ignore_errors=True)

    # -- administration for the fixtures --
    def admin_connect(self, dbname: str = "postgres"):
        import psycopg
        return psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=10)

    def create_database(self) -> str:
        """A new, empty database; its name."""
        from psycopg import sql
        name = f"test_{os.getpid()}_{next(_numbers)}"
        with self.admin_connect() as conn:
            # FILE_COPY (PostgreSQL 15+) copies the template's files: much faster than writing
            # them through the WAL
            strategy = sql.SQL(" STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else "")
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0{}").format(sql.Identifier(name), strategy))
        return name

    def reset(self, dbname: str | None) -> None:
        """Drop the database `dbname` (and the spare lab store) and every role made since
        the server started."""
        from psycopg import sql
        with self.admin_connect() as conn:
            for name in {dbname, self._spare_store} - {None}:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                self.forget_passwords(name)
            self._spare_store = None
            roles = [r[0] for r in conn.execute("SELECT rolname FROM pg_roles")]
            for role in roles:
                if not _KEEP_ROLES.match(role):
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))

    # -- lab stores, made once and cleaned between tests (a CREATE DATABASE and a migration
    # cost up to a second on a busy machine; emptying the tables costs a few milliseconds) --
    def take_lab_store(self) -> str:
        """A database holding a lab store at LAB_SCHEMA_VERSION with no rows and no login
        roles: the spare one a test left clean, else a new one."""
        if self._spare_store is not None:
            name, self._spare_store = self._spare_store, None
            return name
        from lab.connection import connect
        from lab.schema import migrate
        self.reset(None)                  # no role of an earlier test may remain
        name = self.create_database()
        conn = connect(self.url(name))
        try:
            migrate(conn)
        finally:
            conn.close()
        with self.admin_connect(name) as admin:
            self._store_fingerprint = _fingerprint(admin)
        return name

    def give_back_lab_store(self, name: str) -> None:
        """Empty the lab store `name` and drop the test's roles; keep it for the next test
        only when its schema, grants and roles are as a fresh migration left them, else drop it."""
        from psycopg import sql
        from lab.schema import DATA_TABLES, SCHEMA
        try:
            with self.admin_connect(name) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                             " WHERE datname = current_database() AND pid <> pg_backend_pid()")
                conn.execute("SET lock_timeout = '10s'")
                # DELETE, children first: for a test's few rows much cheaper than TRUNCATE's new files
                with conn.transaction():
                    for table in _EMPTY_ORDER:
                        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(SCHEMA, table)))
                    left = [t for t in (*DATA_TABLES, "stations") if t not in _EMPTY_ORDER]
                    if left:                  # a table this list does not know yet: TRUNCATE it all
                        everything = sql.SQL(", ").join(sql.Identifier(SCHEMA, t) for t in (*DATA_TABLES, "stations"))
                        conn.execute(sql.SQL("TRUNCATE {}").format(everything))
                for (role,) in conn.execute("SELECT rolname FROM pg_roles").fetchall():
                    if not _KEEP_ROLES.match(role) and role not in _GROUPS:
                        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
                clean = _fingerprint(conn) == self._store_fingerprint
        except Exception:               # noqa: BLE001  (whatever the test left: start afresh)
            clean = False
        self.forget_passwords(name)
        if clean:
            self._spare_store = name
        else:
            self.reset(name)


_GROUPS = ("solidstack_station", "solidstack_reader")
_EMPTY_ORDER = ("spectrum_points", "spectra", "sample_chunks", "run_steps", "events", "run_outcomes", "notes",
                "run_tags", "build_tags", "runs", "protocols", "build_layers", "builds", "operators",
                "material_lots", "stations")
_numbers = itertools.count(1)


def _fingerprint(conn) -> str:
    """A digest of all a test could change in a lab store besides its rows: relations and their
    columns, grants, policies, triggers, functions, schemas, extensions, settings, the roles
    and their memberships, the version and the materials catalog."""
    return conn.execute("""
        SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
            SELECT 'rel ' || c.oid::regclass::text || c.relkind::text || COALESCE(c.relacl::text, '')
                   || c.relrowsecurity::text || c.relforcerowsecurity::text || pg_get_userbyid(c.relowner)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname !~ '^(pg_|information_schema)'
            UNION ALL
            SELECT 'col ' || a.attrelid::regclass::text || a.attname || format_type(a.atttypid, a.atttypmod)
                   || a.attnotnull::text || COALESCE(a.attacl::text, '')
                   || COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE n.nspname !~ '^(pg_|information_schema)' AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT 'con ' || conrelid::regclass::text || conname || pg_get_constraintdef(oid) FROM pg_constraint
            WHERE connamespace::regnamespace::text !~ '^(pg_|information_schema)'
            UNION ALL
            SELECT 'pol ' || schemaname || tablename || policyname || permissive || cmd || roles::text
                   || COALESCE(qual, '') || COALESCE(with_check, '') FROM pg_policies
            UNION ALL
            SELECT 'trg ' || tgrelid::regclass::text || tgname || tgenabled::text FROM pg_trigger WHERE NOT tgisinternal
            UNION ALL
            SELECT 'fn ' || p.oid::regprocedure::text || md5(p.prosrc) || COALESCE(p.proacl::text, '')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname !~ '^(pg_|information_schema)'
            UNION ALL
            SELECT 'view ' || schemaname || viewname || md5(definition) FROM pg_views
            WHERE schemaname !~ '^(pg_|information_schema)'
            UNION ALL
            SELECT 'ns ' || nspname || COALESCE(nspacl::text, '') || pg_get_userbyid(nspowner) FROM pg_namespace
            WHERE nspname !~ '^pg_(temp|toast_temp)'
            UNION ALL
            SELECT 'ext ' || extname || extversion FROM pg_extension
            UNION ALL
            SELECT 'db ' || COALESCE(datacl::text, '') FROM pg_database WHERE datname = current_database()
            UNION ALL
            SELECT 'set ' || setdatabase::text || setrole::text || COALESCE(setconfig::text, '') FROM pg_db_role_setting
            UNION ALL
            SELECT 'role ' || rolname || rolsuper::text || rolinherit::text || rolcreaterole::text
                   || rolcreatedb::text || rolcanlogin::text || rolbypassrls::text || rolconnlimit::text
            FROM pg_roles WHERE rolname !~ '^pg_'
            UNION ALL
            SELECT 'member ' || roleid::regrole::text || member::regrole::text || admin_option::text
            FROM pg_auth_members
            UNION ALL
            SELECT 'meta ' || key || value FROM solidstack.lab_meta
            UNION ALL
            SELECT 'material ' || key || label || kind FROM solidstack.materials
        ) AS everything (x)""").fetchone()[0]


# Run by a detached Python when the server has started: once the test process is gone, even
# SIGKILLed (a CI timeout), where atexit never runs, it stops the server and removes its folders.
_WATCHDOG = """
import os, shutil, subprocess, sys, time
pid, command, folders = int(sys.argv[1]), sys.argv[2:-2], sys.argv[-2:]
while True:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run(command, capture_output=True, timeout=60)
for folder in folders:
    shutil.rmtree(folder, ignore_errors=True)
"""


def start_server() -> PgServer:
    """A started server, stopped at interpreter exit whatever happens in between."""
    bin_dir = find_binaries()
    root = Path(tempfile.mkdtemp(prefix="solidstack-pg-"))
    pgpass = Path(tempfile.mkdtemp(prefix="solidstack-pgpass-")) / "pgpass"
    pgpass.touch(mode=0o600)
    server = PgServer(bin=bin_dir, root=root, pgpass=pgpass)
    atexit.register(server.stop)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    stop = server._command("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
    subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), *stop, str(root), str(pgpass.parent)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, cwd="/")
    return server


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server; PGPASSFILE points at its .pgpass for the session
    (subprocesses inherit it). A missing server fails the test: CI must never skip these."""
    try:
        server = start_server()
    except PgServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    previous = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(server.pgpass)
    try:
        yield server
    finally:
        if previous is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = previous
        server.stop()


@dataclass
class PgDatabase:
    """A fresh database on the session's server; `url` connects as the superuser lab_admin."""
    server: PgServer
    name: str

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def url_for(self, role: str) -> str:
        return self.server.url(self.name, role)

    def connect(self, role: str = ADMIN, autocommit: bool = True):
        import psycopg
        return psycopg.connect(self.url_for(role), autocommit=autocommit, connect_timeout=10)


@pytest.fixture
def pg_database(pg_server):
    """An empty database for one test, on a server with no roles but the admin's; dropped
    afterwards with every role the test made."""
    pg_server.reset(None)     # the spare lab store and its group roles go: this test starts bare
    name = pg_server.create_database()
    try:
        yield PgDatabase(pg_server, name)
    finally:
        pg_server.reset(name)


@dataclass
class LabStore:
    """A database set up as a lab store by `lab.schema.migrate` (as lab_admin). Stations and
    readers made here get a random password in the session's .pgpass, so their URLs (no
    password) connect as a station's would."""
    db: PgDatabase

    @property
    def url(self) -> str:
        """The lab admin's URL."""
        return self.db.url

    def url_for(self, role: str) -> str:
        return self.db.url_for(role)

    def connect(self, role: str = ADMIN, autocommit: bool = True):
        return self.db.connect(role, autocommit)

    def add_station(self, name: str) -> str:
        """A new station `name` (lab.admin.add_station); its role's URL."""
        from lab.admin import add_station
        password = secrets.token_urlsafe(18)
        role = add_station(self.url, name, password=password)
        self.db.server.add_password(role, password, self.db.name)
        return self.url_for(role)

    def add_reader(self, name: str) -> str:
        from lab.admin import add_reader
        password = secrets.token_urlsafe(18)
        role = add_reader(self.url, name, password=password)
        self.db.server.add_password(role, password, self.db.name)
        return self.url_for(role)


@pytest.fixture
def lab_store(pg_server):
    """A lab store (schema at LAB_SCHEMA_VERSION) with no rows and no stations, for one test.
    Afterwards its rows and the test's roles are removed; the store is kept for the next test
    only if nothing else in it changed (else it is dropped and the next test migrates anew)."""
    name = pg_server.take_lab_store()
    try:
        yield LabStore(PgDatabase(pg_server, name))
    finally:
        pg_server.give_back_lab_store(name)


@pytest.fixture
def two_stations(lab_store):
    """(store, URL of station alpha, URL of station beta, URL of reader desk): password-free
    URLs, the passwords in the session's .pgpass."""
    return lab_store, lab_store.add_station("alpha"), lab_store.add_station("beta"), lab_store.add_reader("desk")
