"""The layout of EC-Lab (BioLogic) text exports, `.mpt`: the header block and what it says
about the test (start, device, channel, cell characteristics, technique, loops), the
tab-separated data table with or without that header block and with decimal points or
commas (a German-locale PC), and where the impedance sweeps recorded in it begin and end.
What the rows mean (samples or spectra) is decided in biologic.py."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from notebook.formats.common import FormatError
from notebook.formats.spectra import lines_of, split_sweeps
from notebook.formats.start_time import start_meta

MAGIC = "EC-Lab ASCII FILE"
FREQ, RE_Z, MINUS_IM_Z = "freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"
# technique titles (line 4 of the header) of exports that hold nothing but impedance sweeps
EIS_TITLES = {"Potentio Electrochemical Impedance Spectroscopy": "PEIS",
              "Galvano Electrochemical Impedance Spectroscopy": "GEIS",
              "Staircase Potentio Electrochemical Impedance Spectroscopy": "SPEIS",
              "Staircase Galvano Electrochemical Impedance Spectroscopy": "SGEIS"}
# column names that only EC-Lab writes: a headerless export is recognised by one of them
SIGNATURE = ("time/s", "Ewe/V", "<Ewe>/V", "Ecell/V", FREQ, "cycle number", "control/V/mA", "(Q-Qo)/mA.h")
EC_LAB_DATE = ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S")
CELL_KEYS = {"Electrode material": "electrode_material", "Initial state": "initial_state",
             "Electrolyte": "electrolyte", "Comments": "comments", "Mass of active material": "active_mass",
             "Characteristic mass": "characteristic_mass", "Electrode surface area": "electrode_area"}


@dataclass
class MptTable:
    """An EC-Lab text export: column names, the data lines (decimal commas already made
    points, one value per name checked) with the file line of each, the header block's
    lines (none for a headerless export) and what the header says (`meta`, `warnings`).
    Columns are parsed as numbers once, on first use, by pandas' C parser."""
    path: Path
    names: list[str]
    data: list[str]
    row_lines: list[int]
    header: list[str]
    title: str = ""
    meta: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def names_line(self) -> int:
        return max(len(self.header), 1)

    @property
    def first_line(self) -> int:
        return self.row_lines[0] if self.row_lines else self.names_line + 1

    @property
    def n_rows(self) -> int:
        return len(self.data)

    @property
    def rows(self) -> list[list[str]]:
        """The data rows as text cells (for callers that want the cells themselves)."""
        return [line.split("\t") for line in self.data]

    def number(self, name: str) -> np.ndarray:
        """The column `name` as floats, exactly as the file writes them; a cell that is
        not a finite number is a FormatError naming its line and column."""
        if self._frame is None:
            # pandas 3's C parser gives the float Python's float() gives for the text (checked in
            # the tests against an independent parse), so points are the file's; bytes parse faster
            self._frame = pd.read_csv(io.BytesIO("\n".join(self.data).encode("utf-8")), sep="\t", header=None,
                                      names=range(len(self.names)), quoting=csv.QUOTE_NONE, engine="c")
        k = self.names.index(name)
        raw = self._frame[k]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            cell = self.data[bad[0]].split("\t")[k].strip()
            raise FormatError(self.path, f"expected a number, found {cell[:40]!r}", line=self.row_lines[bad[0]],
                              field_name=name)
        return values


def looks_like_mpt_names(first_line: str) -> bool:
    """A tab-separated line of EC-Lab column names: an export saved without its header."""
    names = [c.strip() for c in first_line.split("\t")]
    return len(names) >= 3 and any(n in SIGNATURE for n in names)


def read_mpt_text(path: str | Path) -> MptTable:
    """The table of an EC-Lab text export. With a header block, its second line says how
    many header lines precede the data and the last of them names the columns; without
    one, line 1 names the columns. Every row must have one value per column name."""
    path = Path(path)
    lines = lines_of(path)
    if lines and lines[0].startswith(MAGIC):
        if len(lines) < 2 or "Nb header lines" not in lines[1]:
            raise FormatError(path, "expected 'Nb header lines : N' on line 2", line=2)
        try:
            n_header = int(lines[1].split(":")[1])
        except (IndexError, ValueError):
            raise FormatError(path, f"expected a number of header lines, found {lines[1].strip()[:60]!r}",
                              line=2) from None
        if n_header < 3 or n_header > len(lines):
            raise FormatError(path, f"says it has {n_header} header lines but holds {len(lines)} lines", line=2)
        header = lines[:n_header]
    elif lines and looks_like_mpt_names(lines[0]):
        header, n_header = [], 1
    else:
        raise FormatError(path, f"not an EC-Lab text export: expected {MAGIC!r} or a tab-separated line of EC-Lab "
                          f"column names ({', '.join(SIGNATURE[:3])}, ...) on line 1", line=1)
    names = _column_names(path, lines[n_header - 1], n_header)
    data = lines[n_header:]
    # a German-locale PC writes decimal commas; in a tab-separated table a comma is nothing else
    comma = next((line for line in data if line.strip()), "").count(",") > 0
    rows, row_lines, tabs = [], [], len(names) - 1
    for number, line in enumerate(data, start=n_header + 1):
        if not line.strip():
            continue
        found = line.count("\t")
        if found == tabs + 1 and line.endswith("\t"):
            line, found = line[:-1], tabs         # a trailing tab
        if found != tabs:
            unnamed = [k + 1 for k, name in enumerate(names) if not name]
            why = f" (the header's column {unnamed[0]} has no name)" if unnamed else ""
            raise FormatError(path, f"expected {len(names)} tab-separated values, one per column name on line "
                              f"{n_header}{why}, found {found + 1}", line=number)
        rows.append(line.replace(",", ".") if comma else line)
        row_lines.append(number)
    table = MptTable(path, names, rows, row_lines, header)
    if comma:
        table.meta["decimal_comma"] = True
    if header:
        _read_header(table)
    return table


def _column_names(path: Path, line: str, number: int) -> list[str]:
    names = [c.strip() for c in line.split("\t")]
    while names and not names[-1]:
        names.pop()                               # EC-Lab ends the names line with a tab
    if not names:
        raise FormatError(path, "expected the tab-separated column names", line=number)
    seen: dict[str, int] = {}
    for k, name in enumerate(names, start=1):
        if name and name in seen:
            raise FormatError(path, f"column name {name!r} appears twice (columns {seen[name]} and {k}): "
                              "which one holds the values is unknown", line=number)
        seen[name] = k
    return names


def _read_header(table: MptTable) -> None:
    """meta from the header's `key : value` lines: started_utc (with the zone assumption
    in a warning), instrument, channel, software, the cell's characteristics and the loops."""
    header, meta = table.header, table.meta
    table.title = header[3].strip() if len(header) > 3 else ""
    if table.title:
        meta["technique"] = f"EC-Lab {EIS_TITLES.get(table.title, table.title)}"
    cell, loops = {}, []
    for number, line in enumerate(header, start=1):
        key, sep, value = line.partition(" : ")
        key, value = key.strip(), value.strip()
        if not sep:
            if line.startswith("EC-LAB for windows") or line.startswith("EC-Lab for windows"):
                meta["software"] = line.split("(")[0].strip()
            elif line.startswith("ctrl_type "):
                # a Modulo Bat settings table: 20-character columns, one per sequence Ns from 0
                kinds = [line[k:k + 20].strip() for k in range(20, len(line), 20)]
                meta["step_techniques"] = {ns: kind for ns, kind in enumerate(kinds) if kind}
            elif line.startswith("Loop ") and " from point number " in line:
                words = line.split()          # 'Loop 0 from point number 0 to 20'
                if words[-3].isdecimal() and words[-1].isdecimal():
                    loops.append((int(words[-3]), int(words[-1])))
            continue
        if key == "Acquisition started on" and "started_utc" not in meta:
            found, notes = start_meta(value, EC_LAB_DATE, f"{table.path.name}, line {number}",
                                      "EC-Lab writes month/day/year")
            meta.update(found)
            table.warnings.extend(notes)
        elif key == "Run on channel" and value:
            meta["channel"] = value.split("(")[0].strip()
        elif key == "Device" and value:
            meta["instrument"] = f"BioLogic {value}"
        elif key in CELL_KEYS and value:
            cell[CELL_KEYS[key]] = value
    if cell:
        meta["cell"] = cell
    if loops:
        meta["loops"] = loops


def eis_rows(table: MptTable) -> np.ndarray:
    """Indices of the rows that are impedance points (freq/Hz > 0: a Modulo Bat or GCPL
    export writes 0 there outside its EIS steps)."""
    return np.flatnonzero(table.number(FREQ) > 0)


def sweeps(table: MptTable, rows: np.ndarray) -> list[np.ndarray]:
    """The impedance rows split into sweeps: a new sweep where rows stop being adjacent
    (a cycling stretch between), where `cycle number` or the sequence `Ns` changes, or
    where the frequency turns back (a new sweep starting at the top again)."""
    if rows.size == 0:
        return []
    group = np.zeros(rows.size, dtype=np.int64)
    group[1:] = np.cumsum(np.diff(rows) > 1)
    keys = [group] + [table.number(name)[rows] for name in ("cycle number", "Ns") if name in table.names]
    return [rows[s] for s in split_sweeps(table.number(FREQ)[rows], keys)]
