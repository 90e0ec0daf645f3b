"""Runs and builds leaving the notebook in formats other tools read.

- `bdf-csv`: the run's samples as a Battery Data Format table with the preferred labels
  (`Test Time / s`, `Voltage / V`, `Current / A`, `Unix Time / s`, `Cycle Count / 1`,
  `Step Count / 1`, and `Ambient Temperature / degC`, `Applied Pressure / Pa` when
  measured) plus our documented extension column `Reference Potential / V`: the working
  electrode against the reference electrode of a three-electrode cell, in volts. Floats
  are written with the shortest text that reads back to the same double, so an export
  imported again gives the same numbers.
- `parquet`: the same columns in a Parquet file, with the run, its build and provenance
  as JSON in the file's metadata (`solidstack.run`, `solidstack.build`,
  `solidstack.provenance`). Needs pyarrow, an optional extra (requirements-parquet.txt).
- `eis-csv`: the run's impedance spectra, one row per point: `Test Time / s`,
  `Cycle Count / 1`, `Step Count / 1` (one step per sweep), `Frequency / Hz`,
  `Real Impedance / ohm`, `Imaginary Impedance / ohm` (Im < 0 for capacitive points).
- `build-sheet`: the build as a Markdown document (layers with lots, set-points, derived
  figures, notes, tags, the runs made on it) that reads as plain text and renders
  anywhere Markdown does; the browser shows the same text.

An export is written to a temporary file beside OUT and renamed into place when
complete, so an interrupted export never leaves a half-written file under OUT's name.
"""
from __future__ import annotations

import importlib
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

import cell
from notebook.basis import describes_cell
from notebook.errors import NotebookError
from notebook.jsontext import dumps
from notebook.formats.parquet import pyarrow_parquet
from notebook.store import Notebook

FORMATS = ("bdf-csv", "parquet", "eis-csv", "build-sheet")
SUFFIXES = {"bdf-csv": ".csv", "parquet": ".parquet", "eis-csv": ".csv", "build-sheet": ".md"}
REFERENCE_LABEL = "Reference Potential / V"   # our BDF extension (README: "Data exchange")


def bdf_frame(nb: Notebook, run_id: int) -> pd.DataFrame:
    """The run's samples under BDF preferred labels; optional channels only when measured."""
    run = nb.run(run_id)
    s = nb.samples(run_id)
    start = datetime.fromisoformat(run["started_utc"]).timestamp()
    columns = {"Test Time / s": s["t"], "Voltage / V": s["voltage"], "Current / A": s["current"],
               "Unix Time / s": start + s["t"], "Cycle Count / 1": s["cycle"], "Step Count / 1": s["step"]}
    for label, values in ((REFERENCE_LABEL, s["ref"]), ("Ambient Temperature / degC", s["temperature"]),
                          ("Applied Pressure / Pa", s["pressure"] * 1e6)):
        if np.isfinite(values).any():
            columns[label] = values
    return pd.DataFrame(columns)


def eis_frame(nb: Notebook, run_id: int) -> pd.DataFrame:
    spectra = nb.spectra(run_id)
    if not spectra:
        raise NotebookError(f"run {run_id} has no impedance spectra to export")
    parts = [pd.DataFrame({"Test Time / s": sp["t_s"], "Cycle Count / 1": sp["cycle"], "Step Count / 1": sp["step"],
                           "Frequency / Hz": sp["freq_hz"], "Real Impedance / ohm": sp["z"].real,
                           "Imaginary Impedance / ohm": sp["z"].imag}) for sp in spectra]
    return pd.concat(parts, ignore_index=True)


def build_sheet(nb: Notebook, build_id: int) -> str:
    """A build as a Markdown document."""
    stack = nb.build(build_id)
    row = nb.conn.execute("SELECT created_utc FROM builds WHERE id = ?", (build_id,)).fetchone()
    f = cell.figures(stack) if stack.layers else None
    title = md(stack.name) if stack.name else f"Build {build_id}"
    lines = [f"# {title}: {md(stack.describe())}", "",
             f"Build #{build_id}, saved {row['created_utc']}"
             + (f" by {md(stack.operator)}" if stack.operator else "")
             + f"; template {md(stack.template)}"
             + (f", a copy of build #{stack.based_on_build}" if stack.based_on_build else "") + ".", "",
             "## Set-points", ""] + (["The file this build was imported from gives no layers or set-points: the "
                                    "values below are the station's defaults, and its area and masses are unknown "
                                    "(link its runs to a saved build, or give them their figures).", ""]
                                   if not describes_cell(stack) else []) + [
             "| set-point | value |", "|---|---|",
             f"| area | {stack.area_cm2:g} cm² |" if describes_cell(stack) else "| area | unknown |",
             f"| stack pressure | {stack.stack_pressure_mpa:g} MPa"
             + (f" ({f.force_n:,.0f} N)" if f else "") + " |",
             f"| fixture limit | {stack.fixture_limit_mpa:g} MPa |",
             f"| densification pressure | {stack.densification_pressure_mpa:g} MPa"
             + (f" ({f.densification_force_n:,.0f} N)" if f else "") + " |",
             f"| temperature | {stack.temperature_c:g} °C |", ""]
    lots = {(r["material"], r["lot"]): r for r in nb.conn.execute(
        "SELECT m.* FROM material_lots m JOIN build_layers l ON l.material = m.material AND l.lot = m.lot"
        " WHERE l.build_id = ?", (build_id,))}
    lines += ["## Layers, bottom to top", ""]
    if stack.layers:
        lines += ["| # | material | thickness (µm) | areal mass (mg/cm²) | lot |", "|---|---|---|---|---|"]
        for k, layer in enumerate(stack.layers, 1):
            lot = md(layer.lot, cell=True) if layer.lot else "—"
            info = lots.get((layer.material, layer.lot))
            if info is not None and (info["supplier"] or info["received"]):
                lot += f" ({', '.join(md(v, cell=True) for v in (info['supplier'], info['received']) if v)})"
            lines.append(f"| {k} | {md(stack.label(layer), cell=True)} | {layer.thickness_um:g} | {layer.areal_mass_mg_cm2:g} | {lot} |")
    else:
        lines.append("No layers recorded.")
    lines.append("")
    if f is not None:
        lines += ["## Derived figures", "",
                  f"- stack {f.stack_thickness_um:.1f} µm, {f.areal_mass_mg_cm2:.2f} mg/cm²",
                  f"- capacity ({f.capacity_basis}) {f.capacity_mAh_cm2:.3f} mAh/cm² = {f.capacity_mAh:.3f} mAh"]
        if f.wh_per_kg is not None:
            lines.append(f"- projected {f.wh_per_kg:.1f} Wh/kg, {f.wh_per_l:.1f} Wh/L at {f.avg_voltage_v:.2f} V")
        lines.append("")
    notes = ([f"- {md(stack.notes)} (at build time)"] if stack.notes else []) + [
        f"- {md(n['text'])} ({n['created_utc']}{', ' + md(n['author']) if n['author'] else ''})"
        for n in nb.notes(build_id=build_id)]
    tags = nb.tags(build_id=build_id)
    if notes or tags:
        lines += ["## Notes", ""] + notes + ([f"- tags: {', '.join(map(md, tags))}"] if tags else []) + [""]
    runs = nb.conn.execute("SELECT id, status, protocol, started_utc FROM runs WHERE build_id = ? ORDER BY id",
                           (build_id,)).fetchall()
    lines += ["## Runs", ""]
    lines += [f"- run #{r['id']}: {md(r['protocol'])}, {r['status']}, started {r['started_utc']}" for r in runs] or ["None yet."]
    return "\n".join(lines) + "\n"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]~#])")


def md(text: object, cell: bool = False) -> str:
    """User text (a name, lot, note) as literal Markdown: one line (no heading or list of its
    own), HTML characters as entities, and the characters that make emphasis, code, links
    and headings escaped (and `|` in a table cell), so that an operator name cannot add
    markup or HTML to a build sheet, which the browser renders with setMarkdown."""
    line = " ".join(str(text).split())
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    line = _MARKDOWN_SPECIAL.sub(r"\\\1", line)
    return line.replace("|", "\\|") if cell else line


def _write_atomically(out: Path, overwrite: bool, write) -> None:
    out = Path(out)
    if out.exists() and not overwrite:
        raise NotebookError(f"{out} exists; choose another name or overwrite it (--force)")
    if not out.parent.is_dir():
        raise NotebookError(f"cannot write {out}: folder {out.parent} does not exist")
    # A short temporary name: the output's own name may already be at the file system's limit.
    fd, tmp = tempfile.mkstemp(prefix=".solidstack-", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes 0600; an exported file gets the mode any new file of the user's gets
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except OSError as exc:
        raise NotebookError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export(nb: Notebook, fmt: str, out: str | Path, *, run_id: int | None = None, build_id: int | None = None,
           overwrite: bool = False) -> Path:
    """Write a run (bdf-csv, parquet, eis-csv) or a build (build-sheet; a run's build
    when given a run) to `out`."""
    if fmt not in FORMATS:
        raise NotebookError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "build-sheet":
        if build_id is None:
            if run_id is None:
                raise NotebookError("a build sheet needs a build or a run")
            build_id = nb.run(run_id)["build_id"]
        text = build_sheet(nb, build_id)
        _write_atomically(out, overwrite, lambda p: p.write_text(text, encoding="utf-8"))
        return out
    if run_id is None:
        raise NotebookError(f"{fmt} exports a run: give its id")
    if fmt == "eis-csv":
        frame = eis_frame(nb, run_id)
        _write_atomically(out, overwrite, lambda p: frame.to_csv(p, index=False))
        return out
    frame = bdf_frame(nb, run_id)
    if fmt == "bdf-csv":
        _write_atomically(out, overwrite, lambda p: frame.to_csv(p, index=False))
        return out
    pq = pyarrow_parquet(out)
    pa = importlib.import_module("pyarrow")   # by name, as in formats/parquet.py: an optional extra
    run = nb.run(run_id)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({
        **(table.schema.metadata or {}),
        "solidstack.run": dumps({k: run[k] for k in ("id", "build_id", "protocol", "status", "started_utc",
                                                          "ended_utc", "message", "source")}),
        "solidstack.build": dumps(nb.build(run["build_id"]).to_dict()),
        "solidstack.provenance": run["provenance_json"],
    })
    _write_atomically(out, overwrite, lambda p: pq.write_table(table, p))
    return out
