"""The Outcomes view: each run's outcome (time to short, R_int, capacity and retention at
cycle N, average CE, ...) against its build (electrolyte lot, interlayer, stack pressure,
temperature, operator, station, ...), over the rows of the lab's `lab_runs` view or of one
notebook (lab.outcomes.outcome_rows).

One click picks the outcome, one the parameter to group by: the groups table then gives
per group the runs, how many have the figure (for time to short: how many shorted), and
the median and spread of the figure, and the plot sets the figure against that parameter
(a strip plot with jitter for a categorical one, a scatter for a number). Filters narrow
the runs; selecting runs in the table, a group or a point emits `runs_selected` with
their UUIDs for compare and analysis. The statistics are lab.outcomes.group_stats (Qt-free);
this module only shows them.
"""
from __future__ import annotations

import math
import uuid as uuid_module
import zlib
from decimal import Decimal

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.plot_axes import blank
from lab.outcomes import (NO_VALUE, OUTCOMES, PARAMETERS, group_stats, material_lot_parameters,
                          parameter_value)

ALL = "All"
JITTER = 0.32               # half the width of a category's strip, in category units
# the runs table: (row key, header); outcome columns follow from OUTCOMES
RUN_COLUMNS = (
    ("station", "Station"), ("local_id", "Run"), ("build_name", "Cell"), ("template", "Template"),
    ("status", "Status"), ("operator", "Operator"), ("electrolyte_lot", "Electrolyte lot"),
    ("has_interlayer", "Interlayer"), ("interlayer_um", "Interlayer (µm)"),
    ("stack_pressure_mpa", "Pressure (MPa)"), ("temperature_c", "Temperature (°C)"),
)
SEARCHED = ("station", "template", "build_name", "description", "operator", "lots", "tags", "protocol", "status",
            "uuid", "layers", "electrolyte_lot")


def axis_title(name: str, unit: str) -> str:
    """'Time to short (h)': the unit written out, never SI-prefixed by pyqtgraph."""
    return f"{name} ({unit})" if unit else name


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def plain(row: dict) -> dict:
    """A row with UUIDs as text and SQL numerics as floats, whichever driver read it."""
    return {key: str(value) if isinstance(value, uuid_module.UUID) else float(value) if isinstance(value, Decimal)
            else value for key, value in row.items()}


def jitter(uuid: str | None, index: int) -> float:
    """A point's place across its category's strip, in [-JITTER, JITTER]: from its run's
    UUID, so a point stays put when filters change the others."""
    key = (uuid or str(index)).encode()
    return (zlib.crc32(key) / 0xFFFFFFFF * 2.0 - 1.0) * JITTER


class RunsModel(QtCore.QAbstractTableModel):
    """The filtered runs as a table; sorting puts runs without a figure last either way."""

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.columns: list[tuple[str, str]] = []
        self.lead_with(next(iter(OUTCOMES)))

    def lead_with(self, outcome: str) -> None:
        """Put the chosen outcome's column right after the run's status, where it is seen
        without scrolling; the other figures follow the build's columns."""
        figures = [(key, axis_title(name, unit)) for key, (name, unit, _) in OUTCOMES.items()]
        chosen = [c for c in figures if c[0] == outcome]
        status = [key for key, _ in RUN_COLUMNS].index("status") + 1
        columns = (list(RUN_COLUMNS[:status]) + chosen + list(RUN_COLUMNS[status:])
                   + [c for c in figures if c[0] != outcome] + [("retention_cycle", "Cycle N"),
                                                                 ("started_utc", "Started (UTC)")])
        if columns != self.columns:
            self.beginResetModel()
            self.columns = columns
            self.endResetModel()

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802 (Qt's name)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QtCore.QModelIndex, role: int = QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        key = self.columns[index.column()][0]
        value = self.rows[index.row()].get(key)
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            return _fmt(value)
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole and isinstance(value, (int, float)) \
                and not isinstance(value, bool):
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if role == QtCore.Qt.ItemDataRole.ToolTipRole and key == "status":
            return self.rows[index.row()].get("outcome_error") or None
        return None

    def headerData(self, section: int, orientation, role: int = QtCore.Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == QtCore.Qt.ItemDataRole.DisplayRole and orientation == QtCore.Qt.Orientation.Horizontal:
            return self.columns[section][1]
        return None

    def sort(self, column: int, order=QtCore.Qt.SortOrder.AscendingOrder) -> None:
        key = self.columns[column][0]
        self.layoutAboutToBeChanged.emit()
        present = [r for r in self.rows if r.get(key) not in (None, "")]
        missing = [r for r in self.rows if r.get(key) in (None, "")]
        numeric = all(isinstance(r.get(key), (int, float)) for r in present)
        present.sort(key=(lambda r: r[key]) if numeric else (lambda r: str(r[key]).lower()),
                     reverse=order == QtCore.Qt.SortOrder.DescendingOrder)
        self.rows = present + missing
        self.layoutChanged.emit()


class OutcomesView(QtWidgets.QWidget):
    runs_selected = QtCore.Signal(list)     # UUIDs (str) of the runs selected

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self._rows: list[dict] = []
        self._visible: list[dict] = []
        self._parameters: dict[str, tuple[str, str, bool]] = dict(PARAMETERS)
        self._selected: set[str] = set()
        self._plotted: list[dict] = []      # the rows behind the plot's points, in their order
        self._updating = False

        # filters
        self.status_filter = QtWidgets.QComboBox()
        self.station_filter = QtWidgets.QComboBox()
        self.template_filter = QtWidgets.QComboBox()
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Search cell, lot, operator, tag, protocol…")
        self.search.setClearButtonEnabled(True)
        self.count_label = QtWidgets.QLabel()
        filters = QtWidgets.QHBoxLayout()
        for label, widget in (("Status", self.status_filter), ("Station", self.station_filter),
                              ("Template", self.template_filter)):
            filters.addWidget(QtWidgets.QLabel(label))
            filters.addWidget(widget)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.count_label)

        # one click each: the outcome, the parameter to group by
        self.outcome_list = QtWidgets.QListWidget()
        for key, (name, unit, _) in OUTCOMES.items():
            item = QtWidgets.QListWidgetItem(axis_title(name, unit))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, key)
            self.outcome_list.addItem(item)
        self.group_list = QtWidgets.QListWidget()
        side = QtWidgets.QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(QtWidgets.QLabel("Outcome"))
        side.addWidget(self.outcome_list, 2)
        side.addWidget(QtWidgets.QLabel("Group by"))
        side.addWidget(self.group_list, 3)
        side_box = QtWidgets.QWidget()
        side_box.setLayout(side)
        side_box.setMaximumWidth(190)

        # the plot, against a parameter (the group-by one unless another is chosen)
        self.against = QtWidgets.QComboBox()
        self.plot_caption = QtWidgets.QLabel()
        self.plot_caption.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.getPlotItem().hideButtons()
        self.scatter = pg.ScatterPlotItem(size=9, hoverable=True, tip=self._tip)
        self.selected_scatter = pg.ScatterPlotItem(size=14)
        self.medians = pg.PlotDataItem(connect="pairs")
        for item in (self.medians, self.scatter, self.selected_scatter):
            self.plot.addItem(item)
        theme.style_plot(self.plot)
        plot_bar = QtWidgets.QHBoxLayout()
        plot_bar.addWidget(QtWidgets.QLabel("Against"))
        plot_bar.addWidget(self.against, 1)
        plot_box = QtWidgets.QWidget()
        plot_layout = QtWidgets.QVBoxLayout(plot_box)
        plot_layout.setContentsMargins(0, 0, 0, 0)
        plot_layout.addLayout(plot_bar)
        plot_layout.addWidget(self.plot, 1)
        plot_layout.addWidget(self.plot_caption)

        # groups: count, how many have the figure, median and spread
        self.groups = QtWidgets.QTableWidget(0, 7)
        self.groups.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.groups.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.groups.verticalHeader().hide()
        self.groups.setSortingEnabled(True)
        self.groups_caption = QtWidgets.QLabel()
        self.groups_caption.setWordWrap(True)
        groups_box = QtWidgets.QWidget()
        groups_layout = QtWidgets.QVBoxLayout(groups_box)
        groups_layout.setContentsMargins(0, 0, 0, 0)
        groups_layout.addWidget(self.groups_caption)
        groups_layout.addWidget(self.groups, 1)

        # the runs
        self.model = RunsModel(self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSortIndicator(-1, QtCore.Qt.SortOrder.AscendingOrder)   # as given until asked

        top = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        top.addWidget(plot_box)
        top.addWidget(groups_box)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        right.addWidget(top)
        right.addWidget(self.table)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        # the first split before any geometry: Qt would follow the size hints, which starve
        # the groups table and the runs table
        top.setSizes([450, 550])
        right.setSizes([600, 400])
        self.splitters = (top, right)
        body = QtWidgets.QHBoxLayout()
        body.addWidget(side_box)
        body.addWidget(right, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addLayout(body, 1)

        for combo in (self.status_filter, self.station_filter, self.template_filter):
            combo.currentIndexChanged.connect(self._refilter)
        self.search.textChanged.connect(self._refilter)
        self.outcome_list.currentRowChanged.connect(self._outcome_chosen)
        self.group_list.currentRowChanged.connect(self._group_chosen)
        self.against.currentIndexChanged.connect(lambda _i: self._draw_plot())
        self.table.selectionModel().selectionChanged.connect(self._table_selection)
        self.groups.itemSelectionChanged.connect(self._group_selection)
        self.scatter.sigClicked.connect(self._points_clicked)
        theme.notifier().changed.connect(self._restyle)

        self.outcome_list.setCurrentRow(0)
        self._fill_parameters()
        self._refilter()

    # -- public --
    def set_rows(self, rows: list[dict]) -> None:
        """Show these runs (dicts with lab_runs' columns); filters and choices are kept
        where the new rows still have them."""
        self._rows = [plain(row) for row in rows]
        self._updating = True
        try:
            for combo, key in ((self.status_filter, "status"), (self.station_filter, "station"),
                               (self.template_filter, "template")):
                kept = combo.currentText()
                combo.clear()
                values = sorted({str(r.get(key)) for r in self._rows if r.get(key) not in (None, "")}, key=str.lower)
                combo.addItems([ALL, *values])
                combo.setCurrentIndex(max(combo.findText(kept), 0))
            self._fill_parameters()
        finally:
            self._updating = False
        self._refilter()

    def set_outcome(self, key: str) -> None:
        self.outcome_list.setCurrentRow(list(OUTCOMES).index(key))

    def set_group_by(self, key: str | None) -> None:
        keys = [None, *self._parameters]
        self.group_list.setCurrentRow(keys.index(key))

    def outcome(self) -> str:
        item = self.outcome_list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item else next(iter(OUTCOMES))

    def group_by(self) -> str | None:
        item = self.group_list.currentItem()
        return item.data(QtCore.Qt.ItemDataRole.UserRole) if item else None

    def visible_rows(self) -> list[dict]:
        """The runs the filters let through, in the table's order."""
        return list(self.model.rows)

    def stats(self) -> list[dict]:
        """The groups table's figures (lab.outcomes.group_stats over the visible runs)."""
        by = self.group_by()
        return group_stats(self._visible, self.outcome(), by) if by else []

    # -- choices --
    def _fill_parameters(self) -> None:
        """The parameters to group by and plot against: the fixed ones and a lot per material."""
        self._parameters = {**PARAMETERS, **material_lot_parameters(self._rows)}
        group, against = self.group_by(), self.against.currentData()
        blocked = [QtCore.QSignalBlocker(w) for w in (self.group_list, self.against)]   # filled, not chosen
        self.group_list.clear()
        none = QtWidgets.QListWidgetItem("(no grouping)")
        none.setData(QtCore.Qt.ItemDataRole.UserRole, None)
        self.group_list.addItem(none)
        self.against.clear()
        for key, (name, unit, _) in self._parameters.items():
            item = QtWidgets.QListWidgetItem(axis_title(name, unit))
            item.setData(QtCore.Qt.ItemDataRole.UserRole, key)
            self.group_list.addItem(item)
            self.against.addItem(axis_title(name, unit), key)
        keys = [None, *self._parameters]
        self.group_list.setCurrentRow(keys.index(group) if group in keys else 0)
        self.against.setCurrentIndex(max(self.against.findData(against), 0) if against else 0)
        for blocker in blocked:
            blocker.unblock()

    def _outcome_chosen(self, _row: int) -> None:
        header = self.table.horizontalHeader()
        sorted_by = self.model.columns[header.sortIndicatorSection()][0] \
            if 0 <= header.sortIndicatorSection() < len(self.model.columns) else None
        self.model.lead_with(self.outcome())
        if sorted_by is not None:       # the same column stays the sorted one where it moved
            keys = [key for key, _ in self.model.columns]
            self.table.sortByColumn(keys.index(sorted_by), header.sortIndicatorOrder())
        self._reselect()
        self._redraw()

    def _reselect(self) -> None:
        """The runs selected before the table was rebuilt, selected again (those still shown)."""
        if self._selected:
            self.select_runs(sorted(self._selected))

    def _group_chosen(self, _row: int) -> None:
        by = self.group_by()
        if by is not None:
            with QtCore.QSignalBlocker(self.against):
                self.against.setCurrentIndex(self.against.findData(by))     # the plot shows the groups
        self._redraw()

    # -- filtering --
    def _refilter(self, *_args) -> None:
        if self._updating:
            return
        text = self.search.text().strip().lower()
        chosen = {key: combo.currentText() for combo, key in ((self.status_filter, "status"),
                                                               (self.station_filter, "station"),
                                                               (self.template_filter, "template"))}

        def keep(row: dict) -> bool:
            if any(value not in ("", ALL) and str(row.get(key)) != value for key, value in chosen.items()):
                return False
            if text:
                haystack = " ".join(str(row.get(k) or "") for k in SEARCHED) + f" #{row.get('local_id')}"
                return all(word in haystack.lower() for word in text.split())
            return True

        self._visible = [row for row in self._rows if keep(row)]
        header = self.table.horizontalHeader()
        self.model.set_rows(self._visible)
        if header.sortIndicatorSection() >= 0 and header.isSortIndicatorShown() and self.table.isSortingEnabled():
            self.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.count_label.setText(f"{len(self._visible)} of {len(self._rows)} runs")
        self._selected &= {r.get("uuid") for r in self._visible}
        self._reselect()
        self._redraw()

    # -- drawing --
    def _redraw(self) -> None:
        self._draw_groups()
        self._draw_plot()

    def _draw_groups(self) -> None:
        with QtCore.QSignalBlocker(self.groups):      # refilled, not selected by anyone
            self._fill_groups()

    def _fill_groups(self) -> None:
        name, unit, having = OUTCOMES[self.outcome()]
        by = self.group_by()
        self.groups.setSortingEnabled(False)
        self.groups.setRowCount(0)
        if by is None:
            self.groups.setColumnCount(0)
            self.groups_caption.setText("Group by a build parameter to see each group's count, median and spread.")
            return
        u = f"\n({unit})" if unit else ""
        # two-line headers keep the columns as narrow as their figures; the caption names the outcome
        headers = [self._parameters[by][0].replace(" ", "\n", 1), "Runs", having, f"Median{u}", f"IQR{u}",
                   f"Min–max{u}"]
        self.groups.setColumnCount(len(headers))
        self.groups.setHorizontalHeaderLabels(headers)
        stats = self.stats()
        self.groups.setRowCount(len(stats))
        for r, s in enumerate(stats):
            spread = f"{s['q1']:.3g}–{s['q3']:.3g}" if s["q1"] is not None else ""
            extent = f"{s['min']:.3g}–{s['max']:.3g}" if s["min"] is not None else ""
            cells = [(_fmt(s["group"]), s["group"]), (str(s["runs"]), s["runs"]), (str(s["n_with"]), s["n_with"]),
                     (_fmt(s["median"]), s["median"]), (spread, s["q1"]), (extent, s["min"])]
            for c, (text, value) in enumerate(cells):
                item = _SortItem(text, value)
                item.setData(QtCore.Qt.ItemDataRole.UserRole, s["group"])
                if c:
                    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.groups.setItem(r, c, item)
        self.groups.setSortingEnabled(True)
        # no room kept for a sort arrow in every header: the table is read far more than sorted
        self.groups.horizontalHeader().setSortIndicatorShown(False)
        self.groups.resizeColumnsToContents()
        n_with = sum(s["n_with"] for s in stats)
        self.groups_caption.setText(
            f"{name} by {self._parameters[by][0].lower()}: {len(stats)} group(s), {n_with} of "
            f"{len(self._visible)} run(s) with the figure. Spread: IQR, the interquartile range (Q1–Q3), "
            "and min–max, over the runs with the figure.")

    def _points(self) -> tuple[list[dict], np.ndarray, np.ndarray, list[str] | None]:
        """(rows plotted, x, y, category names or None for a numeric parameter)."""
        outcome, against = self.outcome(), self.against.currentData() or next(iter(self._parameters))
        numeric = self._parameters[against][2]
        rows = [r for r in self._visible if r.get(outcome) is not None and isinstance(r.get(outcome), (int, float))
                and math.isfinite(r[outcome])]
        if numeric:
            rows = [r for r in rows if parameter_value(r, against) is not None]
            x = np.array([parameter_value(r, against) for r in rows], dtype=float)
            return rows, x, np.array([r[outcome] for r in rows], dtype=float), None
        # categories in the groups' order, over every visible run so that strips keep their place
        categories = [s["group"] for s in group_stats(self._visible, outcome, against)]
        place = {c: k for k, c in enumerate(categories)}
        x = np.array([place[parameter_value(r, against)] + jitter(r.get("uuid"), k) for k, r in enumerate(rows)],
                     dtype=float)
        return rows, x, np.array([r[outcome] for r in rows], dtype=float), categories

    def _draw_plot(self) -> None:
        if self._updating:
            return
        outcome = self.outcome()
        name, unit, _ = OUTCOMES[outcome]
        against = self.against.currentData() or next(iter(self._parameters))
        p_name, p_unit, _ = self._parameters[against]
        rows, x, y, categories = self._points()
        self._plotted = rows
        item = self.plot.getPlotItem()
        item.setLabel("left", axis_title(name, unit))
        item.setLabel("bottom", axis_title(p_name, p_unit))
        brush = QtGui.QColor(theme.run_colour(0))
        brush.setAlpha(190)
        self.scatter.setData(x=x, y=y, data=[r.get("uuid") for r in rows], brush=brush,
                             pen=pg.mkPen(theme.color("plot_fg"), width=0.5), symbol="o")
        bottom = item.getAxis("bottom")
        if categories is not None:
            stats = group_stats(self._visible, outcome, against)
            # each strip says how many of its runs have the figure: a lot that never shorted shows 0/4
            bottom.setTicks([[(k, f"{_fmt(s['group'])} ({s['n_with']}/{s['runs']})") for k, s in enumerate(stats)],
                             []])
            medians = [(k, s["median"]) for k, s in enumerate(stats) if s["median"] is not None]
            mx = np.array([[k - JITTER - 0.08, k + JITTER + 0.08] for k, _ in medians]).ravel()
            my = np.array([[m, m] for _, m in medians]).ravel()
            self.medians.setData(mx, my, pen=theme.pen("plot_fg", 2))
            if categories:
                item.setXRange(-0.6, len(categories) - 0.4, padding=0)
        else:
            bottom.setTicks(None)
            self.medians.setData([], [])
        if rows:
            item.enableAutoRange(axis="y")
            if categories is None:
                item.enableAutoRange(axis="x")
        blank(item, not rows)
        self._draw_selection()
        missing = len(self._visible) - len(rows)
        text = f"{len(rows)} run(s) plotted"
        if missing:
            text += f"; {missing} without {name.lower() if name[1:2].islower() else name}"
            text += " (did not short)" if outcome == "t_short_h" else ""
            if categories is None:
                text += f" or {p_name.lower()}"
        if categories is not None:
            text += f"; under each {p_name.lower()}: runs with the figure / runs"
            text += "; a bar marks each group's median" if rows else ""
        self.plot_caption.setText(text)

    def _draw_selection(self) -> None:
        rows = self._plotted
        chosen = [k for k, r in enumerate(rows) if r.get("uuid") in self._selected]
        if not chosen:
            self.selected_scatter.setData([], [])
            return
        points = self.scatter.data
        self.selected_scatter.setData(x=points["x"][chosen], y=points["y"][chosen], brush=pg.mkBrush(None),
                                      pen=pg.mkPen(theme.color("selected"), width=2.5), symbol="o")

    def _tip(self, x: float, y: float, data) -> str:
        row = next((r for r in self._plotted if r.get("uuid") == data), None)
        if row is None:
            return ""
        name, unit, _ = OUTCOMES[self.outcome()]
        cell = row.get("build_name") or row.get("template") or ""
        return (f"#{row.get('local_id')} {cell} on {row.get('station')}: {row.get('status')}\n"
                f"{name} {_fmt(row.get(self.outcome()))} {unit}".rstrip())

    def _restyle(self, _name: str = "") -> None:
        theme.style_plot(self.plot)
        self._draw_plot()

    # -- selection --
    def _table_selection(self, *_args) -> None:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        self._selected = {self.model.rows[r].get("uuid") for r in rows} - {None}
        self._draw_selection()
        self.runs_selected.emit([self.model.rows[r]["uuid"] for r in rows if self.model.rows[r].get("uuid")])

    def select_runs(self, uuids: list[str]) -> None:
        """Select these runs in the table (emits runs_selected once)."""
        wanted = set(uuids)
        selection = QtCore.QItemSelection()
        for r, row in enumerate(self.model.rows):
            if row.get("uuid") in wanted:
                selection.select(self.model.index(r, 0), self.model.index(r, self.model.columnCount() - 1))
        model = self.table.selectionModel()
        model.select(selection, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QtCore.QItemSelectionModel.SelectionFlag.Rows)
        if not selection.isEmpty():
            self.table.scrollTo(selection.indexes()[0])

    def _group_selection(self) -> None:
        by = self.group_by()
        chosen = {item.data(QtCore.Qt.ItemDataRole.UserRole) for item in self.groups.selectedItems()}
        if by is None or not chosen:
            return
        self.select_runs([r.get("uuid") for r in self._visible
                          if (NO_VALUE if (v := parameter_value(r, by)) is None else v) in chosen])

    def _points_clicked(self, _item, points, _event=None) -> None:
        self.select_runs([p.data() for p in points if p.data()])


class _SortItem(QtWidgets.QTableWidgetItem):
    """A groups-table cell that sorts by its value (numbers as numbers, empty last)."""

    def __init__(self, text: str, value):
        super().__init__(text)
        self.value = value

    def __lt__(self, other: QtWidgets.QTableWidgetItem) -> bool:
        a, b = self.value, getattr(other, "value", None)
        a_missing, b_missing = a is None or a == NO_VALUE, b is None or b == NO_VALUE
        if a_missing or b_missing:
            return b_missing and not a_missing
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a).lower() < str(b).lower()
