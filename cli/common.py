"""What every command shares: the one-line user error, the notebook options (--db,
--read-only) with one meaning wherever they are written, opening the notebook, argument
types that refuse what cannot be meant, JSON output that is always valid JSON, and text
output stripped of terminal control characters."""
from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any

from notebook.jsontext import dumps


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


# -- the notebook --
def add_notebook_options(parser: argparse.ArgumentParser, top_level: bool) -> None:
    """--db and --read-only. On a subcommand they default to SUPPRESS, so that a value given
    before the command (`main.py --db X import F`) is not overwritten by the subcommand's
    default (argparse copies every default of a subparser over the namespace)."""
    parser.add_argument("--db", type=Path, default=None if top_level else argparse.SUPPRESS,
                        help="notebook file (default: notebook.sqlite in the user data directory)")
    parser.add_argument("--read-only", action="store_true", default=False if top_level else argparse.SUPPRESS,
                        help="open the notebook read-only (e.g. a copy from the glovebox PC): browse, analyse, "
                             "replay, export; nothing is written")


def notebook_path(path: Path | None) -> Path:
    """--db, or the user's notebook."""
    if path is not None:
        return path
    from notebook import default_path
    return default_path()


def existing_notebook(path: Path | None) -> Path:
    """The notebook a reading command reads: it must exist, reading never creates one."""
    path = notebook_path(path)
    if not path.exists():
        raise CliError(f"no notebook at {path}")
    return path


def refuse_read_only(args: argparse.Namespace, what: str) -> None:
    if args.read_only:
        raise CliError(f"{args.command} {what}, which --read-only forbids; drop --read-only to do it")


def open_notebook(path: Path | None, read_only: bool = False):
    """The notebook at `path` (default: the user's). Opened read-only it must exist."""
    from notebook import Notebook, NotebookError
    if read_only:
        path = existing_notebook(path)
    elif path is None:
        path = notebook_path(None)
        path.parent.mkdir(parents=True, exist_ok=True)   # the user data folder, on first use
    try:
        nb = Notebook(path, read_only=read_only)
    except NotebookError as exc:
        raise CliError(str(exc)) from None
    if nb.notice:       # e.g. read as a snapshot: its folder is not writable
        print(f"note: {nb.notice}", file=sys.stderr)
    return nb


# -- argument types: argparse turns their ArgumentTypeError into one line and exit status 2 --
SQLITE_MAX_INT = 2**63 - 1


def run_id(text: str) -> int:
    """A run's or a build's id in the notebook: a whole number SQLite can hold (2**70 would
    overflow on the way into the query)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 < value <= SQLITE_MAX_INT:
        raise argparse.ArgumentTypeError(f"{text!r} is not an id (ids are 1 to {SQLITE_MAX_INT})")
    return value


def finite_float(text: str) -> float:
    """A number, not inf or nan."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


# -- output --
def print_json(value: Any, **kwargs) -> None:
    print(dumps(value, **kwargs))


# ESC sequences (CSI, OSC/DCS/PM/APC strings, the short ones such as a charset switch),
# then any other C0 or C1 control and DEL: names and messages come from files and other people.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[\]P^_X][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: Any, one_line: bool = False) -> str:
    """`value` as text safe to print on a terminal: no control characters but tab and
    newline (`one_line`: those too become spaces, for a cell of a table)."""
    text = _CONTROLS.sub("", _ESCAPES.sub("", str(value)))
    return re.sub(r"[\t\n]", " ", text) if one_line else text


def warn(message: Any) -> None:
    print(f"warning: {clean_text(message)}", file=sys.stderr)


class OneLineParser(argparse.ArgumentParser):
    """An argument error as one line naming the command and what is wrong, exit status 2
    (argparse's default also prints the whole usage)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {clean_text(message)} (see --help)\n")
