"""Live-monitor redraw rate with 10 M samples in the run's history (goal: 30 fps or
better), against a naive pyqtgraph redraw of the same data measured in the same run.

A frame, for every variant: 33 new samples arrive (1 kHz for 33 ms), the plots are
brought up to date and painted (`grab()` renders every plot, as the screen would).
  ours      the station's MonitorWidget: voltage, current, reference, pressure and
            temperature from the min/max pyramid, drawing only what the view needs
  naive     five PlotWidgets of the same size, `setData` of the full arrays every frame,
            pyqtgraph's defaults
  peak      the same with pyqtgraph's `setDownsampling(auto, 'peak')` + `setClipToView`
All three have the same grid and labels, so the comparison is about handling the data.
The naive arrays are prepared contiguous once (favouring the baseline). Offscreen Qt.
Medians over the frames; `--samples N` for a quicker look."""
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

from acquisition.live import LiveBuffer  # noqa: E402
from gui.monitor import TRACES, MonitorFeed, MonitorWidget, style_plot  # noqa: E402
from notebook.samples import empty_samples  # noqa: E402

PER_FRAME = 33          # 1 kHz for one 33 ms frame
SIZE = (1280, 800)
NAMES = [spec[0] for spec in TRACES]


def history(n: int) -> np.ndarray:
    """A plate/strip-like run sampled at 1 kHz: square current, relaxing voltage, noise."""
    data = empty_samples(n)
    k = np.arange(n)
    data["t"] = k * 1e-3
    phase = k % 7_200_000
    plating = phase < 3_600_000
    data["current"] = np.where(plating, 1.6e-4, -1.6e-4)
    data["voltage"] = np.where(plating, 1, -1) * 3.9e-3 * (1 - np.exp(-(phase % 3_600_000) / 6e5))
    data["voltage"] += np.random.default_rng(0).normal(0, 5e-5, n)
    data["ref"] = data["voltage"] * 0.5
    data["pressure"] = 5.0 + 0.01 * np.sin(data["t"] / 500)
    data["temperature"] = 25.0 + 0.1 * np.sin(data["t"] / 2000)
    data["cycle"] = k // 7_200_000 + 1
    return data


def paint(widget: QtWidgets.QWidget) -> None:
    widget.grab()


def time_ours(app, data: np.ndarray, start: int, frames: int) -> tuple[float, float]:
    """(indexing the history in s, first frame on attach in s, median frame in s)."""
    buffer = LiveBuffer()
    t0 = time.perf_counter()
    buffer.append(data[:start])      # what the acquisition thread does, batch by batch, during a run
    indexing = time.perf_counter() - t0
    monitor = MonitorWidget()
    monitor.resize(*SIZE)
    monitor.show()
    app.processEvents()
    t0 = time.perf_counter()
    monitor.attach(MonitorFeed(buffer, title="bench"))
    paint(monitor.plots)
    first = time.perf_counter() - t0
    monitor._timer.stop()           # frames are driven here, one at a time
    times = []
    n = start
    for _ in range(frames):
        buffer.append(data[n : n + PER_FRAME])
        n += PER_FRAME
        t0 = time.perf_counter()
        monitor.redraw()
        paint(monitor.plots)
        times.append(time.perf_counter() - t0)
    assert monitor.points_drawn == n
    monitor.close()
    monitor.deleteLater()
    app.processEvents()
    return indexing, first, statistics.median(times)


def time_naive(app, data: np.ndarray, start: int, frames: int, peak: bool) -> float:
    columns = {name: np.ascontiguousarray(data[name]) for name in NAMES}
    hours = data["t"] / 3600.0
    window = QtWidgets.QWidget()
    layout = QtWidgets.QVBoxLayout(window)
    curves = []
    for name in NAMES:
        plot = pg.PlotWidget()
        plot.setLabel("left", name)
        style_plot(plot.getPlotItem())      # the monitor's look: the comparison is about the data
        curve = plot.plot(pen=pg.mkPen("#1565c0", width=1))
        if peak:
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        layout.addWidget(plot)
        curves.append((name, curve))
    window.resize(SIZE[0] * 3 // 5, SIZE[1])    # the monitor's time column
    window.show()
    app.processEvents()
    times = []
    n = start
    for _ in range(frames):
        n += PER_FRAME
        t0 = time.perf_counter()
        for name, curve in curves:
            curve.setData(hours[:n], columns[name][:n])
        paint(window)
        times.append(time.perf_counter() - t0)
    window.close()
    window.deleteLater()
    app.processEvents()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000_000)
    parser.add_argument("--frames", type=int, default=90)
    args = parser.parse_args()
    app = QtWidgets.QApplication(sys.argv[:1])
    pg.setConfigOptions(antialias=False, background="w", foreground="k")
    data = history(args.samples + (args.frames + 2) * PER_FRAME)
    start = args.samples
    indexing, first, ours = time_ours(app, data, start, args.frames)
    naive = time_naive(app, data, start, 3, peak=False)
    peak = time_naive(app, data, start, 5, peak=True)
    label = f"{args.samples / 1e6:g} M samples x 5 traces"
    print(json.dumps({"figure": f"monitor redraw, {label}", "value": 1 / ours, "unit": "fps",
                      "baseline": 1 / naive, "ratio": naive / ours,
                      "goal": ">= 30 fps (baseline: setData of the full arrays, pyqtgraph defaults)"}))
    print(json.dumps({"figure": "  same vs pyqtgraph peak downsampling + clip", "value": 1 / ours, "unit": "fps",
                      "baseline": 1 / peak, "ratio": peak / ours, "goal": ">= 30 fps"}))
    print(json.dumps({"figure": "  first frame of a run with that history", "value": first, "unit": "s",
                      "baseline": None, "ratio": None, "goal": "none: switching channels"}))
    print(json.dumps({"figure": "  indexing that history into a live buffer at once", "value": indexing, "unit": "s",
                      "baseline": None, "ratio": None,
                      "goal": "none: a run indexes its samples batch by batch as they arrive"}))


if __name__ == "__main__":
    main()
