"""`main.py runs`, `import` and `export`: the notebook's runs listed, a file made elsewhere
imported as a run, a run or a build sheet written out. Listing and exporting only read:
they open the notebook read-only and never create one."""
from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import (CliError, clean_text, existing_notebook, open_notebook, print_json, refuse_read_only, run_id,
                        warn)

EXPORT_FORMATS = ("bdf-csv", "parquet", "eis-csv", "build-sheet")   # notebook.export.FORMATS, without importing it here


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("runs", parents=[common], help="list the runs in a notebook; link or give figures to an "
                       "imported run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=handle_runs)
    actions = p.add_subparsers(dest="runs_action", metavar="{link,basis}")
    q = actions.add_parser("link", parents=[common], help="put an imported run on a saved build, whose area and "
                           "masses then give its mAh/g, mAh/cm2, Wh/kg and Wh/L")
    q.add_argument("--run", type=run_id, required=True, help="the imported run")
    q.add_argument("--build", type=run_id, required=True, help="a build saved in the builder")
    q.set_defaults(handler=handle_link)
    q = actions.add_parser("basis", parents=[common], help="give an imported run the area and masses its file does "
                           "not hold (each kept until changed; the others stay unknown)")
    q.add_argument("--run", type=run_id, required=True, help="the imported run")
    # plain float: notebook.basis refuses 0, negative, nan and inf in one line naming the figure
    q.add_argument("--area-cm2", type=float, help="electrode area in cm2 (mAh/cm2, ohm cm2, Wh/L)")
    q.add_argument("--mass-mg", type=float, help="cathode active mass in mg (mAh/g)")
    q.add_argument("--stack-mass-mg", type=float, help="whole-stack mass in mg (Wh/kg)")
    q.add_argument("--thickness-um", type=float, help="whole-stack thickness in um (Wh/L)")
    q.set_defaults(handler=handle_basis)

    p = sub.add_parser("import", parents=[common], help="import a cycling or impedance file made elsewhere as a run")
    p.add_argument("file", type=Path, help="BDF or Neware .csv, EC-Lab .mpt or .mpr (needs galvani), BDF .parquet; "
                                           "EIS: f,Re,Im .csv, .DTA, .z")
    p.add_argument("--build", type=run_id,
                   help="the saved build the run was made on (default: a new build named after the file)")
    p.add_argument("--operator", default="", help="operator of the new build")
    p.add_argument("--time-bug", choices=["repair", "reject"], default="repair",
                   help="BDF test time restarting at each step (a cycler export defect): repair with a warning "
                        "(default) or refuse")
    p.add_argument("--json", action="store_true", help="print one JSON object with run_id and warnings")
    p.set_defaults(handler=handle_import)

    p = sub.add_parser("export", parents=[common], help="write a run as BDF CSV, Parquet or EIS CSV, or a build sheet")
    p.add_argument("out", type=Path, metavar="OUT")
    p.add_argument("--run", type=run_id, help="run id")
    p.add_argument("--build", type=run_id, help="build id (build-sheet)")
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(handler=handle_export)


def handle_runs(args: argparse.Namespace) -> int:
    nb = open_notebook(args.db, read_only=True)    # listing never writes, never creates
    try:
        runs = nb.runs()
    finally:
        nb.close()
    from notebook.basis import IMPORTED_TEMPLATE
    for r in runs:
        if r.get("template") == IMPORTED_TEMPLATE or r.get("description") == "(empty)":
            r["area_cm2"] = None          # an import's placeholder build: its 1.0 is no area (notebook.basis)
    if args.json:
        print_json(runs)
        return 0
    print(f"{'run':>4} {'status':11} {'build':24} {'protocol':22} {'samples':>10} {'events':>6}  started")
    for r in runs:
        build = clean_text(f"#{r['build_id']} {r['build_name'] or r['template']}", one_line=True)[:24]
        protocol = clean_text(f"{r['protocol']} v{r['protocol_version']}", one_line=True)[:22]
        status = clean_text(r["status"], one_line=True)
        print(f"{r['run_id']:>4} {status:11} {build:24} {protocol:22} {r['n_samples']:>10,} {r['n_events']:>6}"
              f"  {clean_text(r['started_utc'], one_line=True)}")
    return 0


def _changing(args: argparse.Namespace, change) -> object:
    """change(nb) on the existing notebook; a refusal is one line and nothing is written."""
    from notebook import NotebookError
    refuse_read_only(args, "changes a run")
    nb = open_notebook(existing_notebook(args.db))
    try:
        return change(nb)
    except NotebookError as exc:
        raise CliError(str(exc)) from None
    finally:
        nb.close()


def handle_link(args: argparse.Namespace) -> int:
    from notebook.basis import link_build
    _changing(args, lambda nb: link_build(nb, args.run, args.build))
    print(f"run {args.run}: linked to build {args.build}; its area and masses now come from that build")
    return 0


def handle_basis(args: argparse.Namespace) -> int:
    from notebook.basis import FIGURES, give_figures
    figures = _changing(args, lambda nb: give_figures(
        nb, args.run, area_cm2=args.area_cm2, active_mass_mg=args.mass_mg, stack_mass_mg=args.stack_mass_mg,
        stack_thickness_um=args.thickness_um))
    known = [f"{FIGURES[name][0]} {value:g} {FIGURES[name][1]}" for name, value in figures.items()]
    unknown = [FIGURES[name][0] for name in FIGURES if name not in figures]
    print(clean_text(f"run {args.run}: {', '.join(known)}" + (f"; {', '.join(unknown)} unknown" if unknown else "")))
    return 0


def handle_import(args: argparse.Namespace) -> int:
    from notebook import NotebookError
    from notebook.formats import FormatError
    from notebook.importer import import_file
    refuse_read_only(args, "writes a run into the notebook")
    nb = open_notebook(args.db)
    try:
        result = import_file(nb, args.file, build_id=args.build, operator=args.operator, time_bug=args.time_bug)
    except (FormatError, NotebookError) as exc:
        raise CliError(str(exc)) from None
    finally:
        nb.close()
    if args.json:
        print_json({**result.to_dict(), "db": str(nb.path)})
        return 0
    for warning in result.warnings:
        warn(warning)
    what = f"{result.n_samples:,} samples" if result.n_samples else f"{result.n_spectra} spectrum(s)"
    print(f"run {result.run_id}: imported {clean_text(args.file.name, one_line=True)} ({result.format}, {what}) "
          f"on build {result.build_id}")
    return 0


def handle_export(args: argparse.Namespace) -> int:
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
