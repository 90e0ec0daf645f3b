"""The live monitor of one run: cell voltage, current, reference-electrode potential,
stack pressure and temperature against time, the Nyquist and Bode plots of each EIS
sweep, the run's progress and the latest per-cycle figures, and whether the source
is on (after a trip, a pause or the run's end the readout says OUTPUT OFF, not the last
current it sourced). The latched alarm banner is gui/alarm_overlay.py.

Drawing is the GUI's business alone: a 40 Hz timer takes a snapshot of the run's
LiveBuffer (which the acquisition thread extends, with its min/max pyramid) and draws
only what the view needs (acquisition/lod.py), so a frame costs about the same at a
thousand samples and at ten million. The buffer keeps the newest samples and a
pyramid whose finest levels forget old blocks; a zoom into an old part of a long run is
drawn from the notebook (the feed's `history`). Zooming and panning change what is
drawn, never what is recorded; "Follow latest" keeps the newest sample at the right
edge, and each trace's own range in view, until the operator moves the view.
"""
from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from acquisition.live import TRACE_FIELDS, LiveBuffer
from acquisition.lod import LodView, MinMaxPyramid, Window, nearest_in
from gui import theme
from gui.plot_axes import SparseAxis, blank
from notebook import NotebookError

REDRAW_MS = 25          # 40 Hz: a frame is never late for a 30 fps display
SPECTRA_SHOWN = 8        # the newest sweeps drawn; older ones stay in the notebook

# (field, name in read-outs, axis label, unit for pyqtgraph's SI prefixes or None, fixed unit, colour)
TRACES = (
    ("voltage", "V", "Cell voltage", "V", "", "voltage"),        # colours: the theme's roles (gui/theme.py)
    ("current", "I", "Current", "A", "", "current"),
    ("ref", "WE vs ref.", "WE vs Li ref.", "V", "", "ref"),
    ("pressure", "P", "P", None, "MPa", "pressure"),
    ("temperature", "T", "T", None, "°C", "temperature"),
)
# A trace that varies by less than this (its unit) while following is drawn as a level
# line on an axis spanning MIN_SPAN_FRACTION of its value (or this span, if larger),
# its value on the axis: not at the centre of an arbitrary unit-wide span.
MIN_SPAN = {"voltage": 1e-4, "current": 1e-9, "ref": 1e-4, "pressure": 1e-3, "temperature": 0.01}
MIN_SPAN_FRACTION = 0.05
HISTORY_MAX = 1 << 18     # samples read back from the notebook for one view, at most (14 MB)
OUTPUT_TEXT = {"off": "OUTPUT OFF", "unknown": "OUTPUT MAY BE ON: switch it off at the instrument"}
SPANS = (("whole run", None), ("last 10 min", 600.0), ("last 1 h", 3600.0), ("last 10 h", 36000.0),
         ("last 100 h", 360000.0))


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 100 else f"{seconds / 3600:,.0f} h"


def value_text(name: str, value: float) -> str:
    if not math.isfinite(value):
        return "—"
    if name == "pressure":
        return f"{value:.3f} MPa"
    if name == "temperature":
        return f"{value:.2f} °C"
    return pg.siFormat(value, precision=4, suffix="A" if name == "current" else "V")


@dataclass
class MonitorFeed:
    """One run as the monitor shows it. Kept per channel, so switching channels costs
    nothing: the buffer is kept current by the acquisition thread."""
    buffer: LiveBuffer
    title: str = ""
    progress: Callable[[], dict] | None = None   # RunEngine.progress: step, n_steps, cycle, t_s, remaining_s
    state: str = "running"
    expects_eis: bool = False
    events: list[tuple[float, str]] = field(default_factory=list)     # (t in s, label) marked on the plots
    # samples [start, stop) of this stream as stored (the notebook), for the parts the
    # buffer no longer holds raw; None: draw those parts from the pyramid's coarser levels
    history: Callable[[int, int], np.ndarray] | None = None
    # the source as the engine last reported it: "on", "off" (made safe: a trip, a pause,
    # the run's end) or "unknown" (switching it off failed: it may still be on)
    output: str = "on"


class _HistoryCache:
    """The one stretch of a feed's history read back last, with its pyramid."""

    def __init__(self) -> None:
        self.key: tuple[int, int, int] | None = None   # (feed, start, stop)
        self.view: LodView | None = None

    def get(self, feed: MonitorFeed, start: int, stop: int) -> LodView | None:
        if feed.history is None or stop - start > HISTORY_MAX:
            return None
        if self.key != (id(feed), start, stop):
            try:
                samples = feed.history(start, stop)
            except (NotebookError, sqlite3.Error):   # a damaged or vanished notebook: draw the coarser levels
                samples = None
            view = None
            if samples is not None and samples.size == stop - start > 0:
                pyramid = MinMaxPyramid(TRACE_FIELDS)
                pyramid.extend(samples)
                view = pyramid.view(samples, 0, samples.size)
            self.key, self.view = (id(feed), start, stop), view
        return self.view


def style_plot(plot: pg.PlotItem) -> None:
    """A grid at the labelled ticks only: finer grid levels cost more to paint (about
    2 ms a plot here, every frame) than the traces themselves."""
    plot.showGrid(x=True, y=True, alpha=0.3)
    for side in ("left", "bottom"):
        plot.getAxis(side).setStyle(maxTickLevel=0)
    theme.style_plot(plot)


class _TimePlot:
    """One trace against time, with its crosshair lines and event markers."""

    def __init__(self, name: str, short: str, label: str, si_unit: str | None, fixed_unit: str, colour: str):
        self.name = name
        self.short = short
        self.colour = colour
        # a value axis that writes only as many labels as its height holds (a short strip stacked them)
        self.widget = pg.PlotWidget(axisItems={"left": SparseAxis("left")})
        self.plot = self.widget.getPlotItem()
        self.plot.setLabel("left", label, units=si_unit) if si_unit else self.plot.setLabel("left", f"{label} ({fixed_unit})")
        if not si_unit:
            self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("left").setWidth(72)           # aligned left edges: the time axes line up
        if name in ("pressure", "temperature"):
            self.plot.getAxis("left").setTickDensity(0.6)  # short plots: fewer, legible ticks
            self.widget.setMinimumHeight(70)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        style_plot(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()            # "Show all" does what pyqtgraph's auto-range button would
        self.curve = self.plot.plot(pen=theme.pen(colour), connect="finite")
        # On top of the pyramid's envelope, pyqtgraph's own peak downsampling and
        # clipping keep a raw-level frame (a zoom into a few thousand samples) cheap too.
        self.curve.setDownsampling(auto=True, method="peak")
        self.curve.setClipToView(True)
        self.cursor_v = pg.InfiniteLine(angle=90, movable=False, pen=theme.pen("cursor", style=QtCore.Qt.PenStyle.DashLine))
        self.cursor_h = pg.InfiniteLine(angle=0, movable=False, pen=theme.pen("cursor", style=QtCore.Qt.PenStyle.DashLine))
        for line in (self.cursor_v, self.cursor_h):
            line.hide()
            self.plot.addItem(line, ignoreBounds=True)
        self.markers: list[pg.InfiniteLine] = []

    def mark(self, t_h: float, label: str | None) -> None:
        line = pg.InfiniteLine(pos=t_h, angle=90, pen=theme.pen("event", width=2), label=label,
                               labelOpts={"position": 0.9, "color": theme.color("event")} if label else None)
        self.plot.addItem(line, ignoreBounds=True)
        self.markers.append(line)

    def restyle(self) -> None:
        """The trace, crosshair and markers in the current theme's colours."""
        self.curve.setPen(theme.pen(self.colour))
        for line in (self.cursor_v, self.cursor_h):
            line.setPen(theme.pen("cursor", style=QtCore.Qt.PenStyle.DashLine))
        for line in self.markers:
            line.setPen(theme.pen("event", width=2))
            if getattr(line, "label", None) is not None:     # pyqtgraph adds .label only to labelled lines
                line.label.setColor(theme.color("event"))

    def clear_markers(self) -> None:
        for line in self.markers:
            self.plot.removeItem(line)
        self.markers.clear()


class MonitorWidget(QtWidgets.QWidget):
    """Shows one MonitorFeed at a time; `attach` switches to another."""

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=False)      # background and axes: the theme (gui/theme.py)
        self.feed: MonitorFeed | None = None
        self.points_drawn = 0          # samples of the feed's buffer the plots have caught up with
        self._drawn_window: Window | None = None
        self._history = _HistoryCache()
        self._shown: tuple = ()        # (trace names shown, whether they are empty)
        self._view_dirty = True
        self._spectra_drawn: tuple[int, int] = (0, 0)
        self._eis_empty: bool | None = None   # the impedance plots blank until the first sweep

        self.heading = QtWidgets.QLabel("No run yet. Build a cell and start a run.")
        self.heading.setStyleSheet("font-weight: bold;")
        self.progress = QtWidgets.QLabel()
        self.cycle_figures = QtWidgets.QLabel()
        self.cursor_readout = QtWidgets.QLabel("Cursor: move over a plot for values")
        theme.set_style(self.cursor_readout, "color: {muted};")
        for label in (self.heading, self.progress, self.cycle_figures, self.cursor_readout):
            label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)

        self.follow = QtWidgets.QCheckBox("Follow latest")
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the newest sample at the right edge. Zooming or panning a plot switches this off.")
        self.span = QtWidgets.QComboBox()
        for text, seconds in SPANS:
            self.span.addItem(text, seconds)
        self.span.setToolTip("How much of the run to show while following")
        self.show_all = QtWidgets.QPushButton("Show all")
        self.export_png = QtWidgets.QPushButton("Export PNG…")
        self.export_svg = QtWidgets.QPushButton("Export SVG…")
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(self.follow)
        bar.addWidget(QtWidgets.QLabel("Window"))
        bar.addWidget(self.span)
        bar.addWidget(self.show_all)
        bar.addStretch(1)
        bar.addWidget(self.export_png)
        bar.addWidget(self.export_svg)

        self.traces = {spec[0]: _TimePlot(*spec) for spec in TRACES}
        master = self.traces["voltage"].plot
        self.time_column = QtWidgets.QWidget()
        time_layout = QtWidgets.QVBoxLayout(self.time_column)
        time_layout.setContentsMargins(0, 0, 0, 0)
        time_layout.setSpacing(0)
        for name, trace in self.traces.items():
            time_layout.addWidget(trace.widget, 3 if name == "voltage" else 2 if name in ("current", "ref") else 1)
            if trace.plot is not master:
                trace.plot.setXLink(master)
            trace.plot.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
            trace.widget.scene().sigMouseMoved.connect(lambda pos, trace=trace: self._on_mouse(trace, pos))
        master.getViewBox().sigXRangeChanged.connect(self._on_x_range)

        self.nyquist = pg.PlotWidget()
        self.nyquist.setLabel("bottom", "Z′", units="Ω")
        self.nyquist.setLabel("left", "−Z″", units="Ω")
        self.nyquist.setAspectLocked(True)
        style_plot(self.nyquist.getPlotItem())
        self.bode_mag = pg.PlotWidget()
        self.bode_mag.setLogMode(x=True, y=True)
        self.bode_mag.setLabel("left", "|Z| (Ω)")
        self.bode_phase = pg.PlotWidget()
        self.bode_phase.setLogMode(x=True, y=False)
        self.bode_phase.setLabel("left", "Phase (°)")
        self.bode_phase.setLabel("bottom", "Frequency (Hz)")
        self.bode_phase.setXLink(self.bode_mag)
        for plot in (self.bode_mag, self.bode_phase):
            plot.getAxis("left").setWidth(56)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.getAxis("left").enableAutoSIPrefix(False)
            style_plot(plot.getPlotItem())
        self.nyquist_title = QtWidgets.QLabel("Impedance: no sweep yet")
        self.eis_column = QtWidgets.QWidget()
        eis_layout = QtWidgets.QVBoxLayout(self.eis_column)
        eis_layout.setContentsMargins(0, 0, 0, 0)
        eis_layout.addWidget(self.nyquist_title)
        eis_layout.addWidget(self.nyquist, 3)
        eis_layout.addWidget(self.bode_mag, 2)
        eis_layout.addWidget(self.bode_phase, 2)
        self.eis_column.hide()

        self.plots = QtWidgets.QSplitter()
        self.plots.addWidget(self.time_column)
        self.plots.addWidget(self.eis_column)
        self.plots.setStretchFactor(0, 3)
        self.plots.setStretchFactor(1, 2)

        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.progress)
        layout.addWidget(self.cycle_figures)
        layout.addLayout(bar)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.cursor_readout)

        self.follow.toggled.connect(self._on_follow)
        self.span.currentIndexChanged.connect(lambda: self._on_follow(True))
        self.show_all.clicked.connect(self.view_all)
        self.export_png.clicked.connect(lambda: self._ask_export("PNG image (*.png)", ".png"))
        self.export_svg.clicked.connect(lambda: self._ask_export("SVG drawing (*.svg)", ".svg"))
        self._timer = QtCore.QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._layout_traces()
        theme.notifier().changed.connect(self._restyle)

    def _restyle(self) -> None:
        """A theme change: traces re-penned, sweeps redrawn in the new colours."""
        for trace in self.traces.values():
            trace.restyle()
        self._spectra_drawn = (0, 0)
        self._view_dirty = True

    # -- which run --
    def attach(self, feed: MonitorFeed) -> None:
        """Show `feed` from now on, redrawing on the timer."""
        self._clear()
        self.feed = feed
        self._layout_traces()          # blank until its first samples
        for t_s, label in feed.events:
            self._add_marker(t_s, label)
        self.follow.setChecked(True)
        self._on_follow(True)
        self._timer.start()
        self.redraw()

    def show_idle(self, text: str) -> None:
        """No run to show (a channel that has not run yet)."""
        self._timer.stop()
        self._clear()
        self.feed = None
        self._layout_traces()
        self.eis_column.hide()
        self.heading.setText(text)
        for label in (self.progress, self.cycle_figures):
            label.clear()

    def _clear(self) -> None:
        self.points_drawn = 0
        self._drawn_window = None
        self._spectra_drawn = (0, 0)
        self._view_dirty = True
        for trace in self.traces.values():
            trace.clear_markers()
            trace.curve.setData([], [])
            for line in (trace.cursor_v, trace.cursor_h):
                line.hide()
        for plot in (self.nyquist, self.bode_mag, self.bode_phase):
            plot.clear()

    def detach(self) -> None:
        """Draw what is left and stop the timer (the run ended or the window closes)."""
        self.redraw()
        self._timer.stop()

    def mark_event(self, t_s: float, label: str) -> None:
        if self.feed is not None:
            self.feed.events.append((t_s, label))
        self._add_marker(t_s, label)

    def _add_marker(self, t_s: float, label: str) -> None:
        for name, trace in self.traces.items():
            trace.mark(t_s / 3600.0, label if name == "voltage" else None)

    # -- frames --
    def redraw(self) -> None:
        feed = self.feed
        if feed is None:
            return
        snap = feed.buffer.snapshot()
        grew = snap.total != self.points_drawn
        if grew:
            self._layout_traces()
        if self.follow.isChecked() and snap.total and grew:
            self._follow_latest(snap)
        if (grew or self._view_dirty) and snap.total:
            self._draw_traces(snap)
            self.points_drawn = snap.total
        self._draw_spectra(feed)
        self._show_progress(feed, snap)

    def _draw_traces(self, snap: LodView) -> None:
        vb = self.traces["voltage"].plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        width = int(vb.width()) or 1000
        t0, t1 = x0 * 3600.0, x1 * 3600.0
        window = snap.window(t0, t1, width)
        if window == self._drawn_window and not self._view_dirty:
            return      # the run grew outside the view: nothing on screen changes
        source = snap
        if window.coarse:
            # That part of the run is no longer in memory at the detail the view asks for:
            # read it back from the notebook, if it is a modest stretch.
            older = self._history.get(self.feed, window.i0, window.i1)
            if older is not None:
                source, window = older, older.window(t0, t1, width)
        following = self.follow.isChecked()
        for name, trace in self.traces.items():
            if name in self.feed.buffer.measured:
                t, y = source.envelope(window, name)
                trace.curve.setData(t / 3600.0, y)
                if following:
                    self._fit_y(trace, y)
        self._drawn_window = window if source is snap else None
        self._view_dirty = False

    @staticmethod
    def _fit_y(trace: _TimePlot, y: np.ndarray) -> None:
        """While following, each trace's axis spans what is drawn (see MIN_SPAN)."""
        finite = y[np.isfinite(y)]
        if not finite.size:
            return
        lo, hi = float(finite.min()), float(finite.max())
        if hi - lo < MIN_SPAN[trace.name]:
            middle = 0.5 * (lo + hi)
            half = 0.5 * max(MIN_SPAN[trace.name], MIN_SPAN_FRACTION * abs(middle))
            lo, hi = middle - half, middle + half
        pad = 0.05 * (hi - lo)
        lo, hi = lo - pad, hi + pad
        (_, _), (y0, y1) = trace.plot.getViewBox().viewRange()
        if abs(y0 - lo) > 0.005 * (hi - lo) or abs(y1 - hi) > 0.005 * (hi - lo):
            trace.plot.setYRange(lo, hi, padding=0)    # unchanged ranges keep the axes' cached drawing

    def _follow_latest(self, snap: LodView) -> None:
        t_last = float(snap.raw["t"][-1]) / 3600.0
        span = self.span.currentData()
        t_first = snap.t_first / 3600.0 if span is None else max(t_last - span / 3600.0, 0.0)
        if t_last <= t_first:
            t_last = t_first + 1e-3
        vb = self.traces["voltage"].plot.getViewBox()
        (x0, x1), _ = vb.viewRange()
        margin = 0.02 * (t_last - t_first)          # setXRange's padding below
        pixel = (x1 - x0) / max(vb.width(), 1.0)
        if abs(x0 - (t_first - margin)) < pixel and abs(x1 - (t_last + margin)) < pixel:
            return    # less than a pixel to move: the axes keep their cached drawing
        self.traces["voltage"].plot.setXRange(t_first, t_last, padding=0.02)   # not a "manual" change

    def _layout_traces(self) -> None:
        """Show the traces the run measures; the time axis only under the lowest one.
        Without samples the plots are blank: no values, no grid (a 0-1 scale reads as data)."""
        measured = self.feed.buffer.measured if self.feed else {"voltage", "current"}
        names = tuple(name for name in self.traces if name in measured)
        empty = self.feed is None or not len(self.feed.buffer)
        if (names, empty) == self._shown:
            return       # relabelling axes every frame would make them redraw every frame
        self._shown = (names, empty)
        shown = [self.traces[name] for name in names]
        for trace in self.traces.values():
            trace.widget.setVisible(trace in shown)
            bottom = trace is shown[-1]
            blank(trace.plot, empty, sides=("left",))
            trace.plot.showAxis("bottom", True)
            trace.plot.getAxis("bottom").setStyle(showValues=bottom and not empty)
            trace.plot.setLabel("bottom", "Time since start (h)" if bottom else "")
            trace.plot.getAxis("bottom").setHeight(None if bottom else 6)

    def _on_follow(self, on: bool) -> None:
        if on and self.feed is not None and self.follow.isChecked():
            snap = self.feed.buffer.snapshot()
            if snap.total:
                self._follow_latest(snap)
                self._view_dirty = True

    def _on_x_range(self, *_args) -> None:
        self._view_dirty = True       # the next frame draws what the new range needs

    def _on_manual_range(self, *_args) -> None:
        self.follow.setChecked(False)   # the operator looks somewhere (wheel, drag): stop pulling the view away

    def view_all(self) -> None:
        """The whole run, following the newest samples."""
        self.span.setCurrentIndex(0)
        self.follow.setChecked(True)
        self._on_follow(True)

    # -- impedance --
    def _blank_eis(self, empty: bool) -> None:
        if empty != self._eis_empty:
            self._eis_empty = empty
            for plot in (self.nyquist, self.bode_mag, self.bode_phase):
                blank(plot.getPlotItem(), empty)

    def _draw_spectra(self, feed: MonitorFeed) -> None:
        spectra = list(feed.buffer.spectra)   # the engine thread may append meanwhile
        self._blank_eis(not spectra)
        if not spectra:
            self.eis_column.setVisible(feed.expects_eis)
            return
        latest = spectra[-1]
        state = (len(spectra), len(latest["freq_hz"]))
        if state == self._spectra_drawn:
            return
        self.eis_column.show()
        self._spectra_drawn = state
        for plot in (self.nyquist, self.bode_mag, self.bode_phase):
            plot.clear()
        shown = spectra[-SPECTRA_SHOWN:]
        for k, spectrum in enumerate(shown):
            newest = k == len(shown) - 1
            colour = theme.qcolor("spectrum") if newest else theme.qcolor("spectrum_old", 90 + 120 * k // len(shown))
            f, z = np.asarray(spectrum["freq_hz"]), np.asarray(spectrum["z"])
            symbol = {"symbol": "o", "symbolSize": 5, "symbolBrush": colour, "symbolPen": None}
            pen = pg.mkPen(colour, width=2 if newest else 1)
            self.nyquist.plot(z.real, -z.imag, pen=pen, **symbol)
            self.bode_mag.plot(f, np.abs(z), pen=pen, **symbol)
            self.bode_phase.plot(f, np.degrees(np.angle(z)), pen=pen, **symbol)
        self.nyquist_title.setText(f"Impedance: sweep {len(spectra)} at t = {latest['t_s'] / 3600:.2f} h "
                                   f"(cycle {latest['cycle']}, {len(latest['freq_hz'])} points, "
                                   f"{latest['amplitude_v'] * 1e3:g} mV)" + (f"; {len(shown) - 1} earlier in grey"
                                                                             if len(shown) > 1 else ""))

    # -- text --
    def _show_progress(self, feed: MonitorFeed, snap: LodView) -> None:
        self.heading.setText(f"{feed.title} — {feed.state}" if feed.title else feed.state)
        progress = feed.progress() if feed.progress else {}
        last = snap.raw[-1] if snap.total else None
        cycle = progress.get("cycle", int(last["cycle"]) if last is not None else 0)
        t_s = progress.get("t_s", float(last["t"]) if last is not None else 0.0)
        parts = [f"Cycle {cycle}"]
        if progress.get("n_steps"):
            parts.append(f"step {progress['step'] + 1} of {progress['n_steps']}")
        parts += [f"elapsed {duration_text(t_s)}",
                  f"remaining {duration_text(progress.get('remaining_s')) if feed.state in ('running', 'paused') else '—'}",
                  f"{snap.total:,} samples"]
        if last is not None and feed.output == "on":
            parts += [f"V = {value_text('voltage', float(last['voltage']))}",
                      f"I = {value_text('current', float(last['current']))}"]
        elif last is not None:
            # the last sample was taken while sourcing: its current is no longer flowing
            parts += [OUTPUT_TEXT.get(feed.output, OUTPUT_TEXT["unknown"]),
                      f"last V = {value_text('voltage', float(last['voltage']))}"]
        self.progress.setText("  ·  ".join(parts))
        done, now = feed.buffer.cycle_figures(cycle)
        parts = []
        if done is not None:
            ce = f"{done.ce:.2%}" if done.ce is not None else "—"
            parts.append(f"Last full cycle {done.cycle}: Q+ {done.charge_mAh:.4g} mAh, Q− {done.discharge_mAh:.4g} mAh, "
                         f"CE (Q−/Q+) {ce}, energy in {done.energy_in_mWh:.4g} / out {done.energy_out_mWh:.4g} mWh")
        if now is not None:
            parts.append(f"cycle {cycle} so far: Q+ {now.charge_mAh:.4g} mAh, Q− {now.discharge_mAh:.4g} mAh")
        self.cycle_figures.setText("  ·  ".join(parts) or "Per cycle: nothing measured yet")

    def _on_mouse(self, trace: _TimePlot, pos: QtCore.QPointF) -> None:
        if self.feed is None or not trace.plot.sceneBoundingRect().contains(pos):
            return
        point = trace.plot.getViewBox().mapSceneToView(pos)
        snap = self.feed.buffer.snapshot()
        for other in self.traces.values():
            other.cursor_v.setPos(point.x())
            other.cursor_v.show()
            other.cursor_h.setVisible(other is trace)
        trace.cursor_h.setPos(point.y())
        if snap.total == 0:
            return
        here = f"Cursor: t = {point.x():.4f} h, {trace.short} = {value_text(trace.name, point.y())}"
        t_s = point.x() * 3600.0
        k = snap.nearest(t_s)
        if k is not None:
            sample = snap.raw[k - snap.raw_first]
        else:
            start, stop = snap.locate(t_s)
            older = self._history.get(self.feed, start, stop)
            if older is None:
                self.cursor_readout.setText(f"{here}  |  the samples near it are in the notebook")
                return
            k = nearest_in(older.raw, start, t_s)
            sample = older.raw[k - start]
        values = "  ·  ".join(f"{spec[1]} = {value_text(spec[0], float(sample[spec[0]]))}"
                              for spec in TRACES if spec[0] in self.feed.buffer.measured)
        self.cursor_readout.setText(f"{here}  |  nearest sample #{k:,} at {float(sample['t']) / 3600:.4f} h "
                                    f"(cycle {int(sample['cycle'])}): {values}")

    # -- export --
    def _ask_export(self, file_filter: str, suffix: str) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export the current view", f"monitor{suffix}", file_filter)
        if path:
            self.export_view(Path(path).with_suffix(suffix))

    def export_view(self, path: Path) -> Path:
        """The plots as they are on screen (zoom, markers, cursor) to PNG or SVG (vector)."""
        path = Path(path)
        if path.suffix.lower() == ".svg":
            generator = QtSvg.QSvgGenerator()
            generator.setFileName(str(path))
            generator.setSize(self.plots.size())
            generator.setViewBox(QtCore.QRect(QtCore.QPoint(0, 0), self.plots.size()))
            generator.setTitle(self.heading.text())
            painter = QtGui.QPainter(generator)
            try:
                self.plots.render(painter, QtCore.QPoint())
            finally:
                painter.end()
        elif path.suffix.lower() == ".png":
            if not self.plots.grab().save(str(path), "PNG"):
                raise OSError(f"could not write {path}")
        else:
            raise ValueError(f"export as .png or .svg, not {path.suffix or 'no suffix'}")
        return path
