"""SolidStack: the operator station and its command line, one parser in one place.

    python main.py                 open the station (GUI) on the simulated bench
    python main.py --smoke OUT.png start the GUI, run the demo, screenshot, exit
    python main.py cell ...        templates and derived cell figures
    python main.py run ...         a headless run on the simulated bench
    python main.py runs ...        list the runs in a notebook
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
    parser.add_argument("--smoke", type=Path, metavar="OUT.png",
                        help="start the GUI, run the demo on the simulated bench, save a screenshot and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("cell", parents=[common], help="list templates or show a stack and its derived figures")
    p.add_argument("template", nargs="?", help="template name (see --list)")
    p.add_argument("--list", action="store_true", help="list the templates")
    p.add_argument("--area-cm2", type=float, default=1.0, help="cell area in cm2 (default 1)")
    p.add_argument("--avg-voltage", type=float, default=3.70, help="average discharge voltage in V for Wh/kg, Wh/L")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("run", parents=[common], help="run a protocol headless on the simulated bench")
    p.add_argument("template")
    p.add_argument("protocol")
    p.add_argument("--bench", choices=["sim"], default="sim", help="instrument bench (only the simulated one so far)")
    p.add_argument("--speed", default="max", help="clock factor against real time, or 'max' (default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated cell")
    p.add_argument("--cycles", type=int, default=None, help="override the protocol's cycle count")
    p.add_argument("--area-cm2", type=float, default=1.0)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("runs", parents=[common], help="list the runs in a notebook")
    p.add_argument("--json", action="store_true")
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
def cmd_cell(args) -> int:
    import cell
    if args.list or not args.template:
        for name in cell.template_names():
            stack = cell.from_template(name)
            print(f"{name:12s} {stack.describe()}")
        return 0
    try:
        stack = cell.from_template(args.template, area_cm2=args.area_cm2)
    except KeyError as exc:
        raise CliError(exc.args[0]) from None
    problems = cell.validation.errors(cell.validate(stack))
    if problems:
        raise CliError("; ".join(map(str, problems)))
    f = cell.figures(stack, avg_voltage_v=args.avg_voltage)
    if args.json:
        out = {"template": stack.template, "description": stack.describe(), **{
            "layers": [{**layer.__dict__, "kind": stack.material(layer).kind} for layer in stack.layers]},
            **f.to_dict()}
        print(json.dumps(out, indent=2))
        return 0
    print(f"{stack.template}: {stack.describe()}  (area {stack.area_cm2:g} cm2)")
    for layer in stack.layers:
        print(f"  {layer.material:6s} {layer.thickness_um:7.1f} um  {layer.areal_mass_mg_cm2:7.3f} mg/cm2")
    print(f"stack {f.stack_thickness_um:.1f} um, {f.areal_mass_mg_cm2:.2f} mg/cm2; capacity {f.capacity_mAh_cm2:.3f} mAh/cm2;"
          f" 1C = {f.one_c_mA_cm2:.3f} mA/cm2 ({f.one_c_mA:.3f} mA); force at {stack.stack_pressure_mpa:g} MPa = {f.force_n:.0f} N")
    if f.wh_per_kg is not None:
        print(f"projected {f.delivered_mAh_cm2:.3f} mAh/cm2 x {f.avg_voltage_v:.2f} V: {f.wh_per_kg:.1f} Wh/kg, {f.wh_per_l:.1f} Wh/L")
    return 0


def cmd_run(args) -> int:
    import cell
    from acquisition.protocol import preset
    from acquisition.session import prepare_run
    try:
        stack = cell.from_template(args.template, area_cm2=args.area_cm2)
        overrides = {} if args.cycles is None else {"cycles": args.cycles}
        protocol = preset(args.protocol, **overrides)
    except (KeyError, ValueError) as exc:
        raise CliError(exc.args[0]) from None
    nb = open_notebook(args.db)
    try:
        session = prepare_run(nb, stack, protocol, speed=args.speed, seed=args.seed)
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
    nb.close()
    return 0 if status in ("completed", "shorted", "aborted") else 1


def cmd_runs(args) -> int:
    nb = open_notebook(args.db)
    runs = nb.runs()
    nb.close()
    if args.json:
        print(json.dumps(runs))
        return 0
    print(f"{'run':>4} {'status':11} {'template':10} {'samples':>10} {'events':>6}  started")
    for r in runs:
        print(f"{r['run_id']:>4} {r['status']:11} {r['template']:10} {r['n_samples']:>10,} {r['n_events']:>6}  {r['started_utc']}")
    return 0


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


def run_gui(args) -> int:
    if args.smoke:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    check_display()
    db = args.db
    if args.smoke and db is None:
        db = Path(tempfile.mkdtemp(prefix="solidstack-smoke-")) / "notebook.sqlite"
    notebook = open_notebook(db)
    from PySide6 import QtWidgets
    from gui.main_window import MainWindow
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName(resources.APP_NAME)
    app.setApplicationVersion(resources.APP_VERSION)
    window = MainWindow(notebook)
    window.show()
    if args.smoke:
        from gui.smoke import schedule_smoke
        schedule_smoke(window, args.smoke)
    code = app.exec()
    # Tear down in a fixed order: acquisition first, then widgets, then the notebook.
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    del window
    notebook.close()
    return code


COMMANDS = {"cell": cmd_cell, "run": cmd_run, "runs": cmd_runs}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            return run_gui(args)
        return COMMANDS[args.command](args)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
