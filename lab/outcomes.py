"""A run's outcome figures, the numbers the Outcomes view sets against the build: the
interfacial resistance from its first good impedance spectrum, the time to its first
short alarm, capacity and retention at its last complete cycle, average Coulombic
efficiency, the number of complete cycles and the delivered energy per stack mass.

Every figure comes from the analysis the station already does (analysis.eis_run for
the circuit fit, analysis.cycling for the cycle table), read from the notebook through
the caller's connection and never written to it: the sync worker computes them on its
own thread when a run has ended and pushes the dict to the lab's run_outcomes table.
`outcome_rows` gives the lab's `lab_runs` columns for each run of one notebook, so
the Outcomes view also works on a station with no lab store.

Conventions, stated once:
- R_int (ohm cm²): the interface element(s) of the circuit the analysis view fits over a
  run (one arc, R0-p(R1,CPE1), for a cell without a cathode; two for a full cell, the
  lower-frequency arc being the interface), fitted to the spectra in the order measured;
  the first spectrum whose fit is good (converged, determined, residuals at the noise,
  Kramers-Kronig passed) gives it. A symmetric cell's is per interface (half the arc,
  DOMAIN.md), any other cell's the whole arc. None without spectra, without a good one,
  or without the area.
- Complete cycles: those with both halves, less the last one of a run that did not end
  `completed` (it was cut short by the short, a stop or a crash). Capacities are the
  delivered half of the CE convention (discharge for a full cell), retention is cycle N's
  against the first complete cycle, the CE average runs over complete cycles 2..N as
  DOMAIN.md has it. These figures are given for the cells the analysis view offers
  cycling for (a cathode; an imported trace that is not Li | Li); n_cycles for any run
  that passed current.
- Time to short: the first alarm of a short detector (acquisition.engine.SHORT_KINDS),
  in hours of run time.
"""
from __future__ import annotations

import math
import socket
import sqlite3
from pathlib import Path

import numpy as np

import cell
from analysis.cell_type import guess_cell_type
from analysis.counters import reference_arguments
from analysis.cycling import CellBasis, cycle_summary
from analysis.eis import DEFAULT_CIRCUIT, CircuitError
from analysis.eis_run import fit_run
from cell import Stack
from notebook.basis import describes_cell, given_figures
from notebook.errors import NotebookError
from notebook.store import Notebook, utc_now

# the detector kinds whose alarm ends a run as `shorted` (acquisition.engine.SHORT_KINDS; a
# test keeps the two equal: lab/ does not import the run engine)
SHORT_KINDS = ("hard_short", "soft_short", "sudden_drop", "ce_drop")
# the circuits the analysis view fits over a run (gui.analysis_eis_runs.run_circuit)
TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"

OUTCOME_KEYS = ("r_int_ohm_cm2", "t_short_h", "capacity_first_mah", "capacity_n_mah", "retention_cycle",
                "retention_pct", "ce_avg_pct", "n_cycles", "energy_wh_kg", "computed_utc")
# the columns of the lab's lab_runs view that outcome_rows gives for a local notebook
RUN_COLUMNS = ("uuid", "station", "station_role", "station_uuid", "local_id", "status", "started_utc", "ended_utc",
               "n_samples", "protocol", "protocol_version", "message", "source", "build_uuid", "build_name",
               "template", "description", "operator", "area_cm2", "stack_pressure_mpa", "densification_pressure_mpa",
               "temperature_c", "has_interlayer", "interlayer_um", "layers", "lots", "electrolyte_lot", "tags",
               "build_tags", "n_events")


class _NamedRows:
    """The caller's connection as Notebook's readers use it (rows by column name), through
    cursors of our own: the caller's row_factory and transaction are left as they are."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, params=()) -> sqlite3.Cursor:
        cursor = self._conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params)


class _Reader(Notebook):
    """Notebook's readers (run, build, samples with their checks, spectra, events) over a
    connection someone else opened: nothing is opened, checked, migrated or marked."""

    def __init__(self, conn: sqlite3.Connection):   # no Notebook.__init__: the file is the caller's
        row = conn.execute("PRAGMA database_list").fetchone()
        self.path = Path(row[2]) if row and row[2] else Path(":memory:")
        self.read_only = True
        self.conn = _NamedRows(conn)
        self.live_elsewhere, self.interrupted, self.notice = [], [], ""


def _number(value) -> float | None:
    """A finite float, or None (NaN and inf are 'not applicable', never a figure)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def run_outcomes(conn: sqlite3.Connection, run_id: int) -> dict:
    """The outcome figures of run `run_id` (keys as the lab's run_outcomes table, None where
    a figure does not apply). Reads only. NotebookError for a run that is not there or
    whose samples are damaged; ValueError from the analysis for samples it cannot take
    (time going backwards)."""
    nb = _Reader(conn)
    run = nb.run(run_id)
    stack = nb.build(run["build_id"])
    provenance = nb.provenance(run_id, run)
    samples = nb.samples(run_id)
    out: dict = dict.fromkeys(OUTCOME_KEYS)
    out["t_short_h"] = _time_to_short_h(nb.events(run_id))
    out.update(_cycling(stack, provenance, samples, run["status"]))
    out["r_int_ohm_cm2"] = _interfacial_resistance(stack, provenance, samples, nb.spectra(run_id))
    out["computed_utc"] = utc_now()
    return out


def _time_to_short_h(events: list[dict]) -> float | None:
    shorts = [e["t_s"] for e in events if e["severity"] == "alarm" and e["kind"] in SHORT_KINDS]
    return float(min(shorts)) / 3600.0 if shorts else None


def _is_symmetric(stack: Stack, samples: np.ndarray) -> bool:
    """Two Li foils with the same sheets read from either end (gui.analysis_runs.build_basis);
    a build that describes no cell: a trace that looks like Li | Li."""
    if not describes_cell(stack):
        return guess_cell_type(samples["current"], samples["voltage"]).kind == "symmetric"
    materials = [layer.material for layer in stack.layers]
    return stack.kinds().count("anode") == 2 and materials == materials[::-1]


def _area(stack: Stack, provenance: dict) -> float | None:
    return stack.area_cm2 if describes_cell(stack) else given_figures(provenance).get("area_cm2")


def _interfacial_resistance(stack: Stack, provenance: dict, samples: np.ndarray,
                            spectra: list[dict]) -> float | None:
    area = _area(stack, provenance)
    if not spectra or area is None:
        return None
    symmetric = _is_symmetric(stack, samples)
    circuit = TWO_ARCS if describes_cell(stack) and "cathode" in stack.kinds() else DEFAULT_CIRCUIT
    for spectrum in sorted(spectra, key=lambda s: (s["t_s"], s["spectrum"])):
        try:
            # one spectrum at a time, cold, as `analyze eis --all-spectra` fits the first
            result = fit_run([spectrum], circuit, area_cm2=area, symmetric=symmetric)
        except CircuitError:
            raise
        except ValueError:
            continue            # too few usable points (an overload over the sweep): not this one
        (fitted,) = result.fits
        if fitted.warnings:
            continue            # a bad fit or a Kramers-Kronig failure is no figure to compare
        fit = fitted.fit
        values = (fit.per_interface_ohm_cm2 if symmetric
                  else {name: fit.area_specific_ohm_cm2[name] for name in result.interface_elements})
        return _number(sum(values.values()))
    return None


def _cycling(stack: Stack, provenance: dict, samples: np.ndarray, status: str) -> dict:
    """capacity_first_mah, capacity_n_mah, retention_cycle, retention_pct, ce_avg_pct,
    n_cycles and energy_wh_kg from analysis.cycling's table."""
    out = dict.fromkeys(("capacity_first_mah", "capacity_n_mah", "retention_cycle", "retention_pct", "ce_avg_pct",
                         "n_cycles", "energy_wh_kg"))
    if samples.size == 0 or not np.any(samples["current"] != 0):
        return out
    basis, convention, cycling = _cycling_basis(stack, provenance, samples)
    columns = {"t_s": samples["t"], "current_A": samples["current"], "voltage_V": samples["voltage"],
               "cycle": samples["cycle"], "step": samples["step"]}
    summary = cycle_summary(samples["t"], samples["current"], samples["voltage"], samples["cycle"], basis=basis,
                            ce_convention=convention, **reference_arguments(columns, provenance))
    table = summary.cycles
    both = np.isfinite(table["charge_mAh"].to_numpy(float)) & np.isfinite(table["discharge_mAh"].to_numpy(float))
    complete = table[both]
    if status != "completed" and len(complete) and int(complete["cycle"].iloc[-1]) == int(table["cycle"].iloc[-1]):
        complete = complete.iloc[:-1]       # the last cycle was cut short: its figures are partial
    out["n_cycles"] = int(len(complete))
    if not cycling or not len(complete):
        return out
    delivered = f"{summary.delivered}_mAh"
    first, last = complete.iloc[0], complete.iloc[-1]
    out["capacity_first_mah"] = _number(first[delivered])
    out["capacity_n_mah"] = _number(last[delivered])
    out["retention_cycle"] = int(last["cycle"])
    if out["capacity_first_mah"]:
        out["retention_pct"] = _number(100.0 * last[delivered] / first[delivered])
    ce = complete.loc[complete["cycle"] >= summary.ce_from_cycle, "ce"].to_numpy(float)
    ce = ce[np.isfinite(ce)]
    out["ce_avg_pct"] = _number(100.0 * ce.mean()) if ce.size else None
    out["energy_wh_kg"] = _number(first[f"{summary.delivered}_Wh_kg"])
    return out


def _cycling_basis(stack: Stack, provenance: dict, samples: np.ndarray) -> tuple[CellBasis, str, bool]:
    """(what the cell is measured against, CE convention, whether cycling figures apply):
    the build's figures (cell.figures), or for a build that describes no cell the figures
    given to the run and the convention of the cell its trace looks like."""
    if not describes_cell(stack):
        given = given_figures(provenance)
        kind = guess_cell_type(samples["current"], samples["voltage"]).kind
        basis = CellBasis(active_mass_mg=given.get("active_mass_mg"), area_cm2=given.get("area_cm2"),
                          stack_mass_mg=given.get("stack_mass_mg"), stack_thickness_um=given.get("stack_thickness_um"))
        return basis, "charge/discharge" if kind == "half" else "discharge/charge", kind != "symmetric"
    f = cell.figures(stack)
    kinds = stack.kinds()
    area = stack.area_cm2
    basis = CellBasis(active_mass_mg=f.active_mass_mg_cm2 * area if f.active_mass_mg_cm2 else None, area_cm2=area,
                      stack_mass_mg=f.areal_mass_mg_cm2 * area or None, stack_thickness_um=f.stack_thickness_um or None,
                      one_c_mA=f.one_c_mA or None)
    return basis, "discharge/charge", "cathode" in kinds


# -- a row per run of one notebook, as the lab's lab_runs view gives them --
def _station_name(conn: sqlite3.Connection) -> str:
    """The name the station goes by (notebook.station.identity's, read without the write
    its first call makes: the computer's name until one is stored)."""
    row = conn.execute("SELECT value FROM station WHERE key = 'name'").fetchone()
    return row[0] if row else (socket.gethostname() or "station")


def build_columns(stack: Stack) -> dict:
    """has_interlayer, interlayer_um, layers ("Li 30 µm | LPSCl 600 µm | ..." bottom to
    top), lots ("material:lot, ...", by catalog key) and electrolyte_lot, as the lab's
    lab_runs view makes them from the same layers (lab/schema.py): interlayer_um sums the
    interlayers (0 without one), lots and electrolyte_lot list every lot given."""
    interlayers = [layer for layer in stack.layers if stack.material(layer).kind == "interlayer"]
    electrolyte = [layer.lot for layer in stack.layers if stack.material(layer).kind == "electrolyte" and layer.lot]
    return {
        "has_interlayer": bool(interlayers),
        "interlayer_um": float(sum(layer.thickness_um for layer in interlayers)),
        "layers": " | ".join(f"{stack.label(layer)} {layer.thickness_um:g} µm" for layer in stack.layers) or None,
        "lots": ", ".join(f"{layer.material}:{layer.lot}" for layer in stack.layers if layer.lot) or None,
        "electrolyte_lot": ", ".join(electrolyte) or None,
    }


def outcome_rows(conn: sqlite3.Connection, *, outcomes: bool = True) -> list[dict]:
    """A row per run of the notebook on `conn` (schema v5), with the columns of the lab's
    lab_runs view (RUN_COLUMNS and OUTCOME_KEYS), oldest run first. outcomes=False leaves the outcome
    figures None (a quick listing; computing them reads every run's samples). A run whose
    figures cannot be computed (damaged samples, time going backwards) keeps them None, with
    the reason in `outcome_error` (None otherwise)."""
    nb = _Reader(conn)
    station = _station_name(conn)
    station_uuid = (nb.conn.execute("SELECT value FROM station WHERE key = 'uuid'").fetchone() or [None])[0]
    rows = nb.conn.execute(
        "SELECT r.id AS local_id, r.uuid, b.uuid AS build_uuid, r.status, r.started_utc, r.ended_utc, r.n_samples,"
        " r.protocol, (SELECT p.version FROM protocols p WHERE p.id = r.protocol_id) AS protocol_version, r.message,"
        " r.source, r.build_id, b.name AS build_name, b.template, b.description, b.operator, b.area_cm2,"
        " b.stack_pressure_mpa, b.densification_pressure_mpa, b.temperature_c,"
        " (SELECT group_concat(tag, ', ') FROM (SELECT tag FROM run_tags t WHERE t.run_id = r.id ORDER BY tag))"
        " AS tags,"
        " (SELECT group_concat(tag, ', ') FROM (SELECT tag FROM build_tags t WHERE t.build_id = b.id ORDER BY tag))"
        " AS build_tags,"
        " (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) AS n_events"
        " FROM runs r JOIN builds b ON b.id = r.build_id ORDER BY r.id").fetchall()
    stacks: dict[int, Stack] = {}
    out = []
    for row in rows:
        record = dict(row)
        build_id = record.pop("build_id")
        if build_id not in stacks:
            stacks[build_id] = nb.build(build_id)
        record.update(build_columns(stacks[build_id]))
        record.update(station=station, station_role=None, station_uuid=station_uuid)
        figures, error = dict.fromkeys(OUTCOME_KEYS), None
        if outcomes:
            try:
                figures = run_outcomes(conn, record["local_id"])
            except (NotebookError, ValueError) as exc:
                # damaged samples, time running backwards: that run's figures are empty, and
                # said why, not the whole list
                error = str(exc)
        record.update(figures)
        out.append({**{key: record[key] for key in (*RUN_COLUMNS, *OUTCOME_KEYS)}, "outcome_error": error})
    return out


# -- outcomes against build parameters, grouped (what the Outcomes view shows; Qt-free) --
# outcome key -> (name, unit, what having the figure means, for a group's count)
OUTCOMES: dict[str, tuple[str, str, str]] = {
    "t_short_h": ("Time to short", "h", "Shorted"),
    "r_int_ohm_cm2": ("R_int", "Ω·cm²", "With EIS"),
    "capacity_first_mah": ("Capacity, 1st cycle", "mAh", "With capacity"),
    "capacity_n_mah": ("Capacity at cycle N", "mAh", "With capacity"),
    "retention_pct": ("Retention at cycle N", "%", "With capacity"),
    "ce_avg_pct": ("Average CE", "%", "With CE"),
    "n_cycles": ("Complete cycles", "", "Cycled"),
    "energy_wh_kg": ("Energy, 1st cycle", "Wh/kg", "With energy"),
}
# build parameter key -> (name, unit, numeric): numeric ones are scattered, the others stripped
PARAMETERS: dict[str, tuple[str, str, bool]] = {
    "electrolyte_lot": ("Electrolyte lot", "", False),
    "has_interlayer": ("Interlayer", "", False),
    "interlayer_um": ("Interlayer thickness", "µm", True),
    "stack_pressure_mpa": ("Stack pressure", "MPa", True),
    "temperature_c": ("Temperature", "°C", True),
    "lots": ("Material lots", "", False),
    "operator": ("Operator", "", False),
    "station": ("Station", "", False),
    "template": ("Template", "", False),
    "status": ("Status", "", False),
}
NO_VALUE = "(none)"


def material_lot_parameters(rows: list[dict]) -> dict[str, tuple[str, str, bool]]:
    """'lot:Ag-C' -> ('Ag-C lot', '', False) for each material the rows' `lots` name, so a
    single material's lot can be set against an outcome (Ag-C batch S3 against S2)."""
    materials = []
    for row in rows:
        for part in (row.get("lots") or "").split(", "):
            material = part.split(":", 1)[0] if ":" in part else ""
            if material and material not in materials:
                materials.append(material)
    return {f"lot:{m}": (f"{m} lot", "", False) for m in materials}


def parameter_value(row: dict, key: str):
    """A row's value of parameter `key`: a number for a numeric one (None when missing),
    else its text ('with interlayer', a lot, NO_VALUE when the build does not say)."""
    if key.startswith("lot:"):
        material = key[4:]
        found = [part.split(":", 1)[1] for part in (row.get("lots") or "").split(", ")
                 if part.split(":", 1)[0] == material and ":" in part]
        return ", ".join(dict.fromkeys(found)) if found else NO_VALUE
    value = row.get(key)
    if key == "has_interlayer":
        return NO_VALUE if value is None else ("with interlayer" if value else "no interlayer")
    if key in PARAMETERS and PARAMETERS[key][2]:
        return _number(value)
    return NO_VALUE if value in (None, "") else str(value)


def group_stats(rows: list[dict], outcome: str, by: str) -> list[dict]:
    """Per value of parameter `by`: runs (count), n_with (runs that have the outcome, e.g.
    shorted), and over those the median, quartiles (q1, q3: numpy's linear interpolation)
    and min/max of the outcome; None where no run of the group has it. Groups in the
    parameter's order (numbers ascending, text alphabetically, NO_VALUE last)."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(parameter_value(row, by), []).append(_number(row.get(outcome)))

    def order(value):
        return (value is None or value == NO_VALUE, value if isinstance(value, float) else str(value).lower())

    out = []
    for value in sorted(groups, key=order):
        figures = np.array([v for v in groups[value] if v is not None], dtype=float)
        stats = {"group": NO_VALUE if value is None else value, "runs": len(groups[value]), "n_with": int(figures.size),
                 "median": None, "q1": None, "q3": None, "min": None, "max": None}
        if figures.size:
            q1, median, q3 = np.percentile(figures, [25, 50, 75])
            stats.update(median=float(median), q1=float(q1), q3=float(q3), min=float(figures.min()),
                         max=float(figures.max()))
        out.append(stats)
    return out
