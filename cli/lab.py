"""`main.py lab`: the lab store on PostgreSQL from the command line.

    lab init URL                      create or migrate the store's schema (as the server's admin role)
    lab add-station NAME --url URL    a login role for one station (writes its own records, reads all)
    lab add-reader NAME --url URL     a login role that only reads (analysts, desk stations)
    lab sync / lab status             a station's notebook to the store (cli/lab_sync.py)

URLs are whatever libpq takes (postgresql://ROLE@HOST:PORT/DB?sslmode=..., key=value, or
service=NAME) and never hold a password: libpq finds it in ~/.pgpass, a service file or
PGPASSWORD. Each subcommand is a function `(actions, common)` registering its parser and
handler, listed in SUBCOMMANDS; `lab sync` and `lab status` come from cli/lab_sync.py."""
from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

from cli.common import CliError, clean_text, print_json
from cli.lab_sync import add_status, add_sync

PGPASS_HINT = ("~/.pgpass (mode 0600; on Windows %APPDATA%\\postgresql\\pgpass.conf; or the file PGPASSFILE names)")


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("lab", help="the lab store on PostgreSQL: set it up, add stations and readers, sync",
                       description="The lab store on PostgreSQL. URLs are libpq's (postgresql://ROLE@HOST:PORT/DB, "
                                   "key=value or service=NAME) and never hold a password: libpq reads it from "
                                   "~/.pgpass, a service file or PGPASSWORD.")
    actions = p.add_subparsers(dest="lab_command", metavar="{init,add-station,add-reader,sync,status}")
    p.set_defaults(handler=lambda args: _no_action(p))
    for register in SUBCOMMANDS:
        register(actions, common)


def _no_action(parser: argparse.ArgumentParser) -> int:
    raise CliError("lab needs a subcommand: init, add-station, add-reader, sync or status (see main.py lab --help)")


# -- lab init --
def _add_init(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    q = actions.add_parser(
        "init", help="create or migrate the lab store's schema on PostgreSQL 14 or newer",
        description="Create the schema `solidstack` (tables, the group roles solidstack_station and "
                    "solidstack_reader, grants, row-level security and the views lab_runs, lab_cycles, "
                    "lab_events) or migrate it to this build's version. Connect as the server's admin role "
                    "(a superuser, or a role with CREATEROLE and CREATE on the database). Run again it changes "
                    "nothing; two at once are safe.")
    q.add_argument("url", metavar="URL", help="the lab database, as the admin role: postgresql://ADMIN@HOST:PORT/DB "
                                              "or service=NAME (no password in it)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=handle_init)


def handle_init(args: argparse.Namespace) -> int:
    from lab.connection import LabError, describe, redact
    from lab.schema import init_lab_report
    try:
        before, after = init_lab_report(args.url)
    except LabError as exc:
        raise CliError(str(exc)) from None
    where = describe(args.url)
    if args.json:
        print_json({"url": redact(args.url), "version_before": before, "version": after, "changed": before != after})
    elif before is None:
        print(f"lab store created at {clean_text(where)}: schema version {after}")
    elif before == after:
        print(f"lab store at {clean_text(where)} is at schema version {after}: nothing to do")
    else:
        print(f"lab store at {clean_text(where)} migrated from schema version {before} to {after}")
    return 0


# -- lab add-station / add-reader --
def _login_parser(actions: argparse._SubParsersAction, kind: str, rights: str) -> argparse.ArgumentParser:
    prefix = "station_" if kind == "station" else "reader_"
    q = actions.add_parser(
        f"add-{kind}", help=f"a login role for one {kind} ({rights})",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"Make the login role {prefix}NAME in solidstack_{kind} ({rights}), and its row in "
                    "solidstack.stations. A name is taken once: a second one of the same name is refused.\n\n"
                    "The password: by default a random one is made, set on the role (the server gets only its "
                    "SCRAM-SHA-256 verifier) and printed ONCE, with the line to put in the "
                    f"{kind}'s {PGPASS_HINT}; SolidStack keeps no copy. --pgpass-file FILE appends that line "
                    "to FILE (made mode 0600) instead of printing the password. --no-password makes a role "
                    "with no password, for certificate (cert) or peer authentication set up in the server's "
                    "pg_hba.conf, or for a password the admin sets later (psql: \\password ROLE).\n\n"
                    "Then give the station the printed lab URL, which holds no password.")
    q.add_argument("name", metavar="NAME", help="letters, digits and _ (lower-cased), up to 40: e.g. glovebox_2")
    q.add_argument("--url", required=True, help="the lab database, as the admin role (no password in it)")
    how = q.add_mutually_exclusive_group()
    how.add_argument("--no-password", action="store_true",
                     help="no password: the role logs in by certificate or peer authentication")
    how.add_argument("--pgpass-file", type=Path, metavar="FILE",
                     help="append the role's .pgpass line to FILE (mode 0600) instead of printing the password")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=handle_add_login, kind=kind)
    return q


def _add_station(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _login_parser(actions, "station", "writes only its own records, reads everyone's")


def _add_reader(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _login_parser(actions, "reader", "reads only")


def _append_pgpass(path: Path, line: str) -> None:
    """Append `line` to the .pgpass file at `path`, made (or kept) readable by its owner only:
    libpq ignores a password file others can read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CliError(f"cannot write the password file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "a") as f:
        os.chmod(path, 0o600)
        f.write(line + "\n")


def handle_add_login(args: argparse.Namespace) -> int:
    from lab.admin import check_name, create_login
    from lab.connection import LabError
    if args.pgpass_file is not None:
        folder = args.pgpass_file.expanduser().resolve().parent
        if not folder.is_dir():
            raise CliError(f"--pgpass-file: the folder {folder} does not exist")
    try:
        check_name(args.name)
        password = None if args.no_password else secrets.token_urlsafe(18)
        made = create_login(args.url, args.name, args.kind, password)
    except LabError as exc:
        raise CliError(str(exc)) from None
    line = None if password is None else made.pgpass_line(password)
    if args.pgpass_file is not None and line is not None:
        _append_pgpass(args.pgpass_file.expanduser(), line)
    shown = password if (password is not None and args.pgpass_file is None) else None
    if args.json:
        print_json({"role": made.role, "name": made.name, "kind": made.kind, "url": made.url(),
                    "password": shown, "pgpass_line": line if shown else None,
                    "pgpass_file": str(args.pgpass_file) if args.pgpass_file else None})
        return 0
    print(f"{made.kind} {made.name!r}: login role {made.role} in solidstack_{made.kind}, "
          f"lab store {made.host}:{made.port}/{made.dbname}")
    if password is None:
        print("no password set: let the role in by certificate (cert) or peer authentication in the server's "
              "pg_hba.conf, or set one later (psql: \\password " + made.role + ")")
    elif shown is None:
        print(f"password: a random one, its .pgpass line appended to {args.pgpass_file} (mode 0600): copy that "
              f"line into the {made.kind}'s {PGPASS_HINT}")
    else:
        print(f"password (shown once; SolidStack keeps no copy): {shown}")
        print(f"on the {made.kind}, add this line to {PGPASS_HINT}:")
        print(f"  {line}")
    print(f"the {made.kind}'s lab URL (no password in it; use the host name the {made.kind} reaches the server "
          f"by): {made.url()}")
    return 0


SUBCOMMANDS = [_add_init, _add_station, _add_reader, add_sync, add_status]   # sync, status: cli/lab_sync.py
