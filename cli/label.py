"""`main.py label`: a cell's label (QR code of the cell id, template, date, operator,
stack) as a PNG or PDF. This module checks the request and reads the build, without Qt;
main.py draws it (gui/label.py), as only gui/ and main.py may use Qt."""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from cli.common import CliError, open_notebook, run_id


@dataclass(frozen=True)
class LabelRequest:
    text: object                      # notebook.labels.LabelText
    size_mm: tuple[float, float]
    out: Path


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from notebook.labels import DEFAULT_SIZE, SIZES
    p = sub.add_parser("label", parents=[common],
                       help="a cell's label: QR code of its cell id, template, date, operator and stack, as PNG or PDF")
    p.add_argument("--build", type=run_id, required=True, help="build id (main.py runs lists them with their builds)")
    p.add_argument("--out", type=Path, required=True, help="FILE.png (300 dpi) or FILE.pdf (one page of the label's size)")
    p.add_argument("--size", default=DEFAULT_SIZE,
                   help=f"label size WIDTHxHEIGHT in mm: {', '.join(SIZES)} or any other (default {DEFAULT_SIZE}: "
                        "62 mm continuous tape)")


def request(args: argparse.Namespace) -> LabelRequest:
    """What to draw and where; CliError (one line) for a bad size, suffix, file or build.
    Nothing is written here."""
    from notebook import NotebookError
    from notebook.labels import label_text, parse_size
    try:
        size = parse_size(args.size)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    out = Path(args.out)
    if out.is_dir():
        raise CliError(f"--out {out} is a folder; name a .png or .pdf file")
    if out.suffix.lower() not in (".png", ".pdf"):
        raise CliError(f"--out {out}: a label is written as .png or .pdf, not "
                       f"{out.suffix or 'a file without a suffix'}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"--out {out}: there is no folder {folder}")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CliError(f"--out {out} cannot be written (no permission)")
    notebook = open_notebook(args.db, read_only=True)
    try:
        text = label_text(notebook, args.build)
    except NotebookError as exc:
        raise CliError(str(exc)) from None
    finally:
        notebook.close()
    return LabelRequest(text, size, out)
