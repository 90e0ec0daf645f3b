"""The impedance-over-run screenshots in docs/ (1280x800):
`python -m gui.tools.eis_screenshots docs [--db PATH --run ID [--overlay ID]]`.

eis-waterfall.png           the Impedance over run page of the run, spectra staggered:
                            every spectrum coloured by cycle, resistances against cycle and time
eis-resistance-vs-cycle.png the same, spectra overlapping, resistances on a log axis, with
                            --overlay's run in the resistance plots (bare against Ag-C)
eis-drt.png                 the DRT page of the run's last spectrum beside its circuit fit

Without --db: a synthetic notebook (benchmarks/synthetic_eis.py: full cells with and
without Ag-C, EIS every 25 of 500 cycles) in a temporary folder."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6 import QtCore, QtWidgets  # noqa: E402

from gui.analysis_view import AnalysisView  # noqa: E402

SIZE = tuple(int(v) for v in os.environ.get("EIS_SHOT_SIZE", "1280x800").split("x"))


def wait_for(app, view: AnalysisView, timeout_s: float = 120.0) -> None:
    timer = QtCore.QElapsedTimer()
    timer.start()
    while view.busy or view.tabs.count() == 0:
        if timer.elapsed() > timeout_s * 1000:
            raise TimeoutError("the analysis did not finish")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
    for _ in range(10):
        app.processEvents()


def synthetic_notebook(folder: Path) -> tuple[Path, int, int]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from synthetic_eis import write_eis_run
    path = folder / "notebook.sqlite"
    return path, write_eis_run(path, "full-agc", seed=0), write_eis_run(path, "full-bare", seed=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--run", type=int)
    parser.add_argument("--overlay", type=int)
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        if args.db is None:
            path, run, overlay = synthetic_notebook(Path(tmp))
            run, overlay = overlay, run          # the bare cell shown, Ag-C overlaid
        else:
            path, run, overlay = args.db, args.run, args.overlay
        view = AnalysisView(path)
        view.resize(*SIZE)
        view.show()
        view.show_run(path, run)
        wait_for(app, view)
        view.show_analysis("eis-run")
        wait_for(app, view)
        page = view.pages["eis-run"]
        page.stagger.setChecked(True)
        app.processEvents()
        view.grab().save(str(args.out / "eis-waterfall.png"))
        page.stagger.setChecked(False)
        page.log_r.setChecked(True)      # bulk, a small interface and a large one on one axis
        if overlay is not None:
            view.add_overlay(path, overlay)
            wait_for(app, view)
        view.grab().save(str(args.out / "eis-resistance-vs-cycle.png"))
        view.remove_overlays()
        view.show_analysis("drt")
        wait_for(app, view)
        view.grab().save(str(args.out / "eis-drt.png"))
        view.shutdown()


if __name__ == "__main__":
    main()
