"""SolidStack: the operator station and its command line, one parser in one place.

    python main.py                 open the station (GUI) on the simulated bench
    python main.py --smoke OUT.png start the GUI, run the demo, screenshot, exit
    python main.py --self-check    check this build has every module, file and backend it needs
    python main.py --lab URL       a desk station: read the lab store (no instruments, no channels)
    python main.py cell ...        templates and derived cell figures
    python main.py run ...         a headless run on the simulated bench
    python main.py instruments ... find VISA instruments, assign their roles
    python main.py replay ...      a logged run through the monitor, or its detectors re-run headless
    python main.py runs ...        list the runs in a notebook
    python main.py import FILE ... import a cycling or impedance file as a run
    python main.py export ...      a run as BDF CSV, Parquet or EIS CSV; a build sheet
    python main.py analyze ...     cycling, eis, gitt, three-electrode, shorts of a run or a file
    python main.py label ...       a cell's label (QR code of its cell id) as PNG or PDF
    python main.py cycler-sim ...  an emulated cycler (Neware BTS) on 127.0.0.1, one channel per simulated cell
    python main.py cyclers ...     a cycler's channels, or every channel watched headless into the notebook
    python main.py lab ...         the lab store on PostgreSQL: init, add-station, add-reader, sync, status

Each command's arguments and handler live in cli/ (one module per command group); this
file assembles the parser from them and owns what needs Qt: the station's window, the
replay window, --smoke, --startup-time, --self-check and drawing a label.
"""
from __future__ import annotations

import argparse
import ctypes.util
import os
import sys
import tempfile
from pathlib import Path

import cli.analyze
import cli.cell
import cli.cyclers
import cli.instruments
import cli.lab
import cli.label
import cli.notebook
import cli.replay
import cli.run
import resources
from cli.common import CliError, OneLineParser, add_notebook_options, clean_text, open_notebook

COMMAND_GROUPS = (cli.cell, cli.run, cli.instruments, cli.replay, cli.notebook, cli.analyze, cli.label, cli.cyclers,
                  cli.lab)


def build_parser() -> argparse.ArgumentParser:
    common = OneLineParser(add_help=False)          # --db and --read-only, also after a command
    add_notebook_options(common, top_level=False)
    parser = OneLineParser(
        prog="solidstack",
        description=f"{resources.APP_NAME} {resources.APP_VERSION}: operator station for sheet-type "
                    "all-solid-state Li-metal cells. With no command, opens the station.")
    add_notebook_options(parser, top_level=True)
    parser.add_argument("--version", action="version", version=f"{resources.APP_NAME} {resources.APP_VERSION}")
    parser.add_argument("--smoke", type=Path, metavar="OUT.png",
                        help="start the GUI, run the demo on the simulated bench, save a screenshot and exit")
    parser.add_argument("--self-check", action="store_true",
                        help="import every module, read every resource, open the pyvisa backends; exit 1 naming what is missing")
    parser.add_argument("--lab", dest="desk_lab", metavar="URL",
                        help="open a desk station on the lab store at URL (postgresql://ROLE@HOST:PORT/DB or "
                             "service=NAME; the password comes from ~/.pgpass or a service file, never the URL): "
                             "the Lab scope, Analysis and Outcomes, with no instruments. With --db, the notebook "
                             "that caches runs fetched from the lab")
    parser.add_argument("--startup-time", action="store_true",
                        help="open the station, print 'ready' once the window is shown and the event loop idle, and exit "
                             "(benchmarks/bench_frozen_start.py times this)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.add_arguments(sub, common)
    return parser


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
    code = exec_window(app, window, args.startup_time)
    del window
    notebook.close()      # last: after acquisition and widgets
    return code


def exec_window(app, window, startup_time: bool) -> int:
    """The event loop on `window` (with --startup-time, quit once it is ready), then its
    tear-down in a fixed order: acquisition and lab threads first (shutdown), then widgets."""
    if startup_time:
        from gui.smoke import quit_when_ready
        quit_when_ready(window)
    code = app.exec()
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    return code


def run_desk(args) -> int:
    """The desk station (gui/desk_window.py) on the lab store at --lab: no station notebook
    is opened; runs fetched for analysis go to a cache notebook (--db, or one in the user
    data directory, one per lab store)."""
    from lab.connection import LabError, check_no_password
    try:
        check_no_password(args.desk_lab)      # before any window: the URL is refused, not shown
    except LabError as exc:
        raise CliError(str(exc)) from None
    if args.smoke or args.read_only:
        raise CliError(f"{'--smoke' if args.smoke else '--read-only'} is for the station; the desk station "
                       "(--lab) only reads the lab store")
    check_display()
    from PySide6 import QtWidgets
    from gui.app import configure_application
    app = QtWidgets.QApplication(sys.argv[:1])
    configure_application(app)
    from gui.desk_window import DeskWindow
    window = DeskWindow(args.desk_lab, args.db)     # --db: the cache of fetched runs (else one per lab)
    window.show()
    return exec_window(app, window, args.startup_time)


def write_label(request: cli.label.LabelRequest) -> int:
    """Draw a label (gui/label.py) into the requested PNG or PDF, with no window."""
    from PySide6 import QtGui
    if QtGui.QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # fonts and painting, no display needed
        app = QtGui.QGuiApplication(sys.argv[:1])  # noqa: F841  (lives until the label is written)
    from gui.label import save_label
    try:
        save_label(request.text, request.size_mm, request.out)
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    print(f"label of build {request.text.build_id} ({request.text.code}), {request.size_mm[0]:g} x "
          f"{request.size_mm[1]:g} mm: {request.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None and args.self_check:
            from gui.self_check import run
            return run()
        if args.command is None and args.desk_lab is not None:
            return run_desk(args)
        if args.command is None:
            return run_gui(args)
        if args.desk_lab is not None:
            raise CliError(f"--lab before a command opens the desk station; to read the lab with "
                           f"{args.command}, give it after the command: {args.command} --lab URL")
        if args.command == "label":
            return write_label(cli.label.request(args))
        if args.command == "replay" and not args.headless:
            return run_gui(args, replay=cli.replay.window_request(args))
        return args.handler(args)
    except CliError as exc:
        print(f"error: {clean_text(exc, one_line=True)}", file=sys.stderr)   # messages quote files and names
        return 2
    except BrokenPipeError:
        # the reader of our output went away (`... --json | head`): not an error of ours; stdout
        # goes to devnull so that Python's flush at exit does not raise again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
