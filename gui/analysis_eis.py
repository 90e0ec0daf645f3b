"""The analysis view's impedance-over-run and DRT pages.

Impedance over run: a Nyquist waterfall of every spectrum of the run shown, coloured
by cycle along viridis with a colour bar (optionally staggered upwards, one step per
spectrum), and the fitted resistances against cycle and against time with their
1-sigma bands. Overlaid runs (bare cell against Ag-C) join the resistance plots in
their run colour; resistances of one run are told apart by symbol.

DRT: one spectrum with its circuit fit and the DRT's reconstruction over it, the
distribution gamma(tau) with its peaks marked and labelled, and the Kramers-Kronig
residuals that qualify both. The computing is gui.analysis_eis_runs (Qt-free)."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from gui import theme
from gui.analysis_eis_runs import TWO_ARCS, default_eis_options, describe_peak, run_circuit
from gui.analysis_pages import CIRCUITS, FLAGGED_COLOUR, AnalysisPage, CircuitChoice, Entry, add_curve
from gui.analysis_runs import RunData

SYMBOLS = ["o", "s", "t", "d", "star", "+"]
CIRCUIT_CHOICES = list(dict.fromkeys(CIRCUITS[:1] + [TWO_ARCS] + CIRCUITS[1:]))
WATERFALL_MAP = "viridis"
MARKED_SPECTRA = 40          # a waterfall of more spectra draws lines only: their points would cover each other


def _reset_circuit(page: CircuitChoice, run: RunData) -> None:
    """The run's default circuit shown, and none chosen yet."""
    page._circuit = None
    page.circuit.setCurrentText(run_circuit(run))


class EisRunPage(CircuitChoice, AnalysisPage):
    kind = "eis-run"
    CONTROLS = True
    PLOTS = [("waterfall", "Z' (ohm cm²)", "-Z'' (ohm cm²)", {}),
             ("resistance vs cycle", "Cycle", "R (ohm cm²)", {}),
             ("resistance vs time", "Time since start (h)", "R (ohm cm²)", {})]

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._add_circuit_controls(CIRCUIT_CHOICES, 24)
        self.stagger = QtWidgets.QCheckBox("Stagger spectra")
        self.stagger.setToolTip("Shift each spectrum up by a step, in the order measured, so that they do not overlap")
        self.controls.addWidget(self.stagger)
        self.log_r = QtWidgets.QCheckBox("Log R axis")
        self.log_r.setToolTip("Resistances on a logarithmic axis: a small interface beside a large one")
        self.controls.addWidget(self.log_r)
        self.plots["waterfall"].setAspectLocked(True)
        self.plots["waterfall"].plotItem.legend.hide()      # the colour bar says what the colours mean
        self.plots["resistance vs time"].plotItem.legend.hide()   # the same series as against cycle
        self.colour_bar: pg.ColorBarItem | None = None
        self._entries: list[Entry] = []
        self.stagger.toggled.connect(lambda _on: self._redraw_waterfall())
        self.log_r.toggled.connect(lambda _on: self._redraw_resistances())

    def prepare(self, run: RunData) -> None:
        _reset_circuit(self, run)

    def options(self, run: RunData) -> dict:
        return {"circuit": self._circuit} if self._circuit else default_eis_options(self.kind, run)

    def draw(self, entries: list[Entry]) -> None:
        self._entries = entries
        self._redraw_waterfall()
        self._redraw_resistances()

    def _redraw_resistances(self) -> None:
        """Each run's resistances against cycle and time, value and 1-sigma band."""
        entries = self._entries
        per_area = bool(entries) and all(e.result.area_cm2 for e in entries)
        unit = "ohm cm²" if per_area else "ohm"
        log = self.log_r.isChecked()
        for name in ("resistance vs cycle", "resistance vs time"):
            plot = self.plots[name]
            plot.clear()
            plot.plotItem.legend.clear()
            plot.setLabel("left", f"R ({unit})")
            plot.setLogMode(x=False, y=log)
        legend = self.plots["resistance vs cycle"].plotItem.legend
        legend.setColumnCount(max((len(e.result.resistors) for e in entries), default=1))
        top, bottom = 0.0, math.inf
        for e in entries:
            r = e.result
            scale = r.area_cm2 if per_area else 1.0
            t = r.table
            for k, name in enumerate(r.resistors):
                value = t[f"{name}_ohm"].to_numpy() * scale
                sigma = t[f"{name}_sigma_ohm"].to_numpy() * scale
                for plot, x in (("resistance vs cycle", t["cycle"].to_numpy(dtype=float)),
                                ("resistance vs time", t["t_s"].to_numpy() / 3600.0)):
                    _band(self.plots[plot], x, value, sigma, e.colour, log)
                    add_curve(self.plots[plot], x, value, colour=e.colour, style=e.style,
                              symbol=SYMBOLS[k % len(SYMBOLS)], name=f"{e.run.label} {name}")
                positive = value[value > 0]
                if positive.size:
                    top = max(top, float(np.nanmax(value + np.nan_to_num(sigma))))
                    bottom = min(bottom, float(positive.min()))
        if top <= 0:
            return
        for plot in ("resistance vs cycle", "resistance vs time"):
            # room above the curves for the legend (one row per run)
            if log:
                low, high = math.log10(bottom) - 0.2, math.log10(top)
                self.plots[plot].setYRange(low, high + (high - low) * (0.2 + 0.12 * len(entries)), padding=0)
            else:
                self.plots[plot].setYRange(0, top * (1.2 + 0.12 * len(entries)), padding=0)

    def _redraw_waterfall(self) -> None:
        """The run shown (entries[0]): every spectrum, coloured by its cycle."""
        plot = self.plots["waterfall"]
        plot.clear()
        plot.plotItem.legend.clear()
        shown = [e for e in self._entries if e.index == 0]
        if self.colour_bar is not None:
            self.colour_bar.setVisible(bool(shown))
        if not shown:
            return
        e = shown[0]
        per_area = all(x.result.area_cm2 for x in self._entries)
        plot.setLabel("bottom", f"Z' ({'ohm cm²' if per_area else 'ohm'})")
        plot.setLabel("left", f"-Z'' ({'ohm cm²' if per_area else 'ohm'})"
                      + (" + stagger" if self.stagger.isChecked() else ""))
        scale = e.result.area_cm2 if per_area else 1.0
        self.colour_bar = draw_waterfall(plot, [(s.cycle, s.fit.z_measured) for s in e.result.fits], scale,
                                         self.stagger.isChecked(), self.colour_bar)
        flagged = [(k, s.fit.flagged_z) for k, s in enumerate(e.result.fits) if s.fit.flagged_z.size]
        if flagged:
            # what the analyser flagged (overload, out of range): shown as red crosses, not fitted
            step = _stagger_step([s.fit.z_measured for s in e.result.fits], scale) if self.stagger.isChecked() else 0.0
            z = np.concatenate([zf * scale for _, zf in flagged])
            offset = np.concatenate([np.full(zf.size, k * step) for k, zf in flagged])
            plot.addItem(pg.ScatterPlotItem(z.real, -z.imag + offset, symbol="x", size=8, pen=theme.pen(FLAGGED_COLOUR),
                                            brush=pg.mkBrush(theme.color(FLAGGED_COLOUR))))

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            r = e.result
            if not r.fits:
                continue
            unit = "ohm cm²" if r.area_cm2 else "ohm"
            scale = r.area_cm2 or 1.0
            first, last = r.fits[0], r.fits[-1]
            growth = "; ".join(
                f"{name} {first.fit.parameters[name] * scale:.3g} → {last.fit.parameters[name] * scale:.3g} "
                f"± {last.fit.stderr[name] * scale:.2g} {unit}" for name in r.resistors)
            failing = sum(not s.kk.passed for s in r.fits)
            out.append(f"{e.run.label}: {r.circuit} fitted to {len(r.fits)} spectra, cycle {first.cycle} to "
                       f"{last.cycle}: {growth}"
                       + (f"; {failing} spectra fail Kramers-Kronig (fitted, with a warning)" if failing else "")
                       + "".join(f"; {note}" for note in r.notes if " not fitted: " in note))
        return out


def draw_waterfall(plot: pg.PlotWidget, spectra: list[tuple[int | None, np.ndarray]], scale: float = 1.0,
                   stagger: bool = False, bar: pg.ColorBarItem | None = None) -> pg.ColorBarItem | None:
    """Nyquist plots of (cycle, Z) pairs coloured by cycle, with a colour bar for the
    cycle axis beside the plot (`bar`, when one was drawn before, is given its new range:
    Qt's grid layout misplaces a bar removed and added again); returns the bar. One
    PlotCurveItem per spectrum for its line and one ScatterPlotItem for all the points:
    a scatter item per spectrum costs several times as much to draw
    (benchmarks/bench_eis.py)."""
    if not spectra:
        return None
    cmap = pg.colormap.get(WATERFALL_MAP)
    cycles = np.array([c if c is not None else k for k, (c, _) in enumerate(spectra)], dtype=float)
    lo, hi = float(cycles.min()), float(cycles.max())
    span = hi - lo if hi > lo else 1.0
    step = _stagger_step([z for _, z in spectra], scale) if stagger else 0.0
    # points marked while they can be told apart; beyond MARKED_SPECTRA, lines only
    marked = len(spectra) <= MARKED_SPECTRA
    xs, ys, brushes = [], [], []
    for k, ((_, z), cycle) in enumerate(zip(spectra, cycles)):
        colour = cmap.map(0.9 * (cycle - lo) / span, mode="qcolor")
        zs = np.asarray(z) * scale
        x, y = zs.real, -zs.imag + k * step
        plot.addItem(pg.PlotCurveItem(x, y, pen=pg.mkPen(colour, width=1.2 if marked else 1.0)))
        if marked:
            xs.append(x)
            ys.append(y)
            brushes.append(np.full(x.size, pg.mkBrush(colour), dtype=object))
    if marked:
        plot.addItem(pg.ScatterPlotItem(np.concatenate(xs), np.concatenate(ys), size=4, pen=None,
                                        brush=np.concatenate(brushes)))
    values = (lo, hi if hi > lo else lo + 1)
    if bar is not None:
        bar.setLevels(values)
        return bar
    bar = pg.ColorBarItem(values=values, label="Cycle", interactive=False, width=14,
                          colorMap=pg.ColorMap(np.linspace(0, 1, 10),
                                               [cmap.map(0.9 * x, mode="qcolor") for x in np.linspace(0, 1, 10)]))
    # the bar spans the part of viridis the lines use (0..0.9: the palest yellow is unreadable on white)
    bar.getAxis("right").setTextPen(theme.color("plot_fg"))
    plot.plotItem.layout.addItem(bar, 2, 5)
    return bar


def _stagger_step(spectra: list[np.ndarray], scale: float) -> float:
    """A quarter of the tallest arc: each spectrum is drawn this much above the one before."""
    return max(float(np.max(-np.asarray(z).imag)) * scale for z in spectra) * 0.25


def waterfall_curves(plot: pg.PlotWidget) -> list[pg.PlotCurveItem]:
    """The waterfall's lines, in the order drawn."""
    return [item for item in plot.plotItem.items if isinstance(item, pg.PlotCurveItem)]


def _band(plot: pg.PlotWidget, x: np.ndarray, value: np.ndarray, sigma: np.ndarray, colour: str,
          log: bool = False) -> None:
    """value +- sigma as a translucent band (points whose sigma is not finite are left out;
    on a log axis the band is drawn in log10 units, its lower edge kept above zero)."""
    good = np.isfinite(x) & np.isfinite(value) & np.isfinite(sigma) & (~log | (value > 0))
    if good.sum() < 2:
        return
    order = np.argsort(x[good])
    xs, v, s = x[good][order], value[good][order], sigma[good][order]
    high, low = v + s, v - s
    if log:
        high, low = np.log10(high), np.log10(np.maximum(low, v / 10))
    c = pg.mkColor(colour)
    fill = pg.FillBetweenItem(pg.PlotDataItem(xs, high), pg.PlotDataItem(xs, low),
                              brush=pg.mkBrush(c.red(), c.green(), c.blue(), 60))
    plot.addItem(fill)


class DrtPage(CircuitChoice, AnalysisPage):
    kind = "drt"
    CONTROLS = True
    PLOTS = [("nyquist", "Z' (ohm cm²)", "-Z'' (ohm cm²)", {}),
             ("drt", "τ (s)", "γ (ohm cm²)", {"log_x": True}),
             ("kk residuals", "Frequency (Hz)", "Kramers-Kronig residual (%)", {"log_x": True})]

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.spectrum = QtWidgets.QComboBox()
        self.controls.addWidget(QtWidgets.QLabel("Spectrum:"))
        self.controls.addWidget(self.spectrum)
        self._add_circuit_controls(CIRCUIT_CHOICES, 24)
        self.spectrum.activated.connect(lambda _index: self.options_changed.emit())
        self.plots["nyquist"].setAspectLocked(True)
        self.plots["drt"].plotItem.legend.setOffset((10, 10))     # top left: short tau is rarely busy

    def prepare(self, run: RunData) -> None:
        _reset_circuit(self, run)
        self.spectrum.clear()
        for s in run.spectra:
            self.spectrum.addItem(f"{s['spectrum']}: {s['t_s'] / 3600:.2f} h, cycle {s['cycle']}", s["spectrum"])
        self.spectrum.setCurrentIndex(self.spectrum.count() - 1)

    def options(self, run: RunData) -> dict:
        number = self.spectrum.currentData()
        last = number is None or self.spectrum.currentIndex() == self.spectrum.count() - 1
        out = default_eis_options(self.kind, run)
        out["spectrum"] = -1 if last else number
        if self._circuit:
            out["circuit"] = self._circuit
        return out

    def draw(self, entries: list[Entry]) -> None:
        per_area = bool(entries) and all(e.result.area_cm2 for e in entries)
        unit = "ohm cm²" if per_area else "ohm"
        self.plots["nyquist"].setLabel("bottom", f"Z' ({unit})")
        self.plots["nyquist"].setLabel("left", f"-Z'' ({unit})")
        self.plots["drt"].setLabel("left", f"γ ({unit})")
        for e in entries:
            r = e.result
            scale = r.area_cm2 if per_area else 1.0
            d, fit = r.drt, r.fit
            z = d.z_measured * scale
            add_curve(self.plots["nyquist"], z.real, -z.imag, colour=e.colour, symbol="o", filled=e.index == 0,
                      lines=False, name=f"{e.run.label} spectrum {r.spectrum}")
            order = np.argsort(fit.frequency_hz)
            zf = fit.z_fit[order] * scale
            add_curve(self.plots["nyquist"], zf.real, -zf.imag, colour=e.colour, style=e.style, width=2,
                      name=f"{e.run.label} {fit.circuit}")
            zd = d.z_fit[np.argsort(d.frequency_hz)] * scale
            add_curve(self.plots["nyquist"], zd.real, -zd.imag, colour=theme.color("cursor"), style=QtCore.Qt.PenStyle.DashLine,
                      width=1.5, name=f"{e.run.label} DRT")
            add_curve(self.plots["drt"], d.tau_s, d.gamma_ohm * scale, colour=e.colour, style=e.style, width=2,
                      name=f"{e.run.label} γ(τ)" + ("" if d.kk.passed else " (fails KK)"))
            if d.peaks:
                add_curve(self.plots["drt"], [p.tau_s for p in d.peaks], [p.gamma_ohm * scale for p in d.peaks],
                          colour=e.colour, symbol="x", lines=False, name=f"{e.run.label} peaks")
                for p in d.peaks:
                    label = pg.TextItem(describe_peak(p, r.area_cm2 if per_area else None).split(" (τ")[0] + "\n"
                                        + (f"{p.r_ohm_cm2:.3g} ohm cm²" if per_area and p.r_ohm_cm2 is not None
                                           else f"{p.r_ohm:.3g} ohm"), color=e.colour, anchor=(0.5, 1.1))
                    label.setPos(math.log10(p.tau_s), p.gamma_ohm * scale)
                    self.plots["drt"].addItem(label)
            kk = d.kk
            add_curve(self.plots["kk residuals"], kk.frequency_hz, kk.residual_real_pct, colour=e.colour, symbol="o",
                      lines=False, name=f"{e.run.label} Re")
            add_curve(self.plots["kk residuals"], kk.frequency_hz, kk.residual_imag_pct, colour=e.colour, symbol="t",
                      filled=False, lines=False, name=f"{e.run.label} Im")
        self.plots["kk residuals"].addItem(pg.InfiniteLine(pos=0, angle=0, pen=theme.pen("cursor")))
        tallest = max((float(e.result.drt.gamma_ohm.max()) * (e.result.area_cm2 if per_area else 1.0)
                       for e in entries), default=0.0)
        if tallest > 0:
            self.plots["drt"].setYRange(0, tallest * 1.45, padding=0)    # room for the peak labels
        # one run: the notes above say whose distribution it is, and the legend would cover a label
        self.plots["drt"].plotItem.legend.setVisible(len(entries) > 1)

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            r = e.result
            d = r.drt
            area = r.area_cm2
            peaks = ", ".join(describe_peak(p, area) for p in d.peaks) or "no peaks"
            main = max(d.peaks, key=lambda p: p.r_ohm) if d.peaks else None
            kk = "passes Kramers-Kronig" if d.kk.passed else "FAILS Kramers-Kronig (shown with this warning)"
            out.append(f"{e.run.label}, spectrum {r.spectrum} (cycle {r.cycle}): {kk} (systematic residuals "
                       f"{d.kk.systematic_rms_pct:.2f} % rms, limit {d.kk.limit_pct:g} %). DRT, λ {d.lam:.2g} by GCV: "
                       f"{peaks}" + (f"; dominant {describe_peak(main, area)}" if main and len(d.peaks) > 1 else "")
                       + f". Circuit {r.fit.circuit}: " + ("fit ok" if r.fit.ok else "BAD FIT: " + "; ".join(r.fit.flags)))
        return out


EIS_PAGES: dict[str, type[AnalysisPage]] = {page.kind: page for page in (EisRunPage, DrtPage)}
