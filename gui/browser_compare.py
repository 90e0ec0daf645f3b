"""Runs side by side: one plot with a curve per run (voltage, current or reference
potential against time), each in its own colour with a legend naming run and cell.
Long runs draw at the cost of what the screen shows (peak downsampling, clip to view)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from gui import theme
from notebook import Notebook

CHANNELS = {"voltage": ("Cell voltage", "V"), "current": ("Current", "A"), "ref": ("Working vs reference", "V")}


class CompareView(QtWidgets.QWidget):
    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.channel = QtWidgets.QComboBox()
        for key, (label, unit) in CHANNELS.items():
            self.channel.addItem(f"{label} ({unit})", key)
        self.caption = QtWidgets.QLabel("Select two or more runs in the list and press Compare.")
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "time", units="h")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.legend = self.plot.addLegend(offset=(10, 10))
        theme.style_plot(self.plot)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Show"))
        top.addWidget(self.channel)
        top.addWidget(self.caption, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)
        self.channel.currentIndexChanged.connect(self._draw)
        self._runs: list[tuple[str, np.ndarray]] = []

    def set_runs(self, notebook: Notebook, run_ids: list[int]) -> None:
        self._runs = []
        for run_id in run_ids:
            run = notebook.run(run_id)
            build = notebook.conn.execute("SELECT name, template FROM builds WHERE id = ?", (run["build_id"],)).fetchone()
            label = f"#{run_id} {build['name'] or build['template']} ({run['status']})"
            self._runs.append((label, notebook.samples(run_id)))
        self._draw()

    def set_series(self, series: list[tuple[str, np.ndarray]]) -> None:
        """Runs already read, each with its legend label (the Lab scope's, from any station)."""
        self._runs = list(series)
        self._draw()

    def labels(self) -> list[str]:
        return [label for label, _ in self._runs]

    def curves(self) -> list[pg.PlotDataItem]:
        return [item for item in self.plot.listDataItems()]

    def _draw(self) -> None:
        key = self.channel.currentData()
        label, unit = CHANNELS[key]
        self.plot.clear()
        self.legend.clear()
        self.plot.setLabel("left", label, units=unit)
        drawn = 0
        for k, (name, samples) in enumerate(self._runs):
            y = samples[key]
            if samples.size == 0 or not np.isfinite(y).any():
                continue
            item = self.plot.plot(samples["t"] / 3600.0, y, name=name, pen=pg.mkPen(pg.intColor(k, hues=9), width=1.5))
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            drawn += 1
        missing = len(self._runs) - drawn
        if self._runs:
            self.caption.setText(f"{drawn} run(s) overlaid" + (f"; {missing} without this channel" if missing else ""))
