"""Nyquist waterfall of 100 spectra (71 points each), drawn and painted (goal < 100 ms),
against a naive draw of the same data measured in the same run. Run by
benchmarks/bench_eis.py (only gui/ imports Qt); prints JSON lines like the others.

  ours   gui.analysis_eis.draw_waterfall: a line per spectrum coloured by cycle, every
         point in one scatter item, and the colour bar
  naive  one PlotDataItem per spectrum through PlotWidget.plot() with pyqtgraph's
         default symbols (size 10, outlined) and a legend entry each
Each draw starts from a new, shown, empty plot of 1280x800 and ends with grab() (every
item painted, as the screen would). Median of the repeats; offscreen Qt."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import pyqtgraph as pg  # noqa: E402
from PySide6 import QtWidgets  # noqa: E402

from gui.analysis_eis import draw_waterfall  # noqa: E402

SIZE = (1280, 800)


def spectra(n: int) -> list[tuple[int, np.ndarray]]:
    f = np.logspace(6, -1, 71)
    jw = 1j * 2 * np.pi * f
    out = []
    for k in range(n):
        cycle = 5 * (k + 1)
        r2 = 15 * (1 + 0.05 * np.sqrt(cycle / 25))
        out.append((cycle, 3 + 6.59 / (1 + 6.59 * 1e-5 * jw ** 0.9) + r2 / (1 + r2 * 1e-3 * jw ** 0.85)))
    return out


def fresh_plot() -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.resize(*SIZE)
    plot.show()
    plot.addLegend()
    QtWidgets.QApplication.processEvents()
    return plot


def timed(draw, repeats: int) -> float:
    """Median seconds of draw(plot) + grab() on a new, shown plot each time."""
    times = []
    for _ in range(repeats):
        plot = fresh_plot()
        start = time.perf_counter()
        draw(plot)
        plot.grab()
        times.append(time.perf_counter() - start)
        plot.close()
        plot.deleteLater()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spectra", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    data = spectra(args.spectra)
    ours = timed(lambda plot: draw_waterfall(plot, data), args.repeats)

    def naive(plot):
        for cycle, z in data:
            plot.plot(z.real, -z.imag, pen=pg.intColor(cycle, 500), symbol="o", name=f"cycle {cycle}")

    baseline = timed(naive, args.repeats)
    print(json.dumps({"figure": f"Nyquist waterfall, {args.spectra} spectra x 71 points, drawn and painted",
                      "value": ours * 1000, "unit": "ms", "baseline": baseline * 1000,
                      "ratio": ours / baseline, "goal": "< 100 ms"}))
    app.quit()


if __name__ == "__main__":
    main()
