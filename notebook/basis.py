"""What a run's specific figures are measured against: its area, active mass, stack mass
and stack thickness, and where those come from.

A run recorded by the station has them from its build. A run imported from a file, or
watched on a commercial cycler whose test names no saved build, has a placeholder build
(template IMPORTED_TEMPLATE, no layers) that describes no cell: its area and masses are
unknown, never 1.0 or 0. Such a run can later be linked to a saved
build (link_build), or be given the figures the file does not hold (give_figures); the
figures given are kept in the run's provenance under "cell_basis". Each change is one
transaction; a refused value or a failed write changes nothing.
"""
from __future__ import annotations

import math
import sqlite3

from cell import Stack
from notebook.errors import NotebookError
from notebook.jsontext import dumps, loads_stored
from notebook.store import Notebook, locked, locked_error, utc_now

IMPORTED_TEMPLATE = "imported"   # the template name of the build an import makes for a file

# figure -> (what it is called, unit); the keys are those of analysis.cycling.CellBasis
FIGURES: dict[str, tuple[str, str]] = {
    "area_cm2": ("area", "cm²"),
    "active_mass_mg": ("active mass", "mg"),
    "stack_mass_mg": ("stack mass", "mg"),
    "stack_thickness_um": ("stack thickness", "µm"),
}


def describes_cell(stack: Stack) -> bool:
    """Whether a build says what the cell is. The builder saves no stack without layers,
    so a layer-less build is an import's placeholder even in notebooks written before
    imports were marked with IMPORTED_TEMPLATE."""
    return stack.template != IMPORTED_TEMPLATE and bool(stack.layers)


def cell_builds(nb: Notebook) -> list[dict]:
    """The saved builds a run can be linked to (those that describe a cell), newest
    first, as Notebook.builds() lists them; one query for the layers of all."""
    layered = {row[0] for row in nb.conn.execute("SELECT DISTINCT build_id FROM build_layers")}
    return [b for b in nb.builds() if b["build_id"] in layered and b["template"] != IMPORTED_TEMPLATE]


def given_figures(provenance: dict) -> dict[str, float]:
    """The figures given to a run whose build describes no cell (none: {})."""
    stored = provenance.get("cell_basis") or {}
    return {name: float(stored[name]) for name in FIGURES if stored.get(name) is not None}


def _imported_run(nb: Notebook, run_id: int) -> tuple[dict, dict]:
    """(the run's row, its provenance) for a run that was imported, or watched on a
    commercial cycler on a placeholder build (its test named no saved build);
    NotebookError otherwise."""
    run = nb.run(run_id)
    provenance = nb.provenance(run_id, run)
    # a watched run its barcode put on a saved build is the station's own: its build says the cell
    watched_unbuilt = "cycler" in provenance and not describes_cell(nb.build(run["build_id"]))
    if "import" not in provenance and not watched_unbuilt:
        raise NotebookError(f"run {run_id} was recorded by the station on build {run['build_id']}, which describes "
                            "its cell: only imported runs, or runs watched on a cycler without a build, can be "
                            "linked or given figures")
    return run, provenance


def _write(nb: Notebook, run_id: int, what: str, sql: str, params: tuple) -> None:
    try:
        with nb.conn:
            nb.conn.execute(sql, params)
    except sqlite3.Error as exc:
        if locked(exc):
            raise locked_error(nb.path, f"run {run_id} was not {what} (nothing was changed)") from None
        raise NotebookError(f"run {run_id} of {nb.path} was not {what}: {exc}; nothing was changed") from None


def add_provenance(nb: Notebook, run_id: int, **entries) -> dict:
    """Add `entries` to run `run_id`'s provenance as the run row holds it now, read and
    written in one write transaction: what another program added meanwhile (figures given
    in the browser to a run being watched) stays. Returns the provenance stored."""
    try:
        with nb.conn:
            nb.conn.execute("BEGIN IMMEDIATE")
            row = nb.conn.execute("SELECT provenance_json FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise NotebookError(f"no run {run_id} in {nb.path}")
            provenance = {**loads_stored(row[0], f"run {run_id}'s provenance", {}), **entries}
            nb.conn.execute("UPDATE runs SET provenance_json = ? WHERE id = ?", (dumps(provenance), run_id))
    except sqlite3.Error as exc:
        if locked(exc):
            raise locked_error(nb.path, f"run {run_id}'s provenance was not added to (nothing was changed)") from None
        raise
    return provenance


def link_build(nb: Notebook, run_id: int, build_id: int) -> None:
    """Put imported (or cycler-watched, unbuilt) run `run_id` on saved build `build_id`, whose area and masses then
    give the run's specific figures (figures given to the run before are dropped: the
    build says them now). The build it was imported on stays in the notebook."""
    nb.require_writable()
    run, provenance = _imported_run(nb, run_id)
    stack = nb.build(build_id)              # NotebookError: no such build
    if not describes_cell(stack):
        raise NotebookError(f"build {build_id} describes no cell (it was made by an import): link run {run_id} to a "
                            "build saved in the builder, or give the run its figures")
    provenance.pop("cell_basis", None)
    provenance["linked_build"] = {"build_id": build_id, "imported_on_build": run["build_id"], "utc": utc_now()}
    _write(nb, run_id, f"linked to build {build_id}", "UPDATE runs SET build_id = ?, provenance_json = ? WHERE id = ?",
           (build_id, dumps(provenance), run_id))


def give_figures(nb: Notebook, run_id: int, **figures: float | None) -> dict[str, float]:
    """Give imported run `run_id` the figures its file does not hold (area_cm2,
    active_mass_mg, stack_mass_mg, stack_thickness_um; None leaves one as it was).
    Returns all the figures the run has now. Each must be a positive finite number."""
    nb.require_writable()
    unknown = set(figures) - set(FIGURES)
    if unknown:
        raise NotebookError(f"no figure {', '.join(sorted(unknown))}; a run can be given {', '.join(FIGURES)}")
    chosen = {name: value for name, value in figures.items() if value is not None}
    if not chosen:
        raise NotebookError(f"give run {run_id} at least one figure: {', '.join(FIGURES)}")
    for name, value in chosen.items():
        label, unit = FIGURES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise NotebookError(f"the {label} must be a positive number of {unit}, got {value!r}; "
                                f"run {run_id} was not changed")
    run, provenance = _imported_run(nb, run_id)
    if describes_cell(nb.build(run["build_id"])):
        raise NotebookError(f"run {run_id} is linked to build {run['build_id']}, which gives its area and masses; "
                            "its figures cannot also be given")
    merged = {**given_figures(provenance), **{name: float(value) for name, value in chosen.items()}}
    provenance["cell_basis"] = {**merged, "given_utc": utc_now()}
    _write(nb, run_id, "given its figures", "UPDATE runs SET provenance_json = ? WHERE id = ?",
           (dumps(provenance), run_id))
    return merged
