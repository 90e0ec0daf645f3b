"""What a cell's label says, read from the notebook, and the label sizes: the code (the
cell id, or "#<build>" for a build saved without one), the template, the date, the
operator and the stack. Drawing it is gui/label.py's; this part needs no Qt."""
from __future__ import annotations

import re
from dataclasses import dataclass

from notebook.errors import NotebookError
from notebook.store import Notebook

# Common label stock, width x height in mm: 62 mm continuous tape cut at 29 mm (the
# Brother QL address-label size), and the small 25 x 50 mm labels of a holder or vial.
SIZES = {"62x29": (62.0, 29.0), "25x50": (25.0, 50.0), "62x100": (62.0, 100.0), "50x25": (50.0, 25.0)}
DEFAULT_SIZE = "62x29"
SIZE_LIMITS_MM = (15.0, 300.0)


@dataclass(frozen=True)
class LabelText:
    code: str          # what the QR code holds: scanning it brings the build back
    cell_id: str
    build_id: int
    template: str
    date: str          # YYYY-MM-DD, UTC, when the build was saved
    operator: str
    stack: str         # e.g. "Al | NMC | LPSCl | Li"

    @property
    def lines(self) -> list[str]:
        """The printed lines under the cell id."""
        who = f" · {self.operator}" if self.operator else ""
        return [self.stack, f"{self.template} · build #{self.build_id}", f"{self.date}{who}"]


def label_text(notebook: Notebook, build_id: int) -> LabelText:
    """NotebookError naming the build and the notebook if there is no such build."""
    row = notebook.conn.execute("SELECT id, created_utc, name, template, description, operator FROM builds WHERE id = ?",
                                (build_id,)).fetchone()
    if row is None:
        raise NotebookError(f"no build {build_id} in {notebook.path}")
    code = row["name"] or f"#{row['id']}"
    return LabelText(code, row["name"], row["id"], row["template"], row["created_utc"][:10], row["operator"],
                     row["description"])


def parse_size(text: str) -> tuple[float, float]:
    """"62x29" -> (62.0, 29.0) mm; a named size or any WxH in mm within SIZE_LIMITS_MM.
    ValueError naming what is wrong."""
    if text in SIZES:
        return SIZES[text]
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[xX×]\s*(\d+(?:\.\d+)?)\s*(?:mm)?\s*", text)
    if not match:
        raise ValueError(f"label size {text!r} is not WIDTHxHEIGHT in mm, e.g. {', '.join(SIZES)}")
    width, height = float(match.group(1)), float(match.group(2))
    lo, hi = SIZE_LIMITS_MM
    if not (lo <= width <= hi and lo <= height <= hi):
        raise ValueError(f"label size {text!r}: each side must be {lo:g} to {hi:g} mm")
    return width, height
