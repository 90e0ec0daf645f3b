"""`main.py lab sync` and `lab status`: push a notebook's outbox to the lab store, and say
what is still waiting, from the command line (cli/lab.py registers them with its other `lab`
subcommands).

    lab sync [--db PATH] [--url URL] [--json]   push now; remembers URL in the notebook
    lab status [--db PATH] [--json]             the backlog and the last sync; reads only

A URL holding a password is refused before anything is opened: credentials come only from
libpq (~/.pgpass, a service file, PGPASSWORD), and a URL is printed only with any password taken out."""
from __future__ import annotations

import argparse
import sqlite3

from cli.common import CliError, clean_text, existing_notebook, notebook_path, open_notebook, print_json, \
    refuse_read_only


def add_sync(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    q = actions.add_parser(
        "sync", parents=[common], help="push this station's notebook to the lab store now",
        description="Push everything the notebook's outbox holds (builds, runs, samples, steps, events, spectra, "
                    "notes, tags, operators, lots, and ended runs' outcome figures) to the lab store, in batches, "
                    "each one transaction; a sync stopped or killed midway is simply run again. --url is "
                    "remembered in the notebook (never with a password) once a sync through it succeeds; without "
                    "--url the remembered one is used. The station's login must have been made by "
                    "`lab add-station`.")
    q.add_argument("--url", help="the lab store as this station's login: postgresql://station_NAME@HOST:PORT/DB or "
                                 "service=NAME (no password in it; default: the URL the notebook remembers)")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=handle_sync)


def add_status(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    q = actions.add_parser(
        "status", parents=[common], help="what this notebook has not yet pushed to the lab store, and its last sync",
        description="The notebook's backlog (runs with anything pending, samples in pending chunks, outbox "
                    "records), its remembered lab URL and when it last synced. Reads the notebook only; does not "
                    "contact the server.")
    q.add_argument("--json", action="store_true", help="print one JSON object")
    q.set_defaults(handler=handle_status)


def _remembered(args: argparse.Namespace) -> str:
    from notebook import NotebookError
    from notebook.station import lab_url
    nb = open_notebook(args.db)
    try:
        url = lab_url(nb.conn)
    except NotebookError as exc:
        raise CliError(str(exc)) from None
    finally:
        nb.close()
    if not url:
        raise CliError(f"no lab URL: give --url postgresql://station_NAME@HOST:PORT/DB (the notebook "
                       f"{notebook_path(args.db)} remembers it after the first sync)")
    return url


def handle_sync(args: argparse.Namespace) -> int:
    from lab.connection import LabError, check_no_password, redact
    from lab.sync import SyncStatus, sync_once
    from notebook import Notebook, NotebookError
    from notebook.station import set_lab_url
    refuse_read_only(args, "writes the notebook (it deletes what it pushed from the outbox)")
    existing_notebook(args.db)              # a sync never makes a notebook
    if args.url is not None:
        try:
            check_no_password(args.url)     # before anything is opened: nothing is changed
        except LabError as exc:
            raise CliError(str(exc)) from None
        url = args.url.strip()
        open_notebook(args.db).close()      # made or migrated to the schema with an outbox, as any writer would
    else:
        url = _remembered(args)
    path = notebook_path(args.db)
    try:
        report = sync_once(path, url)
    except (LabError, NotebookError) as exc:
        raise CliError(str(exc)) from None
    remembered = False
    if args.url is not None:
        with Notebook(path) as nb:
            try:
                set_lab_url(nb.conn, url)
            except NotebookError as exc:
                raise CliError(str(exc)) from None
        remembered = True
    status = SyncStatus("synced" if report.behind.empty else "behind", report.behind)
    if args.json:
        print_json({**report.as_dict(), "remembered_url": remembered, "text": status.text()})
        return 0
    pushed = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in report.pushed.items() if n) or "nothing new"
    print(f"pushed to {clean_text(redact(url))} as station {clean_text(report.station)!r} in {report.batches} "
          f"batch{'es' if report.batches != 1 else ''} ({report.seconds:.1f} s): {pushed}")
    for warning in report.warnings:
        print(f"warning: {clean_text(warning, one_line=True)}")
    print(status.text())
    if remembered:
        print(f"the notebook now syncs to {clean_text(redact(url))} (lab sync without --url uses it)")
    return 0


def handle_status(args: argparse.Namespace) -> int:
    from lab.backlog import backlog
    from lab.connection import redact
    from lab.sync import LAST_SYNC_KEY, SyncStatus
    from notebook import Notebook, NotebookError
    from notebook.station import lab_url
    path = existing_notebook(args.db)
    try:
        with Notebook(path, read_only=True) as nb:
            behind = backlog(nb.conn)
            url = lab_url(nb.conn)
            row = nb.conn.execute("SELECT value FROM station WHERE key = ?", (LAST_SYNC_KEY,)).fetchone()
    except NotebookError as exc:
        raise CliError(str(exc)) from None
    except sqlite3.OperationalError as exc:      # opened read-only, an older notebook has no outbox yet
        raise CliError(f"{path} has no lab outbox ({exc}): open it once with this SolidStack to migrate it") from None
    last = row[0] if row else None
    state = "not_set_up" if not url else ("synced" if behind.empty else "behind")
    text = SyncStatus(state, behind).text()
    if args.json:
        print_json({"url": redact(url) if url else None, "last_sync_utc": last, "behind": behind.as_dict(),
                    "text": text})
        return 0
    print(text if url else f"{text} (no lab URL yet: lab sync --url URL)")
    if url:
        print(f"lab store: {clean_text(redact(url))}")
    print(f"waiting: {behind.runs} runs, {behind.samples} samples, {behind.records} outbox records")
    print(f"last sync: {last or 'never'}")
    return 0
