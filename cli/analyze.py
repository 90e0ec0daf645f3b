"""`main.py analyze`: the analysis/ functions over a notebook run or a file, printed as
a table for people or one JSON object."""
from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import CliError, clean_text, existing_notebook, finite_float, print_json, warn
from cli.lab_read import add_lab_option, resolve_run, run_ref

ANALYSES = ("cycling", "eis", "gitt", "three-electrode", "shorts")
ANALYSIS_CE_CONVENTIONS = ("discharge/charge", "charge/discharge")
CELL_TYPES = ("full", "symmetric", "half")      # analysis.cell_type.CELL_TYPES (imported late: start-up time)
FIGURE_OPTIONS = {"active_mass_mg": "--mass-mg", "area_cm2": "--area-cm2", "stack_mass_mg": "--stack-mass-mg",
                  "stack_thickness_um": "--thickness-um"}


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("analyze", parents=[common], help="figures of a notebook run or a file: cycling, eis, gitt, "
                       "three-electrode, shorts")
    p.add_argument("kind", choices=ANALYSES)
    p.add_argument("source", nargs="?", type=Path,
                   help="a file: BDF or Neware CSV, EC-Lab .mpt; for eis a headerless f,Re,Im CSV, .mpt, .DTA or .z "
                        "(or use --db PATH --run ID)")
    p.add_argument("--run", type=run_ref, help="run id in the notebook given by --db (or the run's UUID); with --lab "
                   "URL, the UUID of a run in the lab store")
    p.add_argument("--mass-mg", type=finite_float, help="active mass in mg (mAh/g); default: from the run's build")
    p.add_argument("--area-cm2", type=finite_float, help="cell area in cm2 (mAh/cm2, ohm cm2); default: from the build")
    p.add_argument("--thickness-um", type=finite_float,
                   help="stack thickness in um for Wh/L (cycling); the interlayer's thickness for gitt")
    p.add_argument("--stack-mass-mg", type=finite_float, help="whole-stack mass in mg for Wh/kg; default: from the build")
    p.add_argument("--ce-convention", choices=ANALYSIS_CE_CONVENTIONS,
                   help="'discharge/charge' (full cells, default) or 'charge/discharge' (anode half cells)")
    p.add_argument("--dqdv-cycles", help="cycling: also the dQ/dV peak voltages of these cycles, e.g. 1,100,500")
    p.add_argument("--circuit", help="eis: equivalent circuit in impedance.py syntax (default: one interfacial arc, "
                   "R0-p(R1,CPE1))")
    p.add_argument("--spectrum", type=int,
                   help="eis of a notebook run: which of its spectra (0, 1, ...; default the last)")
    p.add_argument("--guess", help="eis: initial guesses, comma-separated in circuit parameter order")
    p.add_argument("--all-spectra", action="store_true",
                   help="eis of a notebook run: fit every spectrum (each started from the previous fit) and list the "
                        "resistances with 1-sigma, cycle, time and the Kramers-Kronig check per spectrum; default "
                        "circuit: two arcs for a cell with a cathode, else one")
    p.add_argument("--drt", action="store_true",
                   help="eis: the distribution of relaxation times (lambda by generalised cross-validation) and its "
                        "peaks, after a Kramers-Kronig check")
    p.add_argument("--symmetric", action="store_true", default=None,
                   help="eis: a symmetric cell (per-interface = half); default: from the build's template")
    p.add_argument("--working", choices=["cathode", "anode"],
                   help="three-electrode: the electrode the reference channel measures (default: from its level, "
                        "a Li anode sits near 0 V against a Li reference)")
    p.add_argument("--cell", choices=CELL_TYPES,
                   help="shorts: the kind of cell whose detectors to replay (symmetric = Li | Li); default: those the "
                        "run engine ran, else chosen from the voltage trace (2.5-4.5 V: full; mV, following the "
                        "current: symmetric)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_lab_option(p)
    p.set_defaults(handler=handle)


def _analysis_source(args) -> tuple[dict, dict, list[str], object]:
    """(columns as numpy arrays, what the build says, reader warnings, the notebook run
    or None for a file)."""
    from notebook import NotebookError
    from notebook.formats import FormatError, read_spectrum, read_timeseries
    if (args.source is None) == (args.run is None):
        raise CliError("give a file, or --db PATH --run ID (not both)")
    if args.source is not None:
        try:
            if args.kind == "eis":
                spectrum = read_spectrum(args.source)
                return ({"frequency_hz": spectrum.frequency_hz, "z_ohm": spectrum.z_ohm, "flags": spectrum.flags}, {},
                        spectrum.warnings, None)
            series = read_timeseries(args.source)
        except FormatError as exc:
            raise CliError(str(exc)) from None
        columns = {name: series.frame[name].to_numpy() for name in series.frame.columns}
        if series.meta.get("counter"):
            columns["counter"] = series.meta["counter"]     # the name of the column dq_Ah came from
        return columns, {}, series.warnings, None
    if args.db is None:
        raise CliError("--run needs --db PATH")
    from dataclasses import asdict
    from gui.analysis_runs import load_run, pick_spectrum   # Qt-free: the analysis view loads runs the same way
    try:
        run = load_run(existing_notebook(args.db), args.run)
        if args.kind == "eis":
            spectrum = pick_spectrum(run, args.spectrum)
            return ({"frequency_hz": spectrum["freq_hz"], "z_ohm": spectrum["z"], "spectrum": spectrum["spectrum"],
                     "flags": spectrum.get("flags")},
                    asdict(run.basis), [], run)
    except (NotebookError, ValueError) as exc:
        raise CliError(str(exc)) from None
    return run.columns(), asdict(run.basis), [], run


def _option(args, name: str, build: dict, key: str | None = None):
    """A command-line value wins over what the build says."""
    value = getattr(args, name)
    if value is not None and not (isinstance(value, bool) or value > 0):
        raise CliError(f"--{name.replace('_', '-')} must be above 0, got {value:g}")
    return value if value is not None else build.get(key or name)


def handle(args: argparse.Namespace) -> int:
    from notebook.ids import is_uuid
    if args.lab is not None and args.run is None and args.source is not None and is_uuid(str(args.source)):
        args.run, args.source = str(args.source).lower(), None      # `analyze cycling --lab URL UUID`
    if args.lab is not None and args.source is not None:
        raise CliError("give a file, or --lab URL --run UUID (not both)")
    if args.lab is not None and args.run is None:
        raise CliError("--lab URL needs --run UUID: the lab run to analyse (runs --lab URL lists them)")
    resolve_run(args)           # a lab run: fetched into the cache notebook, read from there as any run
    if args.spectrum is not None and (args.kind != "eis" or args.run is None):
        raise CliError("--spectrum picks a spectrum of a notebook run: use it with eis --db PATH --run ID")
    if (args.all_spectra or args.drt) and args.kind != "eis":
        raise CliError(f"--{'all-spectra' if args.all_spectra else 'drt'} is for eis: analyze eis ...")
    if args.all_spectra and (args.run is None or args.drt or args.spectrum is not None):
        raise CliError("--all-spectra fits every spectrum of a notebook run: use it with eis --db PATH --run ID, "
                       "without --drt or --spectrum")
    columns, build, warnings, run = _analysis_source(args)
    logged = run.events if run is not None else []
    area = _option(args, "area_cm2", build)
    try:
        result, table = _analyze(args, columns, build, area, run)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    warnings = warnings + list(getattr(result, "warnings", []))    # e.g. counter and current disagree
    for warning in warnings:
        warn(warning)
    out = result.to_dict()
    if args.json:
        print_json({**out, "warnings": warnings, **({"logged_events": logged} if logged else {})})
        return 0
    print(clean_text(table))
    for note in out.get("notes", []):
        print(f"note: {clean_text(note)}")
    return 0


def _trace_guess(columns: dict, run):
    """For a file or an imported run (no build describes the cell), what its trace looks
    like (analysis.cell_type.CellGuess); None for a run on a build that describes it."""
    if run is not None and run.describes_cell:
        return None
    from analysis.cell_type import guess_cell_type
    return run.cell_guess if run is not None else guess_cell_type(columns["current_A"], columns["voltage_V"])


def _missing_notes(missing: dict[str, str], run) -> list[str]:
    """'area unknown: no mAh/cm², ...; link the run to a build or give --area-cm2' per
    figure the analysis lacks (analysis.cycling.CellBasis.missing)."""
    out = []
    for name, note in missing.items():
        option = FIGURE_OPTIONS[name]
        if run is None:
            how = f"give {option}"
        elif not run.describes_cell:
            how = f"link the run to a build (runs link) or give {option} (here, or kept with runs basis)"
        else:
            how = f"build #{run.build_id} does not give it: {option} sets it"
        out.append(f"{note}; {how}")
    return out


def _analyze(args, columns: dict, build: dict, area: float | None, run):
    """(result with to_dict(), a text table for people). run: the notebook run, or None."""
    import pandas as pd
    if args.kind == "eis" and (args.all_spectra or args.drt):
        from cli.analyze_eis import all_spectra, drt_of
        symmetric = bool(_option(args, "symmetric", build))
        return all_spectra(args, run, area, symmetric) if args.all_spectra else drt_of(args, columns, area)
    if args.kind == "eis":
        from analysis.eis import DEFAULT_CIRCUIT, fit_circuit
        guess = None
        if args.guess:
            try:
                guess = [float(v) for v in args.guess.split(",")]
            except ValueError:
                raise CliError(f"--guess must be comma-separated numbers, got {args.guess!r}") from None
        fit = fit_circuit(columns["frequency_hz"], columns["z_ohm"], args.circuit or DEFAULT_CIRCUIT, guess,
                          area_cm2=area, symmetric=bool(_option(args, "symmetric", build)),
                          point_flags=columns.get("flags"))
        if "spectrum" in columns:
            fit.notes.append(f"spectrum {columns['spectrum']} of run {args.run}")
        rows = pd.DataFrame({"value": fit.parameters, "stderr": fit.stderr, "unit": fit.units,
                             "ohm_cm2": pd.Series(fit.area_specific_ohm_cm2, dtype=float)}, index=list(fit.parameters))
        if area is None:                # no made-up ohm cm2: the area is unknown
            rows = rows.drop(columns="ohm_cm2")
            fit.notes += [n.replace("mAh/cm², mA/cm² or Wh/L", "ohm·cm²")
                          for n in _missing_notes({"area_cm2": "area unknown: no mAh/cm², mA/cm² or Wh/L"}, run)]
        verdict = "fit ok" if fit.ok else "BAD FIT: " + "; ".join(fit.flags)
        unit = "ohm cm2" if area is not None else "ohm"
        return fit, (f"{fit.circuit}  ({fit.frequency_hz.size} points, residuals {fit.residual_rms_pct:.2f} % rms, "
                     f"Lin-KK {fit.kk.residual_rms_pct:.2f} %)\n{rows.to_string()}\n{verdict}"
                     + "".join(f"\nper interface {k}: {v:.4g} {unit}" for k, v in fit.per_interface_ohm_cm2.items()))
    t, current, voltage = columns["t_s"], columns["current_A"], columns["voltage_V"]
    if args.kind == "cycling":
        from analysis.counters import reference_arguments
        from analysis.cycling import CellBasis, cycle_summary
        basis = CellBasis(active_mass_mg=_option(args, "mass_mg", build), area_cm2=area,
                          stack_mass_mg=_option(args, "stack_mass_mg", build),
                          stack_thickness_um=_option(args, "thickness_um", build), one_c_mA=build.get("one_c_mA"))
        guess = _trace_guess(columns, run)
        # an anode half cell lithiates (discharges) first, as gui.analysis_runs.build_basis has it
        convention = args.ce_convention or build.get("ce_convention") or (
            "charge/discharge" if guess is not None and guess.kind == "half" else "discharge/charge")
        # the file's charge counter, or the one an import stored, is the reference for capacities
        summary = cycle_summary(t, current, voltage, columns.get("cycle"), basis=basis, ce_convention=convention,
                                **reference_arguments(columns, run.provenance if run is not None else None))
        if guess is not None:
            summary.notes.append(f"no build describes this cell; from its trace it is {guess.reason}")
        summary.notes += _missing_notes(basis.missing(), run)
        if args.dqdv_cycles:
            from analysis.cycling import label_cycles
            from analysis.dqdv import dqdv, voltage_profiles
            try:
                chosen = [int(c) for c in args.dqdv_cycles.split(",")]
            except ValueError:
                raise CliError(f"--dqdv-cycles must be comma-separated cycle numbers, got {args.dqdv_cycles!r}") from None
            cycles, _, _ = label_cycles(current, columns.get("cycle"), convention)
            peaks = dqdv(voltage_profiles(t, current, voltage, cycles, chosen))
            summary.notes.append("dQ/dV peaks (cycle, direction, V): " + ", ".join(
                f"{p['cycle']} {p['direction']} {p['voltage_V']:.3f}" for p in peaks.to_dict()["peaks"]))
            summary.dqdv_peaks = peaks.to_dict()["peaks"]
        shown = summary.cycles[[c for c in ("cycle", "charge_mAh", "discharge_mAh", "charge_mAh_g", "discharge_mAh_g",
                                            "ce", "retention", "discharge_Wh", "discharge_V_avg")
                                if summary.cycles[c].notna().any()]]
        return summary, (f"{shown.to_string(index=False, float_format=lambda v: f'{v:.5g}')}\n"
                         f"CE ({convention}) averaged over cycles {summary.ce_from_cycle}..N: {summary.average_ce:.5f}; "
                         f"retention vs cycle {summary.reference_cycle}: {summary.retention:.2%}")
    if args.kind == "gitt":
        from analysis.gitt import gitt
        thickness = args.thickness_um or build.get("interlayer_um")
        if thickness is None:
            raise CliError("gitt needs the layer thickness: --thickness-um (or a run whose build has an interlayer)")
        result = gitt(t, current, voltage, thickness)
        return result, result.pulses.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    if args.kind == "three-electrode":
        from analysis.three_electrode import guess_working, three_electrode
        if "ref_V" not in columns:
            raise CliError("the source has no reference-electrode column (BDF: 'Reference Potential / V')")
        working = args.working or guess_working(columns["ref_V"])
        result = three_electrode(t, current, voltage, columns["ref_V"], area_cm2=area, working=working)
        if args.working is None:
            result.notes.append(f"the reference channel was taken to measure the {working} (from its level; "
                                "--working sets it)")
        return result, (result.steps.to_string(index=False, float_format=lambda v: f"{v:.4g}") + "\nper rate:\n"
                        + result.rates.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    from analysis.short_report import short_report
    notes = []
    if run is not None and args.cell is None and (run.describes_cell or "detectors" in run.provenance):
        from gui.analysis_runs import short_detectors
        detectors = short_detectors(run)            # those the run engine ran on this cell
    else:
        # a file, an imported run or --cell: the detectors of that kind of cell, from its trace
        from analysis.cell_type import guess_cell_type, trace_detectors
        guess = None if args.cell else guess_cell_type(current, voltage)
        kind = args.cell or guess.kind
        detectors, notes = trace_detectors(kind, t, current, voltage, capacity_mAh=build.get("capacity_mAh"))
        notes.insert(0, f"{kind or 'unknown'} cell detectors ({', '.join(d.kind for d in detectors)}): "
                        + (f"--cell {args.cell}" if args.cell else f"from the trace, {guess.reason}")
                        + ("; --cell full|symmetric|half chooses" if kind is None else ""))
    report = short_report(t, current, voltage, area_cm2=area, detectors=detectors)
    report.notes[:0] = notes
    logged = run.events if run is not None else []
    lines = [f"{e['t_s'] / 3600:.3f} h  {e['kind']}: {e['message']}" for e in report.events] or ["no short found"]
    if report.areal_capacity_mAh_cm2 is not None:
        lines.append(f"areal capacity passed before it: {report.areal_capacity_mAh_cm2:.4g} mAh/cm2")
    lines += [f"logged live: {e['t_s'] / 3600:.3f} h  {e['kind']}: {e['message']}" for e in logged]
    return report, "\n".join(lines)
