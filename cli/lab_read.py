"""`--lab URL` on the reading commands (runs, analyze, replay, export): the options they
share, the run argument that is either a notebook's run id or a run's UUID, and turning a
lab run into (cache notebook, run id there) so that each command's own code reads it.

A run UUID given without --lab is looked up in the local notebook (runs carry their UUID
since notebook schema v5). Every failure is a CliError (one line, exit status 2) that
never holds a password."""
from __future__ import annotations

import argparse
import sqlite3
from datetime import date
from pathlib import Path

from cli.common import CliError, existing_notebook, run_id, warn

FILTERS = ("station", "status", "template", "operator", "material", "lot", "tag", "text")


def run_ref(text: str) -> int | str:
    """A run's id in a notebook (a whole number) or a run's UUID (lower-cased)."""
    from notebook.ids import is_uuid
    if is_uuid(text.strip()):
        return text.strip().lower()
    if text.strip().lstrip("+-").isdigit():
        return run_id(text)
    raise argparse.ArgumentTypeError(f"{text!r} is neither a run id (a whole number) nor a run UUID "
                                     "(like 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b)")


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def add_lab_option(parser: argparse.ArgumentParser, cache: bool = True) -> None:
    parser.add_argument("--lab", metavar="URL",
                        help="read from the lab store at URL (postgresql://ROLE@HOST:PORT/DB or service=NAME; the "
                             "password comes from ~/.pgpass, a service file or PGPASSWORD, never the URL); runs are "
                             "named by their UUID")
    if cache:
        parser.add_argument("--cache", type=Path, metavar="PATH",
                            help="with --lab: the notebook lab runs are fetched into (default: lab-cache.sqlite in "
                                 "the user cache directory)")


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """The run criteria (as the Notebook browser's, plus --station for the lab)."""
    parser.add_argument("--station", help="with --lab: runs of this station (its name or login role)")
    parser.add_argument("--status", help="runs with this status (completed, shorted, running, ...)")
    parser.add_argument("--template", help="runs on builds of this template")
    parser.add_argument("--operator", help="runs on builds by this operator")
    parser.add_argument("--material", help="runs on builds with a layer of this material (a catalog key)")
    parser.add_argument("--lot", help="runs on builds with a layer whose lot contains this text")
    parser.add_argument("--tag", help="runs carrying this tag (on the run or its build)")
    parser.add_argument("--text", help="runs whose message, build name or notes contain this text")
    parser.add_argument("--since", type=day, metavar="YYYY-MM-DD", help="runs started on or after this UTC day")
    parser.add_argument("--until", type=day, metavar="YYYY-MM-DD", help="runs started on or before this UTC day")


def criteria(args: argparse.Namespace) -> dict:
    """The criteria given, as LabReader.runs / RunQuery keywords (station only for the lab)."""
    out = {name: getattr(args, name) for name in FILTERS if getattr(args, name, None) not in (None, "")}
    for name in ("since", "until"):
        if getattr(args, name, None) is not None:
            out[name] = getattr(args, name)
    return out


def uses_lab(args: argparse.Namespace) -> bool:
    """Whether the command reads the lab; --lab with --db (or --cache without --lab) is refused."""
    lab = getattr(args, "lab", None)
    if lab is None:
        if getattr(args, "cache", None) is not None:
            raise CliError("--cache is where --lab keeps the runs it fetches: give --lab URL too")
        return False
    if getattr(args, "db", None) is not None:
        raise CliError("--db names a local notebook and --lab the lab store: give one (--cache PATH sets where lab "
                       "runs are kept)")
    if getattr(args, "read_only", False):
        raise CliError("--read-only is for a local notebook; --lab only ever reads the lab store")
    return True


def lab_error(exc: Exception) -> CliError:
    from lab.connection import redact
    return CliError(redact(str(exc)))


def fetch(args: argparse.Namespace, run: int | str | None) -> tuple[Path, int]:
    """The lab run `run` (a UUID) fetched into the cache: (cache path, its id there). Says on
    stderr when the lab does not hold all its samples yet (its station is still syncing)."""
    from lab.connection import LabError
    from lab.fetch import fetch_run_report
    if run is None:
        raise CliError("give the run's UUID (runs --lab URL lists them)")
    if not isinstance(run, str):
        raise CliError(f"with --lab a run is named by its UUID, not a number ({run}): runs --lab URL lists them")
    try:
        report = fetch_run_report(args.lab, run, getattr(args, "cache", None))
    except LabError as exc:
        raise lab_error(exc) from None
    if report.behind:
        warn(f"run {run}: {report.cached_samples:,} of its {report.lab_samples:,} samples have reached the lab so far "
             "(its station is still sending them); the rest follow with a later fetch")
    return report.path, report.run_id


def local_run(db: Path | None, run: int | str | None) -> int | None:
    """A run given by UUID without --lab: its id in the local notebook (None stays None)."""
    if not isinstance(run, str):
        return run
    path = existing_notebook(db)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT id FROM runs WHERE uuid = ?", (run,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CliError(f"{path} cannot be read: {exc}") from None
    if row is None:
        raise CliError(f"no run {run} in {path} (a run from another station is read with --lab URL)")
    return int(row[0])


def resolve_run(args: argparse.Namespace, attribute: str = "run") -> None:
    """args.db and args.<attribute> made to name a notebook run: the lab run fetched into the
    cache with --lab, or the local run a UUID names."""
    run = getattr(args, attribute)
    if uses_lab(args):
        args.db, local = fetch(args, run)
        setattr(args, attribute, local)
    elif isinstance(run, str):
        setattr(args, attribute, local_run(args.db, run))
