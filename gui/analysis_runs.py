"""A notebook run as the analysis sees it, which analyses fit it, and each analysis
computed over it, with its tables labelled in units. Qt-free: the analysis view runs
these functions on a worker thread, and `main.py analyze --db PATH --run ID` uses the
same loading and the same choices, so the station and the command line agree.

What the build says (area, active and stack mass, stack thickness, interlayer
thickness, theoretical capacity, symmetry, CE convention) comes from the run's saved
build through cell.figures. An imported run's placeholder build describes no cell
(notebook.basis): its area and masses are unknown (None) unless the run was given them,
and what kind of cell it is, hence its analyses, CE convention and short detectors,
comes from its voltage trace (analysis.cell_type). The short detectors of a station run
are those the run engine ran, rebuilt from the run's provenance
(acquisition.alarms.detectors_for when it has none).
"""
from __future__ import annotations

import functools
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import cell
from acquisition.alarms import DETECTORS, detectors_for
from analysis.cell_type import CellGuess, guess_cell_type, trace_detectors
from analysis.cycling import CellBasis, cycle_summary, label_cycles
from analysis.counters import reference_arguments
from analysis.dqdv import dqdv, voltage_profiles
from analysis.eis import DEFAULT_CIRCUIT, fit_circuit
from analysis.gitt import gitt
from analysis.plating import plate_strip_table
from analysis.short_report import short_report
from analysis.three_electrode import guess_working, three_electrode
from gui.analysis_eis_runs import EIS_RUN_KINDS, compute_eis, default_eis_options, eis_tables
from cell import Stack
from notebook import Notebook
from notebook.basis import describes_cell, given_figures

# analysis kind -> the title the view shows
ANALYSES: dict[str, str] = {
    "plate-strip": "Plating/stripping",
    "cycling": "Cycling",
    "dqdv": "Profiles & dQ/dV",
    "eis": "EIS",
    **EIS_RUN_KINDS,            # impedance over a run, DRT (gui.analysis_eis_runs)
    "gitt": "GITT",
    "three-electrode": "Three-electrode",
    "shorts": "Shorts",
}

Progress = Callable[[float, str], None]   # (fraction of this step done, what is being done)


def _no_progress(fraction: float, text: str) -> None:
    return None


# how to give an unknown figure, in the station and on the command line
HOW_TO_GIVE = "link the run to a build or give its {label} (Notebook tab: Cell figures; `runs basis --{option}`)"
FIGURE_OPTIONS = {"active_mass_mg": "mass-mg", "area_cm2": "area-cm2", "stack_mass_mg": "stack-mass-mg",
                  "stack_thickness_um": "thickness-um"}


@dataclass(frozen=True)
class BuildBasis:
    """What a run's build says, named as the `analyze` options that can override it.
    None is unknown: an imported run's placeholder build says nothing of the cell."""
    area_cm2: float | None
    mass_mg: float | None               # cathode active material
    stack_mass_mg: float | None
    thickness_um: float | None          # whole stack
    one_c_mA: float | None
    capacity_mAh: float | None          # theoretical (cathode-limited, else the thinnest Li foil)
    interlayer_um: float | None
    interlayer: str | None              # its label, e.g. "Ag-C"
    symmetric: bool                     # the same sheets in the same order read from either end
    ce_convention: str
    source: str = "the build"           # where the figures come from, for the heading and notes

    def cell_basis(self) -> CellBasis:
        return CellBasis(active_mass_mg=self.mass_mg, area_cm2=self.area_cm2, stack_mass_mg=self.stack_mass_mg,
                         stack_thickness_um=self.thickness_um, one_c_mA=self.one_c_mA)

    def missing_notes(self, how: str = HOW_TO_GIVE) -> list[str]:
        """'area unknown: no mAh/cm², mA/cm² or Wh/L; link the run to a build or give
        its area (...)' per unknown figure."""
        return [f"{note}; " + how.format(label=note.split(" unknown")[0], option=FIGURE_OPTIONS[name])
                for name, note in self.cell_basis().missing().items()]


def build_basis(stack: Stack, given: dict[str, float] | None = None, guess: CellGuess | None = None) -> BuildBasis:
    """The build's figures; for a build that describes no cell (an import's), the
    figures `given` to the run (notebook.basis.given_figures) and the CE convention of
    the cell its trace looks like (`guess`), everything else unknown."""
    if not describes_cell(stack):
        given = given or {}
        half = guess is not None and guess.kind == "half"
        return BuildBasis(
            area_cm2=given.get("area_cm2"), mass_mg=given.get("active_mass_mg"),
            stack_mass_mg=given.get("stack_mass_mg"), thickness_um=given.get("stack_thickness_um"),
            one_c_mA=None, capacity_mAh=None, interlayer_um=None, interlayer=None,
            symmetric=guess is not None and guess.kind == "symmetric",
            ce_convention="charge/discharge" if half else "discharge/charge",
            source="figures given to the run" if given else "unknown: the file does not say")
    f = cell.figures(stack)
    kinds = stack.kinds()
    interlayers = [layer for layer in stack.layers if stack.material(layer).kind == "interlayer"]
    materials = [layer.material for layer in stack.layers]
    half = "cathode" not in kinds and kinds.count("anode") == 1 and bool(interlayers)
    return BuildBasis(
        area_cm2=stack.area_cm2,
        mass_mg=f.active_mass_mg_cm2 * stack.area_cm2 if f.active_mass_mg_cm2 else None,
        stack_mass_mg=f.areal_mass_mg_cm2 * stack.area_cm2 or None,
        thickness_um=f.stack_thickness_um or None,
        one_c_mA=f.one_c_mA or None,
        capacity_mAh=f.capacity_mAh,
        interlayer_um=interlayers[0].thickness_um if interlayers else None,
        interlayer=stack.label(interlayers[0]) if interlayers else None,
        symmetric=kinds.count("anode") == 2 and materials == materials[::-1],
        # an anode half cell lithiates (discharges) first: CE = Q_charge / Q_discharge
        ce_convention="charge/discharge" if half else "discharge/charge",
    )


@dataclass
class RunData:
    run_id: int
    build_id: int
    status: str
    protocol: str
    stack: Stack
    basis: BuildBasis
    samples: np.ndarray
    spectra: list[dict]
    events: list[dict]
    provenance: dict = field(repr=False)

    @property
    def label(self) -> str:
        return f"#{self.run_id} {self.stack.template}"

    @property
    def title(self) -> str:
        return f"Run #{self.run_id}: {self.stack.describe()}, {self.protocol}, {self.status}"

    @property
    def has_current(self) -> bool:
        return bool(np.any(self.samples["current"] != 0))

    @property
    def has_reference(self) -> bool:
        return bool(np.any(np.isfinite(self.samples["ref"])))

    @property
    def describes_cell(self) -> bool:
        """False for an imported run's placeholder build: the trace says what the cell is."""
        return describes_cell(self.stack)

    @functools.cached_property
    def cell_guess(self) -> CellGuess:
        """What kind of cell the voltage trace looks like (analysis.cell_type)."""
        return guess_cell_type(self.samples["current"], self.samples["voltage"])

    def columns(self) -> dict[str, np.ndarray]:
        s = self.samples
        return {"t_s": s["t"], "current_A": s["current"], "voltage_V": s["voltage"], "cycle": s["cycle"],
                "step": s["step"], "ref_V": s["ref"]}


def load_run(path: str | Path, run_id: int, progress: Progress = _no_progress) -> RunData:
    """Everything of run `run_id` the analyses need, read through a read-only connection
    of its own (the writer of a running run keeps its own). NotebookError names what is
    missing."""
    progress(0.0, f"reading run #{run_id}")
    with Notebook(path, read_only=True) as nb:
        run = nb.run(run_id)
        stack = nb.build(run["build_id"])
        samples = nb.samples(run_id)
        progress(0.8, f"reading spectra and events of run #{run_id}")
        spectra = nb.spectra(run_id)
        events = nb.events(run_id)
    provenance = nb.provenance(run_id, run)
    data = RunData(run_id, run["build_id"], run["status"], run["protocol"], stack, build_basis(stack), samples,
                   spectra, events, provenance)
    if not data.describes_cell:
        data.basis = build_basis(stack, given_figures(provenance), data.cell_guess)
    return data


def short_detectors(run: RunData) -> list:
    """Fresh detectors of the kinds, with the settings, the run engine used on this run
    (its provenance; for a run without, the engine's choice for its build), in the same
    order. Only those that judge the sample stream (update(t, i, v)) are replayed, as
    the engine feeds only those with samples."""
    stored = run.provenance.get("detectors")
    if stored is None and not run.describes_cell:
        # nothing watched an imported cell: the detectors that fit its trace
        detectors, _ = trace_detectors(run.cell_guess.kind, run.samples["t"], run.samples["current"],
                                       run.samples["voltage"])
    elif stored is None:
        detectors = detectors_for(run.stack)
    else:
        detectors = []
        for kind, values in stored.items():
            if kind not in DETECTORS:
                raise ValueError(f"run #{run.run_id} was watched by a {kind!r} detector this version does not know; "
                                 f"known: {', '.join(DETECTORS)}")
            settings_type = typing.get_type_hints(DETECTORS[kind].__init__)["settings"]
            try:
                detectors.append(DETECTORS[kind](settings_type(**values)))
            except TypeError as exc:
                raise ValueError(f"the stored settings of run #{run.run_id}'s {kind} detector do not fit this "
                                 f"version: {exc}") from None
    return [d for d in detectors if hasattr(d, "update")]


def analyses_for(run: RunData) -> list[str]:
    """The analyses that fit the run, in ANALYSES order: plating/stripping for Li | Li
    cells, cycling and dQ/dV for full cells, GITT for interlayer half cells (each when
    current flowed), EIS and DRT when the run has spectra (impedance over the run with
    two or more), three-electrode when the samples have
    a reference channel, shorts when the engine watched the cell for them. An imported
    run with no build: plating/stripping when its trace is a Li | Li cell's, else
    cycling and dQ/dV (charge, CE and energy fit any cell that passes current)."""
    kinds = run.stack.kinds()
    out = []
    if run.has_current and not run.describes_cell:
        out += ["plate-strip"] if run.cell_guess.kind == "symmetric" else ["cycling", "dqdv"]
    elif run.has_current:
        if kinds.count("anode") == 2:
            out.append("plate-strip")
        if "cathode" in kinds:
            out += ["cycling", "dqdv"]
        if "cathode" not in kinds and kinds.count("anode") == 1 and "interlayer" in kinds:
            out.append("gitt")
    if run.spectra:
        out.append("eis")
        out += ["eis-run", "drt"] if len(run.spectra) > 1 else ["drt"]
    if run.has_current and run.has_reference:
        out.append("three-electrode")
    if run.has_current and short_detectors(run):
        out.append("shorts")
    return out


# -- options: what a user can choose per analysis (hashable, part of a result's key) --
def default_cycles(run: RunData, count: int = 6) -> tuple[int, ...]:
    """The first and last cycle and round multiples between, about `count` in all, as
    papers pick them: 1, 100, 200, ..., 500 of 500 cycles; 1, 5, 10, 12 of 12."""
    cycles = np.unique(run.samples["cycle"][run.samples["current"] != 0])
    if cycles.size == 0:
        return ()
    first, last = int(cycles[0]), int(cycles[-1])
    wanted = (last - first + 1) / max(count - 1, 1)
    decade = 10 ** math.floor(math.log10(wanted)) if wanted >= 1 else 1
    step = next(m * decade for m in (1, 2, 5, 10) if m * decade >= wanted)
    picks = {first, last} | set(range(step * math.ceil(first / step), last + 1, step))
    return tuple(sorted(c for c in picks if c in set(cycles.tolist())))


def default_options(kind: str, run: RunData) -> dict:
    if kind in EIS_RUN_KINDS:
        return default_eis_options(kind, run)
    if kind == "dqdv":
        return {"cycles": default_cycles(run)}
    if kind == "eis":
        return {"spectrum": -1, "circuit": DEFAULT_CIRCUIT}
    if kind == "three-electrode":
        return {"working": guess_working(run.samples["ref"])}
    return {}


def options_key(options: dict) -> tuple:
    return tuple(sorted(options.items()))


def pick_spectrum(run: RunData, number: int | None = None) -> dict:
    """Spectrum `number` (the notebook's 0, 1, ... in the order measured) or, for None or
    -1, the last one."""
    if not run.spectra:
        raise ValueError(f"run #{run.run_id} has no impedance spectra")
    if number is None or number == -1:
        return run.spectra[-1]
    found = [s for s in run.spectra if s["spectrum"] == number]
    if not found:
        numbers = [s["spectrum"] for s in run.spectra]
        raise ValueError(f"run #{run.run_id} has no spectrum {number}; it has {min(numbers)} to {max(numbers)}")
    return found[0]


# -- the analyses --
@dataclass
class PlateStripResult:
    table: pd.DataFrame
    t_h: np.ndarray
    voltage_v: np.ndarray


@dataclass
class DqdvResult:
    cycles: tuple[int, ...]
    profiles: pd.DataFrame          # voltage_profiles(): cycle, direction, capacity_mAh, voltage_V
    curves: pd.DataFrame            # dqdv().curves
    peaks: pd.DataFrame
    mass_g: float | None            # for capacity per gram on the profile axis


@dataclass
class EisResult:
    fit: object                     # analysis.eis.EisFit
    spectrum: int
    t_s: float
    area_cm2: float


@dataclass
class ShortsResult:
    report: object                  # analysis.short_report.ShortReport
    logged: list[dict]
    t_h: np.ndarray
    voltage_v: np.ndarray


def compute(kind: str, run: RunData, options: dict, progress: Progress = _no_progress):
    """The result of analysis `kind` over the run. ValueError says why it cannot be done."""
    s = run.samples
    b = run.basis
    if kind == "plate-strip":
        table = plate_strip_table(s["t"], s["current"], s["voltage"], s["step"], s["cycle"])
        return PlateStripResult(table, s["t"] / 3600.0, s["voltage"])
    if kind == "cycling":
        summary = cycle_summary(s["t"], s["current"], s["voltage"], s["cycle"], basis=b.cell_basis(),
                                ce_convention=b.ce_convention,
                                **reference_arguments(run.columns(), run.provenance))   # an imported file's counter
        summary.notes += basis_notes(run)
        return summary
    if kind == "dqdv":
        chosen = tuple(options["cycles"])
        cycles, _, _ = label_cycles(s["current"], s["cycle"], b.ce_convention)
        profiles = voltage_profiles(s["t"], s["current"], s["voltage"], cycles, list(chosen))
        missing = sorted(set(chosen) - set(profiles["cycle"].astype(int)))
        if len(missing) == len(chosen):
            raise ValueError(f"run #{run.run_id} has none of cycles {', '.join(map(str, chosen))}")
        result = dqdv(profiles)
        return DqdvResult(chosen, profiles, result.curves, result.peaks, b.mass_mg / 1000.0 if b.mass_mg else None)
    if kind == "eis":
        number = options.get("spectrum", -1)
        if number != -1 and not any(sp["spectrum"] == number for sp in run.spectra):
            number = -1          # an overlaid run without that sweep: its last one
        spectrum = pick_spectrum(run, number)
        progress(0.1, f"fitting {options.get('circuit', DEFAULT_CIRCUIT)} to spectrum {spectrum['spectrum']} of run #{run.run_id}")
        fit = fit_circuit(spectrum["freq_hz"], spectrum["z"], options.get("circuit", DEFAULT_CIRCUIT),
                          area_cm2=b.area_cm2, symmetric=b.symmetric, point_flags=spectrum.get("flags"))
        if b.area_cm2 is None:
            how = HOW_TO_GIVE if not run.describes_cell else f"build #{run.build_id} does not give it"
            fit.notes.append("area unknown: no ohm·cm²; " + how.format(label="area", option="area-cm2"))
        return EisResult(fit, int(spectrum["spectrum"]), float(spectrum["t_s"]), b.area_cm2)
    if kind == "gitt":
        if b.interlayer_um is None:
            raise ValueError(f"the build of run #{run.run_id} has no interlayer: GITT needs its thickness")
        return gitt(s["t"], s["current"], s["voltage"], b.interlayer_um)
    if kind == "three-electrode":
        return three_electrode(s["t"], s["current"], s["voltage"], s["ref"], area_cm2=b.area_cm2,
                               working=options.get("working") or guess_working(s["ref"]))
    if kind == "shorts":
        report = short_report(s["t"], s["current"], s["voltage"], area_cm2=b.area_cm2, detectors=short_detectors(run),
                              progress=lambda f: progress(f, f"replaying the short detectors over run #{run.run_id}"))
        if not run.describes_cell and "detectors" not in run.provenance:
            report.notes.insert(0, f"detectors chosen from the trace: {run.cell_guess.reason}")
        return ShortsResult(report, run.events, s["t"] / 3600.0, s["voltage"])
    if kind in EIS_RUN_KINDS:
        return compute_eis(kind, run, options, progress)
    raise ValueError(f"unknown analysis {kind!r}; known: {', '.join(ANALYSES)}")


def basis_notes(run: RunData) -> list[str]:
    """What a run without a described cell is taken to be, and which figures it lacks."""
    if run.describes_cell:
        return run.basis.missing_notes(f"build #{run.build_id} does not give it (--{{option}} sets it)")
    return [f"no build describes this cell; from its trace it is {run.cell_guess.reason}"] + run.basis.missing_notes()


# -- tables with units in every header, as shown and as exported --
def _labelled(frame: pd.DataFrame, spec: list[tuple[str, str, float | None]]) -> pd.DataFrame:
    """Columns renamed to 'Name (unit)' and scaled; columns that are all empty (a figure
    the build cannot give) are left out."""
    out = {}
    for column, header, scale in spec:
        values = frame[column]
        if scale is not None:
            values = values.astype(float) * scale
        if values.dtype.kind == "f" and values.isna().all() and len(values):
            continue
        out[header] = values.to_numpy()
    return pd.DataFrame(out)


def _summary(rows: list[tuple[str, object, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Quantity", "Value", "Unit"])


PLATE_STRIP_SPEC = [
    ("cycle", "Cycle", None), ("plate_mAh", "Plated (mAh)", None), ("strip_mAh", "Stripped (mAh)", None),
    ("plate_overpotential_mV", "Plating |η| mean (mV)", None), ("strip_overpotential_mV", "Stripping |η| mean (mV)", None),
    ("plate_end_mV", "Plating |η| end (mV)", None), ("strip_end_mV", "Stripping |η| end (mV)", None),
]
CYCLE_SPEC = [("cycle", "Cycle", None)] + [
    (f"{d}_{c}", f"{d.capitalize()} {name}", scale) for c, name, scale in (
        ("mAh", "(mAh)", None), ("mAh_g", "(mAh/g)", None), ("mAh_cm2", "(mAh/cm²)", None))
    for d in ("charge", "discharge")] + [
    ("ce", "CE (%)", 100.0), ("retention", "Retention (%)", 100.0)] + [
    (f"{d}_{c}", f"{d.capitalize()} {name}", scale) for c, name, scale in (
        ("Wh", "energy (mWh)", 1000.0), ("Wh_kg", "energy (Wh/kg)", None), ("Wh_L", "energy (Wh/L)", None),
        ("V_avg", "mean voltage (V)", None), ("current_mA", "current (mA)", None), ("time_s", "time (h)", 1 / 3600))
    for d in ("charge", "discharge")]
RATE_SPEC = [
    ("first_cycle", "First cycle", None), ("last_cycle", "Last cycle", None), ("n_cycles", "Cycles", None),
    ("current_mA", "Current (mA)", None), ("current_mA_cm2", "Current (mA/cm²)", None), ("c_rate", "C-rate (C)", None),
    ("capacity_mAh", "Capacity (mAh)", None), ("capacity_mAh_g", "Capacity (mAh/g)", None),
    ("capacity_mAh_cm2", "Capacity (mAh/cm²)", None),
]
PEAK_SPEC = [("cycle", "Cycle", None), ("direction", "Direction", None), ("voltage_V", "Peak voltage (V)", None),
             ("dqdv_mAh_V", "dQ/dV (mAh/V)", None), ("prominence_mAh_V", "Prominence (mAh/V)", None)]
PROFILE_SPEC = [("cycle", "Cycle", None), ("direction", "Direction", None), ("capacity_mAh", "Capacity (mAh)", None),
                ("voltage_V", "Voltage (V)", None)]
CURVE_SPEC = [("cycle", "Cycle", None), ("direction", "Direction", None), ("voltage_V", "Voltage (V)", None),
              ("dqdv_mAh_V", "dQ/dV (mAh/V)", None)]
GITT_SPEC = [
    ("pulse", "Pulse", None), ("t_s", "Start (h)", 1 / 3600), ("tau_s", "τ (s)", None),
    ("lithiation_time_s", "Lithiation time (h)", 1 / 3600), ("current_mA", "Current (mA)", None),
    ("charge_mAh", "Charge (mAh)", None), ("E_before_V", "E before (V)", None), ("E_after_V", "E after (V)", None),
    ("dEs_V", "ΔE_s (mV)", 1000.0), ("dEt_V", "ΔE_t (mV)", 1000.0), ("ir_drop_V", "IR drop (mV)", 1000.0),
    ("D_cm2_s", "D (cm²/s)", None),
]
STEP_SPEC = [
    ("step", "Step", None), ("t_start_s", "Start (h)", 1 / 3600), ("t_end_s", "End (h)", 1 / 3600),
    ("direction", "Direction", None), ("current_mA", "Current (mA)", None), ("current_mA_cm2", "Current (mA/cm²)", None),
    ("anode_mean_mV", "Anode mean (mV)", None), ("anode_max_abs_mV", "Anode max |E| (mV)", None),
    ("anode_overpotential_mV", "Anode η (mV)", None), ("cathode_mean_V", "Cathode mean (V)", None),
    ("cathode_overpotential_mV", "Cathode η (mV)", None),
]
THREE_E_RATE_SPEC = [
    ("direction", "Direction", None), ("current_mA", "Current (mA)", None), ("current_mA_cm2", "Current (mA/cm²)", None),
    ("n_steps", "Steps", None), ("anode_overpotential_mV", "Anode η (mV)", None),
    ("anode_max_abs_mV", "Anode max |E| (mV)", None), ("cathode_overpotential_mV", "Cathode η (mV)", None),
]


def _events(events: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"Time (h)": [e["t_s"] / 3600.0 for e in events], "Detector": [e["kind"] for e in events],
                         "Sample": [e["sample_index"] for e in events], "Message": [e["message"] for e in events]})


def tables(kind: str, result, run: RunData) -> dict[str, pd.DataFrame]:
    """The result's tables by name, each column headed 'Name (unit)'."""
    if kind in EIS_RUN_KINDS:
        return eis_tables(kind, result, run)
    b = run.basis
    if kind == "plate-strip":
        return {"per cycle": _labelled(result.table, PLATE_STRIP_SPEC)}
    if kind == "cycling":
        return {
            "per cycle": _labelled(result.cycles, CYCLE_SPEC),
            "rate": _labelled(result.rate_table, RATE_SPEC),
            "summary": _summary([
                ("CE convention", result.ce_convention, ""),
                (f"Average CE, cycles {result.ce_from_cycle}..N", result.average_ce * 100.0, "%"),
                (f"Retention vs cycle {result.reference_cycle}", result.retention * 100.0, "%"),
            ] + [(name, value, unit) for name, value, unit in (
                ("Active mass", b.mass_mg, "mg"), ("Area", b.area_cm2, "cm²"),
                ("Stack mass", b.stack_mass_mg, "mg"), ("Stack thickness", b.thickness_um, "µm"))
                if value is not None]                # an unknown figure is named in a note
                + [("Note", note, "") for note in result.notes]),
        }
    if kind == "dqdv":
        return {"peaks": _labelled(result.peaks, PEAK_SPEC), "dQ/dV": _labelled(result.curves, CURVE_SPEC),
                "profiles": _labelled(result.profiles, PROFILE_SPEC)}
    if kind == "eis":
        fit = result.fit
        names = list(fit.parameters)
        parameters = pd.DataFrame({
            "Parameter": names,
            "Value": [fit.parameters[n] for n in names],
            "1σ": [fit.stderr[n] for n in names],
            "Unit": [fit.units[n] for n in names],
            "Area-specific (ohm cm²)": [fit.area_specific_ohm_cm2.get(n, math.nan) for n in names],
            "Per interface (ohm cm²)": [fit.per_interface_ohm_cm2.get(n, math.nan) for n in names],
        })
        if not fit.per_interface_ohm_cm2:
            parameters = parameters.drop(columns="Per interface (ohm cm²)")
        if result.area_cm2 is None:           # unknown area: ohm only, never a made-up ohm cm²
            parameters = parameters.drop(columns="Area-specific (ohm cm²)").rename(
                columns={"Per interface (ohm cm²)": "Per interface (ohm)"})
        rel = (fit.z_fit - fit.z_measured) / np.abs(fit.z_measured) * 100.0
        spectrum = pd.DataFrame({
            "Frequency (Hz)": fit.frequency_hz, "Z' (ohm)": fit.z_measured.real, "-Z'' (ohm)": -fit.z_measured.imag,
            "Z' fit (ohm)": fit.z_fit.real, "-Z'' fit (ohm)": -fit.z_fit.imag,
            "Residual Re (%)": rel.real, "Residual Im (%)": rel.imag})
        summary = _summary([
            ("Circuit", fit.circuit, ""), ("Spectrum", result.spectrum, ""), ("Measured at", result.t_s / 3600.0, "h"),
            ("Points fitted", int(fit.frequency_hz.size), ""), ("Fit residuals", fit.residual_rms_pct, "% rms"),
            ("Lin-KK residuals", fit.kk.residual_rms_pct, "% rms"),
            ("Verdict", "fit ok" if fit.ok else "BAD FIT", ""),
        ] + [("Flag", flag, "") for flag in fit.flags] + [("Note", note, "") for note in fit.notes])
        return {"parameters": parameters, "spectrum": spectrum, "summary": summary}
    if kind == "gitt":
        return {"pulses": _labelled(result.pulses, GITT_SPEC),
                "summary": _summary([("Layer", b.interlayer or "", ""), ("Thickness L", result.thickness_um, "µm")]
                                    + [("Note", note, "") for note in result.notes])}
    if kind == "three-electrode":
        return {"per step": _labelled(result.steps, STEP_SPEC), "per rate": _labelled(result.rates, THREE_E_RATE_SPEC),
                "summary": _summary([("Reference channel measures", result.working, "")]
                                    + [("Note", note, "") for note in result.notes])}
    if kind == "shorts":
        report = result.report
        return {
            "replayed": _events(report.events),
            "logged live": _events(result.logged),
            "summary": _summary([
                ("Detectors replayed", ", ".join(report.detectors) or "none", ""),
                ("Time to short", report.time_to_short_s / 3600.0 if report.time_to_short_s is not None else "none", "h"),
                ("Charge passed before it", report.charge_before_short_mAh, "mAh"),
                ("Areal capacity passed before it", report.areal_capacity_mAh_cm2, "mAh/cm²"),
                ("Samples", report.n_samples, ""),
            ] + [("Note", note, "") for note in report.notes]),
        }
    raise ValueError(f"unknown analysis {kind!r}")


def with_run_column(frames: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """One table from several runs' tables, with a leading 'Run' column."""
    parts = [frame.assign(**{"Run": label})[["Run", *frame.columns]] for label, frame in frames if len(frame.columns)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """UTF-8 with a byte-order mark, so spreadsheet programs read µ, ², η as written; text
    cells that a spreadsheet would run as a formula are neutralised (spreadsheet_safe)."""
    spreadsheet_safe(frame).to_csv(path, index=False, encoding="utf-8-sig")


FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells beginning with a character a spreadsheet starts a formula with (an event
    message `=HYPERLINK(...)`) get a leading apostrophe, as OWASP advises for CSV
    injection; numbers are left as numbers."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
            out[name] = out[name].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_LEADS) else v)
    return out
