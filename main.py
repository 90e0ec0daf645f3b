"""SolidStack: the operator station and its command line, one parser in one place.

    python main.py                 open the station (GUI) on the simulated bench
    python main.py --smoke OUT.png start the GUI, run the demo, screenshot, exit
    python main.py --self-check    check this build has every module, file and backend it needs
    python main.py cell ...        templates and derived cell figures
    python main.py run ...         a headless run on the simulated bench
    python main.py runs ...        list the runs in a notebook
    python main.py import FILE ... import a cycling or impedance file as a run
    python main.py export ...      a run as BDF CSV, Parquet or EIS CSV; a build sheet
    python main.py analyze ...     cycling, eis, gitt, three-electrode, shorts of a run or a file
"""
from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import sys
import tempfile
from pathlib import Path

import resources


class CliError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None,
                        help="notebook file (default: notebook.sqlite in the user data directory)")
    parser = argparse.ArgumentParser(
        prog="solidstack", parents=[common],
        description=f"{resources.APP_NAME} {resources.APP_VERSION}: operator station for sheet-type "
                    "all-solid-state Li-metal cells. With no command, opens the station.")
    parser.add_argument("--version", action="version", version=f"{resources.APP_NAME} {resources.APP_VERSION}")
    parser.add_argument("--read-only", action="store_true",
                        help="open the notebook read-only (e.g. a copy from the glovebox PC): browse, analyse, replay, "
                             "export; nothing is written")
    parser.add_argument("--smoke", type=Path, metavar="OUT.png",
                        help="start the GUI, run the demo on the simulated bench, save a screenshot and exit")
    parser.add_argument("--self-check", action="store_true",
                        help="import every module, read every resource, open the pyvisa backends; exit 1 naming what is missing")
    parser.add_argument("--startup-time", action="store_true",
                        help="open the station, print 'ready' once the window is shown and the event loop idle, and exit "
                             "(benchmarks/bench_frozen_start.py times this)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("cell", parents=[common], help="planning calculator: list templates or show a stack and its derived figures")
    p.add_argument("template", nargs="?", help="template name (see --list)")
    p.add_argument("--list", action="store_true", help="list the templates")
    p.add_argument("--area-cm2", type=float, default=None, help="cell area in cm2 (default: the template's, 1)")
    p.add_argument("--pressure-mpa", type=float, default=None,
                   help="stack-pressure set-point in MPa (default: the template's, 5)")
    p.add_argument("--fixture-limit-mpa", type=float, default=None,
                   help="rated maximum pressure of the fixture in MPa (default 25)")
    p.add_argument("--avg-voltage", type=float, default=3.70, help="average discharge voltage in V for Wh/kg, Wh/L (default 3.70)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("run", parents=[common], help="run a protocol headless on the simulated bench or the instruments")
    p.add_argument("template")
    p.add_argument("protocol", help="a preset name, or a protocol JSON file (saved from the protocol editor)")
    p.add_argument("--bench", choices=["sim", "hw"], default="sim",
                   help="sim: the simulated bench; hw: the instruments assigned with `instruments --assign`")
    p.add_argument("--instruments", type=Path, default=None, help="role assignment file for --bench hw")
    p.add_argument("--speed", default="max", help="clock factor against real time, or 'max' (default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated cell")
    p.add_argument("--cycles", type=int, default=None, help="override the protocol's cycle count")
    p.add_argument("--area-cm2", type=float, default=1.0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("instruments", parents=[common], help="find instruments, suggest drivers and roles, save the roles")
    p.add_argument("--list", action="store_true", help="list the VISA resources found and who they are")
    p.add_argument("--assign", action="append", default=[], metavar="ROLE=RESOURCE",
                   help="assign a found resource to a role (smu, ref, eis, pressure, force, temperature); repeat")
    p.add_argument("--show", action="store_true", help="show the saved assignment")
    p.add_argument("--backend", default="@py", help="pyvisa backend: @py (default), or FILE.yaml@sim to rehearse")
    p.add_argument("--config", type=Path, default=None, help="assignment file (default: instruments.json in the user config folder)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("replay", parents=[common], help="play a logged run back through the monitor, or re-run its "
                       "detectors headless (the notebook is opened read-only)")
    p.add_argument("--run", type=int, required=True, help="run id")
    p.add_argument("--speed", default="1", help="x original timing (default 1), or 'max'")
    p.add_argument("--headless", action="store_true", help="re-run the detectors as fast as possible and print the events")
    p.add_argument("--threshold", action="append", default=[], metavar="KIND.NAME=VALUE",
                   help="override a detector threshold, e.g. hard_short.collapse_fraction=0.1; repeat")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("runs", parents=[common], help="list the runs in a notebook")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("import", parents=[common], help="import a cycling or impedance file made elsewhere as a run")
    p.add_argument("file", type=Path, help="BDF or Neware .csv, EC-Lab .mpt or .mpr (needs galvani), BDF .parquet; "
                                           "EIS: f,Re,Im .csv, .DTA, .z")
    p.add_argument("--build", type=int, help="the saved build the run was made on (default: a new build named after the file)")
    p.add_argument("--operator", default="", help="operator of the new build")
    p.add_argument("--time-bug", choices=["repair", "reject"], default="repair",
                   help="BDF test time restarting at each step (a cycler export defect): repair with a warning (default) or refuse")
    p.add_argument("--json", action="store_true", help="print one JSON object with run_id and warnings")

    p = sub.add_parser("export", parents=[common], help="write a run as BDF CSV, Parquet or EIS CSV, or a build sheet")
    p.add_argument("out", type=Path, metavar="OUT")
    p.add_argument("--run", type=int, help="run id")
    p.add_argument("--build", type=int, help="build id (build-sheet)")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")

    p = sub.add_parser("analyze", parents=[common], help="figures of a notebook run or a file: cycling, eis, gitt, "
                       "three-electrode, shorts")
    p.add_argument("kind", choices=ANALYSES)
    p.add_argument("source", nargs="?", type=Path,
                   help="a file: BDF or Neware CSV, EC-Lab .mpt; for eis a headerless f,Re,Im CSV, .mpt, .DTA or .z "
                        "(or use --db PATH --run ID)")
    p.add_argument("--run", type=int, help="run id in the notebook given by --db")
    p.add_argument("--mass-mg", type=float, help="active mass in mg (mAh/g); default: from the run's build")
    p.add_argument("--area-cm2", type=float, help="cell area in cm2 (mAh/cm2, ohm cm2); default: from the build")
    p.add_argument("--thickness-um", type=float,
                   help="stack thickness in um for Wh/L (cycling); the interlayer's thickness for gitt")
    p.add_argument("--stack-mass-mg", type=float, help="whole-stack mass in mg for Wh/kg; default: from the build")
    p.add_argument("--ce-convention", choices=ANALYSIS_CE_CONVENTIONS,
                   help="'discharge/charge' (full cells, default) or 'charge/discharge' (anode half cells)")
    p.add_argument("--dqdv-cycles", help="cycling: also the dQ/dV peak voltages of these cycles, e.g. 1,100,500")
    p.add_argument("--circuit", help="eis: equivalent circuit in impedance.py syntax (default: one interfacial arc, "
                   "R0-p(R1,CPE1))")
    p.add_argument("--spectrum", type=int, help="eis of a notebook run: which of its spectra (0, 1, ...; default the last)")
    p.add_argument("--guess", help="eis: initial guesses, comma-separated in circuit parameter order")
    p.add_argument("--symmetric", action="store_true", default=None,
                   help="eis: a symmetric cell (per-interface = half); default: from the build's template")
    p.add_argument("--working", choices=["cathode", "anode"],
                   help="three-electrode: the electrode the reference channel measures (default: from its level, "
                        "a Li anode sits near 0 V against a Li reference)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def open_notebook(path: Path | None, read_only: bool = False):
    from notebook import Notebook, NotebookError, default_path
    if path is None:
        path = default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return Notebook(path, read_only=read_only)
    except NotebookError as exc:
        raise CliError(str(exc)) from None


# -- commands without Qt --
CELL_OPTIONS = {"area_cm2": "--area-cm2", "stack_pressure_mpa": "--pressure-mpa",
                "fixture_limit_mpa": "--fixture-limit-mpa"}  # stack field -> the option that sets it


def cmd_cell(args) -> int:
    import cell
    from cell.validation import errors, warnings
    if args.list or not args.template:
        names = cell.template_names()
        if args.json:
            print(json.dumps([{"template": n, "title": cell.template_title(n),
                               "description": cell.from_template(n).describe()} for n in names], indent=2))
        else:
            for name in names:
                print(f"{name:12s} {cell.from_template(name).describe():40s} {cell.template_title(name)}")
        return 0
    if not args.avg_voltage > 0:
        raise CliError(f"--avg-voltage must be above 0 V, got {args.avg_voltage:g}")
    settings = {"area_cm2": args.area_cm2, "stack_pressure_mpa": args.pressure_mpa,
                "fixture_limit_mpa": args.fixture_limit_mpa}
    try:
        stack = cell.from_template(args.template, **{k: v for k, v in settings.items() if v is not None})
    except KeyError as exc:
        raise CliError(exc.args[0]) from None
    issues = cell.validate(stack)
    problems = errors(issues)
    if problems:
        raise CliError("; ".join(f"{CELL_OPTIONS.get(p.field, p.field)}: {p.message}" for p in problems))
    f = cell.figures(stack, avg_voltage_v=args.avg_voltage)
    if args.json:
        layers = [{**layer.__dict__, "label": stack.label(layer), "kind": stack.material(layer).kind} for layer in stack.layers]
        setpoints = {k: getattr(stack, k) for k in ("stack_pressure_mpa", "fixture_limit_mpa",
                                                      "densification_pressure_mpa", "temperature_c")}
        print(json.dumps({"template": stack.template, "title": cell.template_title(stack.template),
                          "description": stack.describe(), "layers": layers, **setpoints, **f.to_dict(),
                          "warnings": [i.message for i in warnings(issues)]}, indent=2))
        return 0
    print(f"{stack.template}: {stack.describe()}  ({cell.template_title(stack.template)})")
    print(f"area {stack.area_cm2:g} cm2; stack pressure {stack.stack_pressure_mpa:g} MPa = {f.force_n:,.0f} N "
          f"(fixture limit {stack.fixture_limit_mpa:g} MPa); densified at {stack.densification_pressure_mpa:g} MPa "
          f"= {f.densification_force_n:,.0f} N; {stack.temperature_c:g} C")
    print("layers, bottom to top:")
    for n, layer in enumerate(stack.layers, 1):
        print(f"  {n}  {stack.label(layer):6s} {layer.thickness_um:7.1f} um  {layer.areal_mass_mg_cm2:7.3f} mg/cm2")
    print(f"stack {f.stack_thickness_um:.1f} um, {f.areal_mass_mg_cm2:.2f} mg/cm2")
    print(f"capacity ({f.capacity_basis}) {f.capacity_mAh_cm2:.3f} mAh/cm2 = {f.capacity_mAh:.3f} mAh")
    print("currents: " + ", ".join(f"{label} {c['mA_cm2']:.3f} mA/cm2 ({c['mA']:.3f} mA)" for label, c in f.c_rates().items()))
    if f.wh_per_kg is not None:
        print(f"projected {f.delivered_mAh_cm2:.3f} mAh/cm2 x {f.avg_voltage_v:.2f} V: {f.wh_per_kg:.1f} Wh/kg, {f.wh_per_l:.1f} Wh/L")
    for issue in warnings(issues):
        print(f"warning: {issue.message}", file=sys.stderr)
    return 0


def cmd_run(args) -> int:
    import cell
    from acquisition.protocol import StepList, preset
    from acquisition.session import prepare_run
    try:
        stack = cell.from_template(args.template, area_cm2=args.area_cm2)
        if args.protocol.endswith(".json"):
            try:
                protocol = StepList.from_json(Path(args.protocol).read_text())
            except OSError as exc:
                raise CliError(f"cannot read protocol {args.protocol}: {exc.strerror}") from None
        else:
            protocol = preset(args.protocol, **({} if args.cycles is None else {"cycles": args.cycles}))
    except (KeyError, ValueError) as exc:
        raise CliError(exc.args[0]) from None
    nb = open_notebook(args.db)
    try:
        session = prepare_run(nb, stack, protocol, speed=args.speed, seed=args.seed, bench=args.bench,
                              assignment_path=args.instruments)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        status = session.engine.run()
    finally:
        session.close()
    engine = session.engine
    events = [{"t_s": e["t_s"], "kind": e["kind"], "sample_index": e["sample_index"], "message": e["message"]}
              for e in engine.events]
    if args.json:
        print(json.dumps({"run_id": engine.run_id, "build_id": session.build_id, "status": status,
                          "message": engine.message, "n_samples": engine.n_samples, "events": events,
                          "db": str(nb.path)}))
    else:
        print(f"run {engine.run_id}: {status} after {engine.t_now / 3600:.2f} h, {engine.n_samples:,} samples ({nb.path})")
        for e in events:
            print(f"  {e['t_s'] / 3600:8.3f} h  {e['kind']}: {e['message']}")
        if status == "failed":
            print(f"error: {engine.message}", file=sys.stderr)   # e.g. the notebook could not be written
    nb.close()
    return 0 if status in ("completed", "shorted", "aborted") else 1


def cmd_instruments(args) -> int:
    import pyvisa

    from instruments import discovery
    if args.show:
        try:
            assignment = discovery.load_assignment(args.config)
        except (FileNotFoundError, ValueError) as exc:
            raise CliError(str(exc)) from None
        print(json.dumps(assignment, indent=None if args.json else 2))
        return 0
    if not (args.list or args.assign):
        raise CliError("say --list, --assign ROLE=RESOURCE or --show")
    try:
        rm = pyvisa.ResourceManager(args.backend)
    except (OSError, ValueError, pyvisa.Error) as exc:
        raise CliError(f"cannot open the VISA backend {args.backend!r}: {exc}") from None
    try:
        found = discovery.discover(rm)
    finally:
        rm.close()
    if args.assign:
        try:
            try:
                assignment = discovery.load_assignment(args.config)   # roles assigned before stay
            except FileNotFoundError:
                assignment = {}
            assignment.update(discovery.assign(found, args.assign))
            path = discovery.save_assignment(assignment, args.config)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        print(f"saved {', '.join(p.partition('=')[0] for p in args.assign)} to {path}")
        return 0
    if args.json:
        print(json.dumps(discovery.as_dicts(found)))
        return 0
    if not found:
        print("no VISA resources found")
    for f in found:
        suggestion = f"-> {f.driver} as {f.role}" if f.driver else "(no driver)"
        print(f"{f.resource:40s} {suggestion:38s} {f.identity}")
    return 0


def parse_thresholds(pairs: list[str]) -> dict:
    """KIND.NAME=VALUE pairs -> {kind: {name: value}} (numbers as floats, whole ones as ints)."""
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        kind, dot, name = key.partition(".")
        if not (sep and dot and kind and name):
            raise CliError(f"{pair!r}: write KIND.NAME=VALUE, e.g. hard_short.collapse_fraction=0.1")
        try:
            number = float(value)
        except ValueError:
            raise CliError(f"{pair!r}: {value!r} is not a number") from None
        out.setdefault(kind, {})[name] = int(number) if number.is_integer() and name.endswith(("samples", "readings")) else number
    return out


def cmd_replay(args) -> int:
    overrides = parse_thresholds(args.threshold)
    if args.db is None:
        from notebook import default_path
        args.db = default_path()
    if not args.headless:
        return run_gui(args, replay=(args.run, args.speed, overrides))
    from acquisition.replay import replay_headless
    from notebook import NotebookError
    try:
        result = replay_headless(args.db, args.run, overrides)
    except (NotebookError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"run {args.run}: {len(result['events'])} event(s) with these thresholds, {len(result['original_events'])} logged live")
    for e in result["events"]:
        print(f"  {e['t_s'] / 3600:8.3f} h  sample {e['sample_index']:>9}  {e['kind']}: {e['message']}")
    return 0


def cmd_runs(args) -> int:
    nb = open_notebook(args.db)
    runs = nb.runs()
    nb.close()
    if args.json:
        print(json.dumps(runs))
        return 0
    print(f"{'run':>4} {'status':11} {'build':24} {'protocol':22} {'samples':>10} {'events':>6}  started")
    for r in runs:
        build = f"#{r['build_id']} {r['build_name'] or r['template']}"[:24]
        protocol = f"{r['protocol']} v{r['protocol_version']}"[:22]
        print(f"{r['run_id']:>4} {r['status']:11} {build:24} {protocol:22} {r['n_samples']:>10,} {r['n_events']:>6}"
              f"  {r['started_utc']}")
    return 0


EXPORT_FORMATS = ("bdf-csv", "parquet", "eis-csv", "build-sheet")   # notebook.export.FORMATS, without importing it here


def cmd_import(args) -> int:
    from notebook import NotebookError
    from notebook.formats import FormatError
    from notebook.importer import import_file
    nb = open_notebook(args.db)
    try:
        result = import_file(nb, args.file, build_id=args.build, operator=args.operator, time_bug=args.time_bug)
    except (FormatError, NotebookError) as exc:
        raise CliError(str(exc)) from None
    finally:
        nb.close()
    if args.json:
        print(json.dumps({**result.to_dict(), "db": str(nb.path)}))
        return 0
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    what = f"{result.n_samples:,} samples" if result.n_samples else f"{result.n_spectra} spectrum(s)"
    print(f"run {result.run_id}: imported {args.file.name} ({result.format}, {what}) on build {result.build_id}")
    return 0


def cmd_export(args) -> int:
    from notebook import NotebookError
    from notebook.export import export
    from notebook.formats import FormatError
    if args.db is None:
        raise CliError("export needs --db PATH")
    if args.run is None and (args.build is None or args.format != "build-sheet"):
        raise CliError("give --run ID (or --build ID for a build sheet)")
    nb = open_notebook(args.db, read_only=True)   # exporting never changes the notebook
    try:
        out = export(nb, args.format, args.out, run_id=args.run, build_id=args.build, overwrite=args.force)
    except (FormatError, NotebookError) as exc:
        raise CliError(str(exc)) from None
    finally:
        nb.close()
    print(f"wrote {out}")
    return 0


# -- analyze: the analysis/ functions over a notebook run or a file --
ANALYSES = ("cycling", "eis", "gitt", "three-electrode", "shorts")
ANALYSIS_CE_CONVENTIONS = ("discharge/charge", "charge/discharge")


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
                return {"frequency_hz": spectrum.frequency_hz, "z_ohm": spectrum.z_ohm}, {}, spectrum.warnings, None
            series = read_timeseries(args.source)
        except FormatError as exc:
            raise CliError(str(exc)) from None
        columns = {name: series.frame[name].to_numpy() for name in series.frame.columns}
        return columns, {}, series.warnings, None
    if args.db is None:
        raise CliError("--run needs --db PATH")
    from dataclasses import asdict
    from gui.analysis_runs import load_run, pick_spectrum   # Qt-free: the analysis view loads runs the same way
    try:
        run = load_run(args.db, args.run)
        if args.kind == "eis":
            spectrum = pick_spectrum(run, args.spectrum)
            return ({"frequency_hz": spectrum["freq_hz"], "z_ohm": spectrum["z"], "spectrum": spectrum["spectrum"]},
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


def cmd_analyze(args) -> int:
    if args.spectrum is not None and (args.kind != "eis" or args.run is None):
        raise CliError("--spectrum picks a spectrum of a notebook run: use it with eis --db PATH --run ID")
    columns, build, warnings, run = _analysis_source(args)
    logged = run.events if run is not None else []
    area = _option(args, "area_cm2", build)
    try:
        result, table = _analyze(args, columns, build, area, run)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    out = result.to_dict()
    if args.json:
        print(json.dumps({**out, "warnings": warnings, **({"logged_events": logged} if logged else {})}, default=float))
        return 0
    print(table)
    for note in out.get("notes", []):
        print(f"note: {note}")
    return 0


def _analyze(args, columns: dict, build: dict, area: float | None, run):
    """(result with to_dict(), a text table for people). run: the notebook run, or None."""
    import pandas as pd
    if args.kind == "eis":
        from analysis.eis import DEFAULT_CIRCUIT, fit_circuit
        guess = None
        if args.guess:
            try:
                guess = [float(v) for v in args.guess.split(",")]
            except ValueError:
                raise CliError(f"--guess must be comma-separated numbers, got {args.guess!r}") from None
        fit = fit_circuit(columns["frequency_hz"], columns["z_ohm"], args.circuit or DEFAULT_CIRCUIT, guess,
                          area_cm2=area, symmetric=bool(_option(args, "symmetric", build)))
        if "spectrum" in columns:
            fit.notes.append(f"spectrum {columns['spectrum']} of run {args.run}")
        rows = pd.DataFrame({"value": fit.parameters, "stderr": fit.stderr, "unit": fit.units,
                             "ohm_cm2": pd.Series(fit.area_specific_ohm_cm2, dtype=float)}, index=list(fit.parameters))
        verdict = "fit ok" if fit.ok else "BAD FIT: " + "; ".join(fit.flags)
        return fit, (f"{fit.circuit}  ({fit.frequency_hz.size} points, residuals {fit.residual_rms_pct:.2f} % rms, "
                     f"Lin-KK {fit.kk.residual_rms_pct:.2f} %)\n{rows.to_string()}\n{verdict}"
                     + "".join(f"\nper interface {k}: {v:.4g} ohm cm2" for k, v in fit.per_interface_ohm_cm2.items()))
    t, current, voltage = columns["t_s"], columns["current_A"], columns["voltage_V"]
    if args.kind == "cycling":
        from analysis.cycling import CellBasis, cycle_summary
        basis = CellBasis(active_mass_mg=_option(args, "mass_mg", build), area_cm2=area,
                          stack_mass_mg=_option(args, "stack_mass_mg", build),
                          stack_thickness_um=_option(args, "thickness_um", build), one_c_mA=build.get("one_c_mA"))
        convention = args.ce_convention or build.get("ce_convention", "discharge/charge")
        summary = cycle_summary(t, current, voltage, columns.get("cycle"), basis=basis, ce_convention=convention)
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
    if run is not None:
        from gui.analysis_runs import short_detectors
        detectors = short_detectors(run)            # those the run engine ran on this cell
    else:
        detectors = None                            # a file has no build: the hard-short detector
    report = short_report(t, current, voltage, area_cm2=area, detectors=detectors)
    if run is None:
        report.notes.append("a file has no build: only the hard-short detector (Li | Li cells) was replayed")
    logged = run.events if run is not None else []
    lines = [f"{e['t_s'] / 3600:.3f} h  {e['kind']}: {e['message']}" for e in report.events] or ["no short found"]
    if report.areal_capacity_mAh_cm2 is not None:
        lines.append(f"areal capacity passed before it: {report.areal_capacity_mAh_cm2:.4g} mAh/cm2")
    lines += [f"logged live: {e['t_s'] / 3600:.3f} h  {e['kind']}: {e['message']}" for e in logged]
    return report, "\n".join(lines)


# -- the GUI --
def check_display() -> None:
    """Fail with a clear message, not a Qt abort, where no window can be shown."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise CliError("no display: set DISPLAY (X11) or WAYLAND_DISPLAY, or use QT_QPA_PLATFORM=offscreen with --smoke")
    if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        missing = [lib for lib in ("xcb-cursor", "xcb-icccm", "xcb-keysyms", "xkbcommon-x11") if not ctypes.util.find_library(lib)]
        if missing:
            raise CliError("Qt's X11 plugin needs system libraries that are missing (" + ", ".join(missing) + "). On Debian/Ubuntu: "
                           "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
                           "libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0")


def run_gui(args, replay: tuple | None = None) -> int:
    """The station's window; with `replay` = (run id, speed, threshold overrides), the
    replay window on a notebook opened read-only."""
    if args.smoke:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    check_display()
    db = args.db
    if args.smoke and db is None:
        db = Path(tempfile.mkdtemp(prefix="solidstack-smoke-")) / "notebook.sqlite"
    notebook = open_notebook(db, read_only=args.read_only or replay is not None)
    from PySide6 import QtWidgets
    from gui.app import configure_application
    from notebook import NotebookError
    app = QtWidgets.QApplication(sys.argv[:1])
    configure_application(app)
    try:
        if replay is not None:
            from gui.replay_window import ReplayWindow
            window = ReplayWindow(notebook, *replay)
        else:
            from gui.main_window import MainWindow
            window = MainWindow(notebook)
    except (ValueError, NotebookError) as exc:
        notebook.close()
        raise CliError(str(exc)) from None
    window.show()
    if args.smoke:
        from gui.smoke import schedule_smoke
        schedule_smoke(window, args.smoke)
    if args.startup_time:
        from gui.smoke import quit_when_ready
        quit_when_ready(window)
    code = app.exec()
    # Tear down in a fixed order: acquisition first, then widgets, then the notebook.
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    del window
    notebook.close()
    return code


COMMANDS = {"cell": cmd_cell, "run": cmd_run, "instruments": cmd_instruments, "replay": cmd_replay, "runs": cmd_runs,
            "import": cmd_import, "export": cmd_export, "analyze": cmd_analyze}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None and args.self_check:
            from gui.self_check import run
            return run()
        if args.command is None:
            return run_gui(args)
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
