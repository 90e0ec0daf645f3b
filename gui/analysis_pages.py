"""One page per analysis in the analysis view: its options, plots (pyqtgraph) and
tables, for one run and any runs overlaid on it. A page draws what it is given and
asks for nothing itself: when the user changes an option it emits options_changed and
the view computes (off the GUI thread) whatever is missing, then calls render().

Every axis and every column carries its unit. Runs are told apart by colour (Okabe-Ito,
readable by colour-blind eyes); where one run has several curves (cycles, charge and
discharge), line style or symbol tells those apart."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from analysis.eis import DEFAULT_CIRCUIT, CircuitError, Circuit
from gui import theme
from gui.analysis_runs import ANALYSES, RunData, default_options, tables, with_run_column


RUN_STYLES = [QtCore.Qt.PenStyle.SolidLine, QtCore.Qt.PenStyle.DashLine, QtCore.Qt.PenStyle.DotLine,
              QtCore.Qt.PenStyle.DashDotLine]
CIRCUITS = [DEFAULT_CIRCUIT, "R0-p(R1,CPE1)-p(R2,CPE2)", "R0-p(R1,CPE1)-Wo1", "R0-p(R1,C1)-p(R2-Wo1,C2)"]


@dataclass
class Entry:
    """One run on a page: its result, or why there is none."""
    run: RunData
    index: int                  # 0 = the run shown, 1.. = overlays (colour and style follow it)
    result: object | None
    error: str | None = None

    @property
    def colour(self) -> str:
        return theme.run_colour(self.index)     # Okabe-Ito, adjusted to the theme's background

    @property
    def style(self) -> QtCore.Qt.PenStyle:
        return RUN_STYLES[self.index % len(RUN_STYLES)]


# -- building blocks --
class FrameModel(QtCore.QAbstractTableModel):
    """A read-only pandas table: numbers to 5 significant figures, integers whole, blanks for NaN."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.frame = pd.DataFrame()

    def set_frame(self, frame: pd.DataFrame) -> None:
        self.beginResetModel()
        self.frame = frame
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.frame.columns)

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            value = self.frame.iat[index.row(), index.column()]
            numeric = isinstance(value, (int, float, np.integer, np.floating))
            return int((QtCore.Qt.AlignmentFlag.AlignRight if numeric else QtCore.Qt.AlignmentFlag.AlignLeft)
                       | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if role != QtCore.Qt.ItemDataRole.DisplayRole:
            return None
        return format_value(self.frame.iat[index.row(), index.column()])

    def headerData(self, section: int, orientation: QtCore.Qt.Orientation, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if role != QtCore.Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == QtCore.Qt.Orientation.Horizontal:
            return str(self.frame.columns[section])
        return str(section + 1)


def format_value(value) -> str:
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.5g}"
    return str(value)


def make_plot(x_label: str, y_label: str, *, log_x: bool = False, log_y: bool = False) -> pg.PlotWidget:
    """A plot in the theme's colours with a grid, a legend and labelled axes; labels carry
    their unit in brackets (pyqtgraph's own SI prefixing is off: 'mAh' must not become 'kmAh')."""
    plot = pg.PlotWidget()
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    for axis in ("bottom", "left"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setLogMode(x=log_x, y=log_y)
    plot.addLegend(offset=(-10, 10))
    theme.style_plot(plot)
    plot.setMinimumSize(260, 200)
    return plot


def add_curve(plot: pg.PlotWidget, x, y, *, colour: str, name: str | None = None, style=QtCore.Qt.PenStyle.SolidLine,
              symbol: str | None = None, filled: bool = True, width: float = 1.5, lines: bool = True) -> pg.PlotDataItem:
    """A curve; long traces are peak-downsampled and clipped to the view, so a redraw costs
    what the screen shows, not what the run holds."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    finite = np.isfinite(x) & np.isfinite(y)         # a half cycle that never happened is NaN: not drawn
    if not finite.all():
        x, y = x[finite], y[finite]
    pen = pg.mkPen(colour, width=width, style=style) if lines else None
    item = plot.plot(x, y, pen=pen, name=name, symbol=symbol,
                     symbolSize=6, symbolPen=pg.mkPen(colour), symbolBrush=pg.mkBrush(colour) if filled else pg.mkBrush(None))
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    return item


def cycle_colours(n: int) -> list[QtGui.QColor]:
    """Colours along viridis for n cycles: early cycles dark blue, late ones yellow-green."""
    cmap = pg.colormap.get("viridis")
    return [cmap.map(0.85 * k / max(n - 1, 1), mode="qcolor") for k in range(n)]


# -- the page frame --
class AnalysisPage(QtWidgets.QWidget):
    """Options bar, notes, plots side by side, tables in tabs below."""
    kind = ""
    PLOTS: list[tuple[str, str, str, dict]] = []      # (name, x label, y label, make_plot options)
    CONTROLS = False                                  # a bar of options above the plots
    options_changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.title = ANALYSES[self.kind]
        self.controls = QtWidgets.QHBoxLayout()
        self.notes = QtWidgets.QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plots: dict[str, pg.PlotWidget] = {}
        plot_row = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        for name, x_label, y_label, options in self.PLOTS:
            self.plots[name] = make_plot(x_label, y_label, **options)
            plot_row.addWidget(self.plots[name])
        self.table_tabs = QtWidgets.QTabWidget()
        self.table_tabs.setDocumentMode(True)
        self._views: dict[str, QtWidgets.QTableView] = {}
        self._frames: dict[str, pd.DataFrame] = {}
        split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(plot_row)
        split.addWidget(self.table_tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        if self.CONTROLS:
            layout.addLayout(self.controls)
        layout.addWidget(self.notes)
        layout.addWidget(split, 1)

    # what the view asks of a page
    def prepare(self, run: RunData) -> None:
        """Set the options to their defaults for the run now shown."""

    def options(self, run: RunData) -> dict:
        """The options to compute this analysis of `run` with (the run shown or an overlay)."""
        return default_options(self.kind, run)

    def render(self, entries: list[Entry]) -> None:
        """Draw the runs' results (entries[0] is the run shown) and fill the tables."""
        for plot in self.plots.values():
            plot.clear()
            plot.plotItem.legend.clear()
        done = [e for e in entries if e.result is not None]
        self.draw(done)
        notes = [f"{e.run.label}: {e.error}" for e in entries if e.error]
        pending = [e.run.label for e in entries if e.result is None and not e.error]
        if pending:
            notes.append("not computed yet: " + ", ".join(pending))
        self.notes.setText("\n".join(self.describe(done) + notes))
        self._set_tables(done)

    def draw(self, entries: list[Entry]) -> None:
        raise NotImplementedError

    def describe(self, entries: list[Entry]) -> list[str]:
        """Lines of text above the plots: the figures a person reads first."""
        return []

    def tables(self) -> dict[str, pd.DataFrame]:
        return dict(self._frames)

    def _set_tables(self, entries: list[Entry]) -> None:
        per_run = [(e.run.label, tables(self.kind, e.result, e.run)) for e in entries]
        names = list(per_run[0][1]) if per_run else []
        if len(per_run) == 1:
            frames = dict(per_run[0][1])
        else:
            frames = {name: with_run_column([(label, t[name]) for label, t in per_run if name in t]) for name in names}
        self._frames = frames
        current = self.table_tabs.tabText(self.table_tabs.currentIndex()) if self.table_tabs.count() else None
        for name in list(self._views):
            if name not in frames:
                view = self._views.pop(name)
                self.table_tabs.removeTab(self.table_tabs.indexOf(view))
                view.deleteLater()
        for name, frame in frames.items():
            if name not in self._views:
                view = QtWidgets.QTableView()
                view.setModel(FrameModel(view))
                view.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
                view.setAlternatingRowColors(True)
                view.verticalHeader().setDefaultSectionSize(22)
                self._views[name] = view
                self.table_tabs.addTab(view, name)
            view = self._views[name]
            view.model().set_frame(frame)
            # sizing to contents reads every cell: only for tables a person scrolls through
            if len(frame) <= 2000:
                view.resizeColumnsToContents()
        if current in frames:
            self.table_tabs.setCurrentWidget(self._views[current])


# -- the pages --
class PlateStripPage(AnalysisPage):
    kind = "plate-strip"
    PLOTS = [("voltage", "Time since start (h)", "Cell voltage (mV)", {}),
             ("polarisation", "Cycle", "Mean |η| (mV)", {})]

    def draw(self, entries: list[Entry]) -> None:
        for e in entries:
            r = e.result
            add_curve(self.plots["voltage"], r.t_h, r.voltage_v * 1000.0, colour=e.colour, name=e.run.label, width=1)
            for column, label, filled in (("plate_overpotential_mV", "plating", True),
                                          ("strip_overpotential_mV", "stripping", False)):
                add_curve(self.plots["polarisation"], r.table["cycle"], r.table[column], colour=e.colour,
                          name=f"{e.run.label} {label}", style=e.style, symbol="o", filled=filled)

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            t = e.result.table
            complete = t.dropna(subset=["plate_mAh", "strip_mAh"])
            if len(complete):
                last = complete.iloc[-1]
                out.append(f"{e.run.label}: {len(t)} cycle(s); cycle {int(last.cycle)}, the last complete one, plated "
                           f"{last.plate_mAh:.4g} mAh at mean |η| {last.plate_overpotential_mV:.3g} mV and stripped "
                           f"{last.strip_mAh:.4g} mAh at {last.strip_overpotential_mV:.3g} mV")
        return out


class CyclingPage(AnalysisPage):
    kind = "cycling"
    PLOTS = [("capacity", "Cycle", "Capacity (mAh/g)", {}), ("ce", "Cycle", "Coulombic efficiency (%)", {}),
             ("retention", "Cycle", "Capacity retention (%)", {})]

    def draw(self, entries: list[Entry]) -> None:
        per_gram = all(e.run.basis.mass_mg for e in entries)
        unit = "mAh_g" if per_gram else "mAh"
        self.plots["capacity"].setLabel("left", "Capacity (mAh/g)" if per_gram else "Capacity (mAh)")
        for e in entries:
            c = e.result.cycles
            for half, filled, style in (("charge", False, QtCore.Qt.PenStyle.DashLine), ("discharge", True, e.style)):
                add_curve(self.plots["capacity"], c["cycle"], c[f"{half}_{unit}"], colour=e.colour,
                          name=f"{e.run.label} {half}", style=style, symbol="o" if half == "discharge" else "t",
                          filled=filled)
            add_curve(self.plots["ce"], c["cycle"], c["ce"] * 100.0, colour=e.colour, name=e.run.label,
                      style=e.style, symbol="o")
            add_curve(self.plots["retention"], c["cycle"], c["retention"] * 100.0, colour=e.colour, name=e.run.label,
                      style=e.style, symbol="o")

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            r = e.result
            if not math.isfinite(r.retention):
                out.append(f"{e.run.label}: no complete cycle ({len(r.cycles)} started)")
                continue
            unit = "mAh/g" if e.run.basis.mass_mg else "mAh"
            delivered = r.cycles[f"{r.delivered}_{unit.replace('/', '_')}"].dropna()
            ce = f"{r.average_ce * 100:.2f} %" if math.isfinite(r.average_ce) else "not defined (one cycle)"
            out.append(f"{e.run.label}: cycle {r.reference_cycle} delivered {delivered.iloc[0]:.4g} {unit}; retention "
                       f"{r.retention * 100:.1f} % after {len(r.cycles)} cycles; average CE ({r.ce_convention}, "
                       f"cycles {r.ce_from_cycle}..N) {ce}")
        return out


class DqdvPage(AnalysisPage):
    kind = "dqdv"
    CONTROLS = True
    PLOTS = [("profiles", "Capacity (mAh/g)", "Cell voltage (V)", {}), ("dqdv", "Cell voltage (V)", "dQ/dV (mAh/V)", {})]

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.cycles = QtWidgets.QLineEdit()
        self.cycles.setPlaceholderText("e.g. 1, 100, 200, 500")
        self.cycles.setToolTip("Cycles to show, separated by commas; Enter applies")
        self.apply = QtWidgets.QPushButton("Show cycles")
        self.controls.addWidget(QtWidgets.QLabel("Cycles:"))
        self.controls.addWidget(self.cycles, 1)
        self.controls.addWidget(self.apply)
        self._chosen: tuple[int, ...] | None = None
        self.cycles.returnPressed.connect(self._apply)
        self.apply.clicked.connect(self._apply)

    def prepare(self, run: RunData) -> None:
        self._chosen = default_options(self.kind, run)["cycles"]
        self.cycles.setText(", ".join(map(str, self._chosen)))

    def options(self, run: RunData) -> dict:
        return {"cycles": self._chosen} if self._chosen is not None else default_options(self.kind, run)

    def _apply(self) -> None:
        try:
            chosen = tuple(sorted({int(c) for c in self.cycles.text().replace(";", ",").split(",") if c.strip()}))
        except ValueError:
            self.notes.setText(f"Cycles must be whole numbers separated by commas, not {self.cycles.text()!r}; "
                               "the plots still show cycles " + ", ".join(map(str, self._chosen or ())))
            return
        if not chosen or chosen[0] < 1:
            self.notes.setText("Give at least one cycle number, counting from 1.")
            return
        if chosen != self._chosen:
            self._chosen = chosen
            self.options_changed.emit()

    def draw(self, entries: list[Entry]) -> None:
        per_gram = all(e.result.mass_g for e in entries)
        self.plots["profiles"].setLabel("bottom", "Capacity (mAh/g)" if per_gram else "Capacity (mAh)")
        cycles = sorted({c for e in entries for c in e.result.cycles})
        colours = dict(zip(cycles, cycle_colours(len(cycles))))
        for e in entries:
            r = e.result
            scale = 1.0 / r.mass_g if per_gram else 1.0
            for (cycle, direction), part in r.profiles.groupby(["cycle", "direction"], sort=True):
                # one legend line per cycle: the charge half carries it
                name = f"{e.run.label} cycle {cycle}" if direction == "charge" else None
                add_curve(self.plots["profiles"], part["capacity_mAh"] * scale, part["voltage_V"],
                          colour=colours[int(cycle)], style=e.style, name=name)
            for (cycle, direction), part in r.curves.groupby(["cycle", "direction"], sort=True):
                name = f"{e.run.label} cycle {cycle}" if direction == "charge" else None
                add_curve(self.plots["dqdv"], part["voltage_V"], part["dqdv_mAh_V"], colour=colours[int(cycle)],
                          style=e.style, name=name)
            if len(r.peaks):
                add_curve(self.plots["dqdv"], r.peaks["voltage_V"], r.peaks["dqdv_mAh_V"], colour=e.colour,
                          symbol="x", lines=False, name=f"{e.run.label} peaks")

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            peaks = e.result.peaks
            if not len(peaks):
                out.append(f"{e.run.label}: no dQ/dV peaks in cycles {', '.join(map(str, e.result.cycles))}")
                continue
            # the main peak of each half cycle: where its |dQ/dV| is largest
            main = peaks.loc[peaks["dqdv_mAh_V"].abs().groupby([peaks["cycle"], peaks["direction"]]).idxmax()]
            out.append(f"{e.run.label} main peaks: " + "; ".join(
                f"cycle {int(p.cycle)} {p.direction} {p.voltage_V:.3f} V" for p in main.itertuples()))
        return out


FLAGGED_COLOUR = "flagged"     # points an analyser flagged: red crosses whatever the run's colour (a theme role)


class CircuitChoice:
    """A page's equivalent-circuit box, its Fit button, and the circuit in force (None:
    the run's default). A circuit that does not parse is refused in the page's notes and
    the fits shown stay as they were."""

    def _add_circuit_controls(self, choices: list[str], width: int) -> None:
        self.circuit = QtWidgets.QComboBox()
        self.circuit.setEditable(True)
        self.circuit.addItems(choices)
        self.circuit.setMinimumContentsLength(width)
        self.circuit.setToolTip("Equivalent circuit, impedance.py syntax: '-' in series, p(a,b) in parallel; "
                                "R, C, L, CPE, W, Wo, Ws elements")
        self.fit = QtWidgets.QPushButton("Fit")
        self.controls.addWidget(QtWidgets.QLabel("Circuit:"))
        self.controls.addWidget(self.circuit, 1)
        self.controls.addWidget(self.fit)
        self._circuit: str | None = None
        self.fit.clicked.connect(self._apply_circuit)
        self.circuit.lineEdit().returnPressed.connect(self._apply_circuit)

    def _apply_circuit(self) -> None:
        text = self.circuit.currentText().strip()
        try:
            Circuit(text)
        except CircuitError as exc:
            self.notes.setText(f"{exc}. The fits shown are still those of {self._circuit or 'the default circuit'}.")
            return
        if text != self._circuit:
            self._circuit = text
            self.options_changed.emit()


class EisPage(CircuitChoice, AnalysisPage):
    kind = "eis"
    CONTROLS = True
    PLOTS = [("nyquist", "Z' (ohm cm²)", "-Z'' (ohm cm²)", {}), ("residuals", "Frequency (Hz)", "Fit residual (%)", {"log_x": True})]

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.spectrum = QtWidgets.QComboBox()
        self.controls.addWidget(QtWidgets.QLabel("Spectrum:"))
        self.controls.addWidget(self.spectrum)
        self._add_circuit_controls(CIRCUITS, 26)
        self._circuit = DEFAULT_CIRCUIT
        self.spectrum.activated.connect(lambda _index: self.options_changed.emit())
        self.plots["nyquist"].setAspectLocked(True)

    def prepare(self, run: RunData) -> None:
        self.spectrum.clear()
        for s in run.spectra:
            self.spectrum.addItem(f"{s['spectrum']}: {s['t_s'] / 3600:.2f} h, cycle {s['cycle']}", s["spectrum"])
        self.spectrum.setCurrentIndex(self.spectrum.count() - 1)

    def options(self, run: RunData) -> dict:
        number = self.spectrum.currentData()
        return {"spectrum": -1 if number is None or self.spectrum.currentIndex() == self.spectrum.count() - 1 else number,
                "circuit": self._circuit}

    def draw(self, entries: list[Entry]) -> None:
        # ohm cm² only when every run shown has a known area; else all in ohm
        per_area = all(e.result.area_cm2 for e in entries)
        unit = "ohm cm²" if per_area else "ohm"
        self.plots["nyquist"].setLabel("bottom", f"Z' ({unit})")
        self.plots["nyquist"].setLabel("left", f"-Z'' ({unit})")
        for e in entries:
            fit = e.result.fit
            area = e.result.area_cm2 if per_area else 1.0
            z, z_fit = fit.z_measured * area, fit.z_fit * area
            add_curve(self.plots["nyquist"], z.real, -z.imag, colour=e.colour, symbol="o", filled=e.index == 0,
                      lines=False, name=f"{e.run.label} spectrum {e.result.spectrum}")
            if fit.flagged_z.size:
                # what the analyser flagged (overload, out of range): shown as crosses, not fitted
                flagged = fit.flagged_z * area
                add_curve(self.plots["nyquist"], flagged.real, -flagged.imag, colour=theme.color(FLAGGED_COLOUR), symbol="x",
                          lines=False, name=f"{e.run.label} flagged by the analyser (not fitted)")
            order = np.argsort(fit.frequency_hz)
            add_curve(self.plots["nyquist"], z_fit.real[order], -z_fit.imag[order], colour=e.colour, style=e.style,
                      width=2, name=f"{e.run.label} fit")
            rel = (fit.z_fit - fit.z_measured) / np.abs(fit.z_measured) * 100.0
            f = fit.frequency_hz[order]
            add_curve(self.plots["residuals"], f, rel.real[order], colour=e.colour, symbol="o", lines=False,
                      name=f"{e.run.label} Re")
            add_curve(self.plots["residuals"], f, rel.imag[order], colour=e.colour, symbol="t", filled=False,
                      lines=False, name=f"{e.run.label} Im")

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            fit = e.result.fit
            unit = "ohm cm²" if e.result.area_cm2 else "ohm"
            interface = "; ".join(f"per interface ({k}) {v:.3g} {unit}" for k, v in fit.per_interface_ohm_cm2.items())
            verdict = "fit ok" if fit.ok else "BAD FIT: " + "; ".join(fit.flags)
            flagged = (f"; {fit.flagged_z.size} point(s) flagged by the analyser ({', '.join(sorted(set(fit.flagged_reasons)))}"
                       "): red crosses, not fitted" if fit.flagged_z.size else "")
            out.append(f"{e.run.label}, spectrum {e.result.spectrum}: {fit.circuit}, residuals "
                       f"{fit.residual_rms_pct:.2f} % rms (Lin-KK {fit.kk.residual_rms_pct:.2f} %). "
                       + (f"{interface}. " if interface else "") + verdict + flagged)
        return out


class GittPage(AnalysisPage):
    kind = "gitt"
    PLOTS = [("diffusivity", "Time since start (h)", "D (cm²/s)", {"log_y": True}),
             ("voltage", "Time since start (h)", "Cell voltage (V)", {})]

    def draw(self, entries: list[Entry]) -> None:
        shown = []
        for e in entries:
            p = e.result.pulses
            good = np.isfinite(p["D_cm2_s"]) & (p["D_cm2_s"] > 0)     # a log axis takes positive values only
            shown.append(p["D_cm2_s"][good].to_numpy())
            add_curve(self.plots["diffusivity"], p["t_s"][good] / 3600.0, p["D_cm2_s"][good],
                      colour=e.colour, style=e.style, symbol="o", name=e.run.label)
            s = e.run.samples
            add_curve(self.plots["voltage"], s["t"] / 3600.0, s["voltage"], colour=e.colour, style=e.style, width=1,
                      name=e.run.label)
        values = np.concatenate(shown) if shown else np.zeros(0)
        if values.size:
            # whole decades: a log axis labels only decade ticks, and D within one decade would have none
            low, high = math.floor(np.log10(values.min())), math.ceil(np.log10(values.max()))
            self.plots["diffusivity"].setYRange(low, max(high, low + 1), padding=0.02)

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            p = e.result.pulses
            if len(p):
                last = p.iloc[-1]
                out.append(f"{e.run.label}: {len(p)} pulses into {e.result.thickness_um:g} µm of "
                           f"{e.run.basis.interlayer}; D = {last.D_cm2_s:.3g} cm²/s after "
                           f"{last.t_s / 3600:.1f} h (Weppner-Huggins)")
        return out


class ThreeElectrodePage(AnalysisPage):
    kind = "three-electrode"
    CONTROLS = True
    PLOTS = [("anode", "Time since start (h)", "Anode vs reference (mV)", {}),
             ("cathode", "Time since start (h)", "Cathode vs reference (V)", {})]

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.working = QtWidgets.QComboBox()
        self.working.addItem("from its level", None)
        self.working.addItem("the anode", "anode")
        self.working.addItem("the cathode", "cathode")
        self.working.setToolTip("Which electrode the reference channel measures; 'from its level': a Li anode sits "
                                "within millivolts of a Li reference, a cathode volts away")
        self.controls.addWidget(QtWidgets.QLabel("The reference channel measures"))
        self.controls.addWidget(self.working)
        self.controls.addStretch(1)
        self.working.activated.connect(lambda _index: self.options_changed.emit())

    def options(self, run: RunData) -> dict:
        chosen = self.working.currentData()
        return {"working": chosen} if chosen else default_options(self.kind, run)

    def draw(self, entries: list[Entry]) -> None:
        for e in entries:
            p = e.result.potentials
            t_h = p["t_s"].to_numpy() / 3600.0
            add_curve(self.plots["anode"], t_h, p["anode_V"].to_numpy() * 1000.0, colour=e.colour, style=e.style,
                      width=1, name=e.run.label)
            add_curve(self.plots["cathode"], t_h, p["cathode_V"], colour=e.colour, style=e.style, width=1,
                      name=e.run.label)

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            rates = e.result.rates
            if len(rates):
                out.append(f"{e.run.label} (reference measures the {e.result.working}): anode |E| at most "
                           + ", ".join(f"{r.anode_max_abs_mV:.3g} mV at {r.current_mA_cm2:+.3g} mA/cm²"
                                       for r in rates.itertuples()))
        return out


class ShortsPage(AnalysisPage):
    kind = "shorts"
    PLOTS = [("voltage", "Time since start (h)", "Cell voltage (V)", {})]

    def draw(self, entries: list[Entry]) -> None:
        plot = self.plots["voltage"]
        for e in entries:
            add_curve(plot, e.result.t_h, e.result.voltage_v, colour=e.colour, width=1, name=e.run.label)
            for event in e.result.report.events:
                plot.addItem(pg.InfiniteLine(
                    pos=event["t_s"] / 3600.0, angle=90, pen=pg.mkPen(e.colour, width=2, style=QtCore.Qt.PenStyle.DashLine),
                    label=f"{e.run.label} {event['kind'].replace('_', ' ')}",
                    labelOpts={"position": 0.85 - 0.1 * e.index, "color": e.colour}))

    def describe(self, entries: list[Entry]) -> list[str]:
        out = []
        for e in entries:
            report = e.result.report
            detectors = ", ".join(k.replace("_", " ") for k in report.detectors) + (
                " detectors" if len(report.detectors) > 1 else " detector")
            if report.events:
                event = report.events[0]
                areal = (f", {report.areal_capacity_mAh_cm2:.3g} mAh/cm² passed before it"
                         if report.areal_capacity_mAh_cm2 is not None else "")
                out.append(f"{e.run.label}: {event['kind'].replace('_', ' ')} at {event['t_s'] / 3600:.2f} h{areal} "
                           f"({detectors} replayed; {len(e.result.logged)} event(s) logged live)")
            else:
                out.append(f"{e.run.label}: nothing found by the {detectors} over "
                           f"{report.n_samples:,} samples ({len(e.result.logged)} event(s) logged live)")
        return out


PAGES: dict[str, type[AnalysisPage]] = {page.kind: page for page in (
    PlateStripPage, CyclingPage, DqdvPage, EisPage, GittPage, ThreeElectrodePage, ShortsPage)}
