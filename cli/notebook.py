"""`main.py runs`, `import` and `export`: the notebook's runs listed, a file made elsewhere
imported as a run, a run or a build sheet written out. Listing and exporting only read:
they open the notebook read-only and never create one."""
from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import (CliError, clean_text, existing_notebook, open_notebook, print_json, refuse_read_only, run_id,
                        warn)
from cli.lab_read import add_filter_options, add_lab_option, criteria, lab_error, run_ref, uses_lab

EXPORT_FORMATS = ("bdf-csv", "parquet", "eis-csv", "build-sheet")   # notebook.export.FORMATS, without importing it here
LAB_EXPORT_FORMATS = {"csv": "csv", "bdf-csv": "csv", "parquet": "parquet"}   # -> lab.export.FORMATS
LAB_LIMIT = 1000            # lab.query.DEFAULT_LIMIT


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("runs", parents=[common], help="list the runs in a notebook or in the lab store (--lab); link "
                       "or give figures to an imported run")
    p.add_argument("--json", action="store_true")
    add_lab_option(p, cache=False)
    add_filter_options(p)
    p.add_argument("--limit", type=int, default=None,
                   help=f"with --lab: at most this many runs, newest first (default {LAB_LIMIT}; 0: all)")
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

    p = sub.add_parser("export", parents=[common], help="write a run as BDF CSV, Parquet or EIS CSV, or a build sheet; "
                       "with --lab, lab runs into a folder (a BDF CSV per run, or one Parquet table) with runs.csv "
                       "or runs.parquet")
    p.add_argument("targets", nargs="*", metavar="OUT | UUID",
                   help="the file to write; with --lab, the UUIDs of the runs to export (or select them with the "
                        "criteria below) and --out FOLDER")
    p.add_argument("--out", type=Path, metavar="PATH", help="the file (or with --lab the folder) to write")
    p.add_argument("--run", type=run_ref, help="run id (or the run's UUID)")
    p.add_argument("--build", type=run_id, help="build id (build-sheet)")
    p.add_argument("--format", required=True, choices=(*EXPORT_FORMATS, "csv"),
                   help="csv is bdf-csv; with --lab: csv or parquet")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    add_lab_option(p)
    add_filter_options(p)
    p.add_argument("--json", action="store_true", help="with --lab: print what was written as one JSON object")
    p.set_defaults(handler=handle_export)


def handle_runs(args: argparse.Namespace) -> int:
    if uses_lab(args):
        return handle_lab_runs(args)
    if args.station is not None:
        raise CliError("--station picks a station's runs in the lab store: give --lab URL too")
    if args.limit is not None:
        raise CliError("--limit is for --lab: a local notebook lists every run")
    wanted = criteria(args)
    nb = open_notebook(args.db, read_only=True)    # listing never writes, never creates
    try:
        if wanted:
            from notebook.search import RunQuery
            runs = sorted(nb.find_runs(RunQuery(**wanted)), key=lambda r: r["run_id"])
        else:
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


def handle_lab_runs(args: argparse.Namespace) -> int:
    """`runs --lab URL`: the lab_runs rows matching the criteria, newest first."""
    from lab.connection import LabError
    from lab.query import LabReader
    limit = LAB_LIMIT if args.limit is None else args.limit
    if limit < 0:
        raise CliError(f"--limit must be 0 (all) or more, got {limit}")
    try:
        with LabReader(args.lab) as reader:
            runs = reader.runs(limit=limit or None, **criteria(args))
    except LabError as exc:
        raise lab_error(exc) from None
    if limit and len(runs) == limit:
        warn(f"the {limit} newest matching runs are listed; --limit N lists more (0: all)")
    if args.json:
        print_json(runs)
        return 0
    print(f"{'uuid':36} {'station':14} {'run':>5} {'status':11} {'build':20} {'protocol':18} {'samples':>10} "
          f"{'events':>6}  started")
    for r in runs:
        build = clean_text(r["build_name"] or r["template"] or "", one_line=True)[:20]
        print(f"{r['uuid']:36} {clean_text(r['station'], one_line=True)[:14]:14} {r['local_id'] or '':>5} "
              f"{clean_text(r['status'], one_line=True):11} {build:20} "
              f"{clean_text(r['protocol'], one_line=True)[:18]:18} {r['n_samples']:>10,} {r['n_events']:>6}"
              f"  {clean_text(r['started_utc'], one_line=True)}")
    return 0


def _changing(args: argparse.Namespace, change) -> object:
    """change(nb) on the existing notebook; a refusal is one line and nothing is written."""
    from notebook import NotebookError
    if getattr(args, "lab", None) is not None:
        raise CliError(f"runs {args.runs_action} changes a run of a local notebook; --lab only reads the lab store")
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
    from cli.lab_read import local_run
    if uses_lab(args):
        return handle_lab_export(args)
    if criteria(args):
        raise CliError("the run criteria (--station, --status, ...) select lab runs: give --lab URL too")
    if args.json:
        raise CliError("--json is for an export from the lab (--lab URL)")
    if len(args.targets) > 1 or (args.targets and args.out is not None):
        raise CliError("give one OUT file (a list of runs is exported from the lab: --lab URL)")
    if not args.targets and args.out is None:
        raise CliError("give the file to write: export OUT --run ID --format FORMAT")
    args.out = Path(args.targets[0]) if args.targets else args.out
    if args.format == "csv":
        args.format = "bdf-csv"
    if args.db is None:
        raise CliError("export needs --db PATH")
    if args.run is None and (args.build is None or args.format != "build-sheet"):
        raise CliError("give --run ID (or --build ID for a build sheet)")
    args.run = local_run(args.db, args.run)
    nb = open_notebook(args.db, read_only=True)   # exporting never changes the notebook
    try:
        out = export(nb, args.format, args.out, run_id=args.run, build_id=args.build, overwrite=args.force)
    except (FormatError, NotebookError) as exc:
        raise CliError(str(exc)) from None
    finally:
        nb.close()
    print(f"wrote {out}")
    return 0


def handle_lab_export(args: argparse.Namespace) -> int:
    """`export --lab URL UUID... --format csv|parquet --out FOLDER`."""
    from lab.connection import LabError
    from lab.export import export_runs
    from notebook.ids import is_uuid
    if args.format not in LAB_EXPORT_FORMATS:
        raise CliError(f"from the lab, runs are exported as csv (BDF CSV) or parquet, not {args.format}")
    if args.out is None:
        raise CliError("give the folder to write: export --lab URL UUID... --format csv|parquet --out FOLDER")
    if isinstance(args.run, str):
        args.targets.append(args.run)           # --run UUID: one more run
    elif args.run is not None or args.build is not None:
        raise CliError("with --lab the runs are named by their UUIDs, listed after export (not by --run ID or "
                       "--build ID)")
    bad = [t for t in args.targets if not is_uuid(t)]
    if bad:
        raise CliError(f"{bad[0]!r} is not a run UUID (like 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b): runs --lab URL "
                       "lists them")
    if not args.targets and not criteria(args):
        raise CliError("name the runs to export: their UUIDs, or criteria such as --station NAME or --status")
    try:
        result = export_runs(args.lab, LAB_EXPORT_FORMATS[args.format], args.out, [t.lower() for t in args.targets],
                             cache_path=args.cache, overwrite=args.force, **criteria(args))
    except LabError as exc:
        raise lab_error(exc) from None
    for uuid, n in result.behind.items():
        warn(f"run {uuid}: {n:,} of its samples have not reached the lab yet (its station is still sending them); "
             "they are not in the export")
    if args.json:
        print_json(result.to_dict())
        return 0
    print(f"wrote {len(result.samples)} run(s), {sum(result.samples.values()):,} samples, as {result.format} to "
          f"{result.folder}")
    return 0
