"""Regenerates the screenshots in docs/: `python -m gui.screenshots docs`.

Runs the station offscreen: the builder wizard with a three-electrode full cell and
its stack picture (builder-wizard), the same cell with a set-point above the fixture
limit (builder-problem); then, on the simulated bench, the bare symmetric cell until its
short trips the alarm (monitor), then the per-cycle table (analysis)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402

from gui.main_window import MainWindow  # noqa: E402
from notebook import Notebook  # noqa: E402


def wait_for(app, condition, timeout_s: float = 60.0) -> None:
    timer = QtCore.QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > timeout_s * 1000:
            raise TimeoutError("the station did not reach the state to capture")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)


def capture_builder(app, window, out: Path) -> None:
    builder = window.builder
    builder.select_template("full-agc-3e")
    table = builder.layers.model
    for layer, lot in enumerate(["Al-2024-22", "NMC-SC-07", "LP-118", "", "AgC-S3", "Li-0412"]):
        if lot:
            table.setData(table.index(table.row_of(layer), 4), lot)
    builder.cell_name.setText("CW-031")
    builder.operator.setText("CW")
    builder.go_to_step(1)
    builder.layers.select_layer(2)
    app.processEvents()
    window.grab().save(str(out / "builder-wizard.png"))
    builder.go_to_step(2)
    builder.area.setValue(0.785)
    builder.pressure.setValue(30.0)
    app.processEvents()
    window.grab().save(str(out / "builder-problem.png"))


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app = QtWidgets.QApplication(sys.argv[:1])
    nb = Notebook(Path(tempfile.mkdtemp()) / "notebook.sqlite")
    window = MainWindow(nb)
    window.show()
    capture_builder(app, window, out)
    window.builder.select_template("sym-bare")
    window.builder.operator.setText("CW")
    window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("3600"))
    window.start_run()
    wait_for(app, lambda: window.monitor.banner.isVisible())
    wait_for(app, lambda: window.run_panel.start.isEnabled())
    window.monitor.redraw()
    window.grab().save(str(out / "station-monitor-alarm.png"))
    window.tabs.setCurrentWidget(window.analysis)
    app.processEvents()
    window.grab().save(str(out / "station-analysis.png"))
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    nb.close()
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs"))
