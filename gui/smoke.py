"""`main.py --smoke OUT.png`: drive the whole station once, headless, and prove it
draws live data: start the demo run, wait for the trace, save a screenshot, exit.
`main.py --startup-time`: exit as soon as the station is up (benchmarks time it)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6 import QtCore, QtWidgets

MIN_POINTS = 2000


def schedule_smoke(window, out_path: Path, timeout_s: float = 60.0) -> None:
    """Queue the smoke sequence on `window`; the application exits 0 on success."""
    deadline = time.monotonic() + timeout_s
    timer = QtCore.QTimer(window, interval=100)

    def finish(code: int, message: str) -> None:
        timer.stop()
        window.stop_run()
        print(("smoke: " if code == 0 else "smoke failed: ") + message, file=sys.stdout if code == 0 else sys.stderr)
        QtWidgets.QApplication.exit(code)

    def begin() -> None:
        if not window.start_run():
            finish(1, f"the demo run did not start ({window.status_label.text()})")
            return
        timer.start()

    def poll() -> None:
        engine = window.session.engine if window.session else None
        if window.monitor.points_drawn >= MIN_POINTS:
            window.monitor.redraw()
            if not window.grab().save(str(out_path)):
                finish(1, f"could not write the screenshot to {out_path}")
                return
            finish(0, f"{window.monitor.points_drawn:,} live samples drawn; screenshot saved to {out_path} "
                      f"(run #{engine.run_id} in {window.notebook.path})")
        elif engine is not None and engine.status in ("failed",):
            finish(1, f"the run failed: {engine.message}")
        elif time.monotonic() > deadline:
            finish(1, f"no live voltage trace drawn within {timeout_s:.0f} s ({window.monitor.points_drawn} points)")

    timer.timeout.connect(poll)
    QtCore.QTimer.singleShot(0, begin)


def quit_when_ready(window) -> None:
    """`main.py --startup-time`: print 'ready' and exit 0 as soon as the window is on screen
    (exposed) and the event loop is idle, i.e. about to block waiting for the operator."""
    dispatcher = QtCore.QAbstractEventDispatcher.instance()

    def about_to_block() -> None:
        handle = window.windowHandle()
        if handle is not None and handle.isExposed():
            dispatcher.aboutToBlock.disconnect(about_to_block)
            print("ready", flush=True)
            QtWidgets.QApplication.exit(0)

    dispatcher.aboutToBlock.connect(about_to_block)
