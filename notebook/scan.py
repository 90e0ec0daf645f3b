"""What a scanned (or typed) code is, looked up in the notebook: a cell id of a saved
build, a material lot, an operator's badge, or nothing known.

Precedence, first match wins: the badge prefix (e.g. "OP:CW"), a build's cell id (the
newest build carrying it; "#12" is build 12, what a label of a build without a cell id
carries), a known material lot, an operator's name, else unknown. Cell ids are matched
exactly; lots and operator names also ignore case, as scanners send what the caps-lock
says. Also: the cell ids already taken, for cell/ids.py."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from notebook.store import Notebook

KINDS = ("cell", "lot", "operator", "unknown")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Scan:
    kind: str                    # one of KINDS
    text: str                    # the code as scanned, trimmed
    value: str = ""              # cell id, lot or operator name as the notebook has it
    build_id: int | None = None  # kind "cell": the newest build with that id
    builds: int = 0              # kind "cell": how many builds carry the id
    materials: tuple[str, ...] = field(default_factory=tuple)   # kind "lot": the materials with that lot

    @property
    def material(self) -> str | None:
        """The lot's material, if the lot names exactly one."""
        return self.materials[0] if len(self.materials) == 1 else None


def clean_code(text: str) -> str:
    """A scanned code without the scanner's control characters and surrounding blanks."""
    return _CONTROLS.sub("", text).strip()


def classify(notebook: Notebook, text: str, badge_prefix: str = "OP:") -> Scan:
    code = clean_code(text)
    if not code:
        return Scan("unknown", code)
    if badge_prefix and code.lower().startswith(badge_prefix.lower()):
        name = code[len(badge_prefix):].strip()
        return Scan("operator", code, name) if name else Scan("unknown", code)
    conn = notebook.conn
    by_number = re.fullmatch(r"#(\d{1,18})", code)
    if by_number:
        row = conn.execute("SELECT id, name FROM builds WHERE id = ?", (int(by_number.group(1)),)).fetchone()
        if row is not None:
            return Scan("cell", code, row["name"], row["id"], 1)
    rows = conn.execute("SELECT id FROM builds WHERE name = ? ORDER BY id DESC", (code,)).fetchall()
    if rows:
        return Scan("cell", code, code, rows[0]["id"], len(rows))
    lots = conn.execute(
        "SELECT material, lot FROM material_lots WHERE lot = ? COLLATE NOCASE"
        " UNION SELECT material, lot FROM build_layers WHERE lot = ? COLLATE NOCASE ORDER BY 1",
        (code, code)).fetchall()
    if lots:
        exact = [r for r in lots if r["lot"] == code] or lots
        return Scan("lot", code, exact[0]["lot"], materials=tuple(dict.fromkeys(r["material"] for r in exact)))
    row = conn.execute("SELECT name FROM operators WHERE name = ? COLLATE NOCASE"
                       " UNION SELECT operator FROM builds WHERE operator = ? COLLATE NOCASE", (code, code)).fetchone()
    if row is not None:
        return Scan("operator", code, row[0])
    return Scan("unknown", code)


def taken_cell_ids(notebook: Notebook) -> set[str]:
    return {r[0] for r in notebook.conn.execute("SELECT DISTINCT name FROM builds WHERE name != ''")}


def known_operators(notebook: Notebook) -> list[str]:
    """Operators this notebook has seen, most recently active first."""
    recent = [r[0] for r in notebook.conn.execute(
        "SELECT operator FROM builds WHERE operator != '' GROUP BY operator ORDER BY MAX(id) DESC")]
    others = [r[0] for r in notebook.conn.execute("SELECT name FROM operators ORDER BY created_utc DESC, name")]
    return list(dict.fromkeys(recent + others))


def lots_by_material(notebook: Notebook) -> dict[str, list[str]]:
    """Every known lot per material: those builds used (most recent first, as
    Notebook.lots has them), then those only registered in material_lots."""
    out = {material: list(lots) for material, lots in notebook.lots().items()}
    for row in notebook.conn.execute("SELECT material, lot FROM material_lots ORDER BY created_utc DESC, lot"):
        lots = out.setdefault(row["material"], [])
        if row["lot"] not in lots:
            lots.append(row["lot"])
    return out
