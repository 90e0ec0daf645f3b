"""The notebook browser: find builds and runs (by date, operator, template, layer
material or lot, status, tag, free text in notes), open one to see its build, protocol,
events, notes and tags, compare runs side by side, import files made elsewhere as runs
and export a run or a build sheet. Analysis is the analysis view's: the browser asks the
main window for it through `analysis_requested`.

Every filter is one field of notebook.search.RunQuery; the lists are re-queried when a
filter changes, when the tab is shown, after an import or an annotation, and, while the
tab is on screen, when a run starts or ends or a build is saved (polled, so a run ended
by another channel or an import by another process shows too).

The details pane shows exactly what the current list has selected: one run, one build,
or nothing (several runs, or a selection a filter removed). Its notes, tags and cell
figures therefore always go to the row the operator sees selected.

A scope switch above the filters offers "This station" (the notebook, as above) and
"Lab": every station's runs in the lab store (gui/lab_scope.py), enabled once the
notebook knows its lab's URL. Lab runs opened for analysis or replay come out as
`lab_analysis_requested` / `lab_replay_requested` with a local cache notebook's path."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.browser_compare import CompareView
from gui.browser_detail import DetailView
from gui.browser_model import BUILD_COLUMNS, RUN_COLUMNS, RecordsModel
from gui.layout import AdaptiveSplitter, ElidedLabel, FlowLayout, labelled
from notebook import Notebook, NotebookError
from notebook.export import FORMATS, SUFFIXES, export
from notebook.formats import FormatError
from notebook.importer import import_file
from notebook.search import RunQuery, lists_state, local_day_bounds
from notebook.station import lab_url

ANY = ""
EXPORT_TITLES = {"bdf-csv": "Run as BDF CSV…", "parquet": "Run as Parquet…", "eis-csv": "Spectra as CSV…",
                 "build-sheet": "Build sheet (Markdown)…"}
IMPORT_FILTER = ("Cycling and impedance files (*.csv *.mpt *.mpr *.parquet *.DTA *.dta *.z);;All files (*)")
WATCH_MS = 2000      # how often a shown browser looks for runs started or ended elsewhere
# what a run's details show beyond its id: a change re-renders them (not n_samples, which
# grows every second while a run goes and would scroll the pane back to the top)
RUN_SHOWN_FIELDS = ("status", "ended_utc", "n_events", "tags", "build_id", "build_name")


class FilterBar(QtWidgets.QWidget):
    """The search criteria as widgets; `query()` reads them into a RunQuery."""
    changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.text = QtWidgets.QLineEdit(placeholderText="Text in notes, cell name or message")
        self.text.setClearButtonEnabled(True)
        self.use_since = QtWidgets.QCheckBox("From")
        self.since = QtWidgets.QDateEdit(calendarPopup=True, displayFormat="yyyy-MM-dd")
        self.use_until = QtWidgets.QCheckBox("to")
        self.until = QtWidgets.QDateEdit(calendarPopup=True, displayFormat="yyyy-MM-dd")
        today = QtCore.QDate.currentDate()
        self.since.setDate(today.addMonths(-1))
        self.until.setDate(today)
        self.combos = {key: QtWidgets.QComboBox() for key in ("operator", "template", "material", "lot", "status", "tag")}
        self.combos["lot"].setEditable(True)          # part of a lot id is enough
        self.combos["lot"].lineEdit().setPlaceholderText("any lot")
        self.clear = QtWidgets.QPushButton("Clear filters")
        # label + box pairs that wrap onto as many rows as the width needs (gui/layout.py)
        flow = FlowLayout(self)
        self.text.setMinimumWidth(self.text.fontMetrics().horizontalAdvance(self.text.placeholderText()) + 40)
        flow.addWidget(labelled("Search", self.text, stretch=True))
        dates = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(dates)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.use_since, self.since, self.use_until, self.until):
            row.addWidget(widget)
        flow.addWidget(dates)
        for key, combo in self.combos.items():
            flow.addWidget(labelled(key.capitalize(), combo))
        flow.addWidget(self.clear)
        self.text.textChanged.connect(self.changed)
        for widget in (self.use_since, self.use_until):
            widget.toggled.connect(self.changed)
        for widget in (self.since, self.until):
            widget.dateChanged.connect(self.changed)
        for combo in self.combos.values():
            combo.currentIndexChanged.connect(self.changed)
        self.combos["lot"].editTextChanged.connect(self.changed)
        self.clear.clicked.connect(self.reset)

    def set_vocabulary(self, vocabulary: dict[str, list[str]]) -> None:
        """Offer what occurs in the notebook, keeping what is chosen."""
        for key, combo in self.combos.items():
            values = vocabulary[{"operator": "operators", "template": "templates", "material": "materials",
                                 "lot": "lots", "status": "statuses", "tag": "tags"}[key]]
            chosen = combo.currentText() if key == "lot" else combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem("" if key == "lot" else "any", ANY)
            for value in values:
                combo.addItem(value, value)
            if key == "lot":
                combo.setEditText(chosen or "")
            else:
                combo.setCurrentIndex(max(0, combo.findData(chosen)))
            combo.blockSignals(False)

    def query(self) -> RunQuery:
        def chosen(key: str) -> str:
            combo = self.combos[key]
            return combo.currentText().strip() if key == "lot" else (combo.currentData() or ANY)
        # the user picks local calendar days; the notebook stores UTC instants
        since, until = local_day_bounds(self.since.date().toPython() if self.use_since.isChecked() else None,
                                        self.until.date().toPython() if self.use_until.isChecked() else None)
        return RunQuery(since=since, until=until,
                        text=self.text.text().strip(), **{key: chosen(key) for key in self.combos})

    def reset(self) -> None:
        for widget in (self.text, self.use_since, self.use_until, *self.combos.values()):
            widget.blockSignals(True)
        self.text.clear()
        self.use_since.setChecked(False)
        self.use_until.setChecked(False)
        for key, combo in self.combos.items():
            combo.setCurrentIndex(0)
            if key == "lot":
                combo.setEditText("")
        for widget in (self.text, self.use_since, self.use_until, *self.combos.values()):
            widget.blockSignals(False)
        self.changed.emit()


class NotebookBrowser(QtWidgets.QWidget):
    analysis_requested = QtCore.Signal(int)   # run id: the main window opens it in the analysis view
    replay_requested = QtCore.Signal(int)     # run id: the main window opens a replay window
    lab_analysis_requested = QtCore.Signal(str, int)   # a lab run fetched: cache notebook path, run id there
    lab_replay_requested = QtCore.Signal(str, int)

    def __init__(self, notebook: Notebook, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.notebook = notebook
        self.lab: "LabScope | None" = None      # the Lab scope, made when first chosen
        self.lab_author = None                    # who signs lab notes (a callable); None: the login name
        self.scope_station = QtWidgets.QRadioButton("This station")
        self.scope_lab = QtWidgets.QRadioButton("Lab")
        self.scope_station.setChecked(True)
        self.scope_note = ElidedLabel()
        scope_row = QtWidgets.QHBoxLayout()
        scope_row.addWidget(QtWidgets.QLabel("Scope"))
        scope_row.addWidget(self.scope_station)
        scope_row.addWidget(self.scope_lab)
        scope_row.addWidget(self.scope_note, 1)
        self.filters = FilterBar()
        self.runs_model = RecordsModel(RUN_COLUMNS, self)
        self.builds_model = RecordsModel(BUILD_COLUMNS, self)
        self.runs = self._table(self.runs_model, QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.builds = self._table(self.builds_model, QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.lists = QtWidgets.QTabWidget()
        self.lists.addTab(self.runs, "Runs")
        self.lists.addTab(self.builds, "Builds")
        self.count = ElidedLabel()
        self.open_analysis = QtWidgets.QPushButton("Open in Analysis")
        self.replay_button = QtWidgets.QPushButton("Replay")
        self.replay_button.setToolTip("Play the run back through the monitor; the detectors judge it again")
        self.compare_button = QtWidgets.QPushButton("Compare selected")
        self.export_button = QtWidgets.QPushButton("Export")
        self.export_menu = QtWidgets.QMenu(self)
        self.export_actions = {fmt: self.export_menu.addAction(EXPORT_TITLES[fmt]) for fmt in FORMATS}
        self.export_button.setMenu(self.export_menu)
        self.import_button = QtWidgets.QPushButton("Import file…")
        if notebook.read_only:
            self.import_button.setEnabled(False)
            self.import_button.setToolTip("The notebook is open read-only")
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.detail = DetailView(notebook)
        self.compare = CompareView()
        self.right = QtWidgets.QTabWidget()
        self.right.addTab(self.detail, "Details")
        self.right.addTab(self.compare, "Compare")

        buttons = FlowLayout()     # under a narrow list the buttons take two rows
        buttons.addWidget(self.count)
        for button in (self.open_analysis, self.replay_button, self.compare_button, self.export_button, self.import_button):
            buttons.addWidget(button)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.lists, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status)
        splitter = AdaptiveSplitter()      # the details go below the lists when narrow
        splitter.addWidget(left)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        station_page = QtWidgets.QWidget()
        station_layout = QtWidgets.QVBoxLayout(station_page)
        station_layout.setContentsMargins(0, 0, 0, 0)
        station_layout.addWidget(self.filters)
        station_layout.addWidget(splitter, 1)
        self.scopes = QtWidgets.QStackedWidget()
        self.scopes.addWidget(station_page)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(scope_row)
        layout.addWidget(self.scopes, 1)
        self.scope_lab.toggled.connect(lambda on: self.set_scope("lab" if on else "station"))

        self.filters.changed.connect(self.refresh)
        self.runs.selectionModel().selectionChanged.connect(self._selection_changed)
        self.builds.selectionModel().selectionChanged.connect(self._selection_changed)
        self.runs.doubleClicked.connect(lambda index: self.analysis_requested.emit(self.runs_model.row(index.row())["run_id"]))
        self.lists.currentChanged.connect(self._selection_changed)
        self.open_analysis.clicked.connect(self._open_analysis)
        self.replay_button.clicked.connect(self._open_replay)
        self.compare_button.clicked.connect(self.compare_selected)
        for fmt, action in self.export_actions.items():
            action.triggered.connect(lambda _=False, fmt=fmt: self._export_dialog(fmt))
        self.import_button.clicked.connect(self._import_dialog)
        self.detail.changed.connect(self.refresh)
        self._lists_state: tuple | None = None
        self._shown: tuple | None = None          # the shown row's fields, to re-render on a change
        self._watch = QtCore.QTimer(self, interval=WATCH_MS)
        self._watch.timeout.connect(self.refresh_if_changed)
        self.refresh()

    # -- scope --
    def lab_url(self) -> str | None:
        """The lab store this notebook syncs to, or None (also for a notebook opened
        read-only from before schema v5, which has no station table)."""
        try:
            return lab_url(self.notebook.conn)
        except sqlite3.OperationalError:
            return None

    def _update_scope_switch(self) -> None:
        url = self.lab_url()
        self.scope_lab.setEnabled(url is not None or self.lab is not None)
        self.scope_lab.setToolTip("Every station's runs in the lab store" if url else
                                  "Set the lab store's URL (Lab menu) to search every station's runs")
        if self.lab is not None and url is not None and url != self.lab.url and self.scope() == "station":
            self._drop_lab()       # the URL changed: the next Lab scope asks the new store

    def scope(self) -> str:
        return "lab" if self.scopes.currentIndex() == 1 else "station"

    def set_scope(self, scope: str) -> bool:
        """Show this station's notebook ("station") or every station's runs ("lab");
        False if the notebook has no lab URL."""
        if scope == "lab":
            url = self.lab_url()
            if url is None and self.lab is None:
                self.scope_station.setChecked(True)
                return False
            if self.lab is None:
                from gui.lab_scope import LabScope
                self.lab = LabScope(url, self)
                if self.lab_author is not None:
                    self.lab.author = self.lab_author
                self.lab.analysis_requested.connect(self.lab_analysis_requested)
                self.lab.replay_requested.connect(self.lab_replay_requested)
                self.scopes.addWidget(self.lab)
            self.scopes.setCurrentWidget(self.lab)
            from lab.connection import redact
            self.scope_note.setText(f"lab store: {redact(self.lab.url)}")
        else:
            self.scopes.setCurrentIndex(0)
            self.scope_note.setText("")
        for button, on in ((self.scope_lab, scope == "lab"), (self.scope_station, scope != "lab")):
            with QtCore.QSignalBlocker(button):
                button.setChecked(on)
        return True

    def _drop_lab(self) -> None:
        self.lab.close_reader()
        self.scopes.removeWidget(self.lab)
        self.lab.deleteLater()
        self.lab = None

    @staticmethod
    def _table(model: RecordsModel, mode) -> QtWidgets.QTableView:
        table = QtWidgets.QTableView()
        table.setModel(model)
        table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(mode)
        table.verticalHeader().hide()
        table.setAlternatingRowColors(True)
        table.horizontalHeader().setStretchLastSection(True)
        return table

    # -- lists --
    def refresh(self) -> None:
        """Re-query both lists with the filters, keeping the selection where it still matches;
        the details pane follows (a selected row the filters removed is no longer shown)."""
        self._lists_state = lists_state(self.notebook.conn)
        self._update_scope_switch()
        self.filters.set_vocabulary(self.notebook.vocabulary())
        query = self.filters.query()
        kept = self.selected_run_ids()
        build = self.selected_build_id()
        self.runs_model.set_rows(self.notebook.find_runs(query))
        self.builds_model.set_rows(self.notebook.find_builds(query))
        self._select(self.runs, self.runs_model, "run_id", kept)
        self._select(self.builds, self.builds_model, "build_id", [build] if build is not None else [])
        for table in (self.runs, self.builds):
            table.resizeColumnsToContents()
            for column in range(table.model().columnCount()):   # long imported file names stay readable
                table.setColumnWidth(column, min(table.columnWidth(column), 220))
        what = "matching" if not query.is_empty() else "in the notebook"
        self.count.setText(f"{len(self.runs_model.rows)} run(s), {len(self.builds_model.rows)} build(s) {what}")
        # a model reset drops the selection without a signal: follow it here
        self._selection_changed()

    def refresh_if_changed(self) -> bool:
        """Refresh if a run started or ended or a build was saved since the last refresh."""
        if lists_state(self.notebook.conn) == self._lists_state:
            return False
        self.refresh()
        return True

    @staticmethod
    def _select(table: QtWidgets.QTableView, model: RecordsModel, key: str, ids: list[int]) -> None:
        selection = QtCore.QItemSelection()
        for k, row in enumerate(model.rows):
            if row[key] in ids:
                selection.select(model.index(k, 0), model.index(k, model.columnCount() - 1))
        table.selectionModel().select(selection, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def selected_run_ids(self) -> list[int]:
        return [self.runs_model.row(i.row())["run_id"] for i in self.runs.selectionModel().selectedRows()]

    def selected_build_id(self) -> int | None:
        rows = self.builds.selectionModel().selectedRows()
        return self.builds_model.row(rows[0].row())["build_id"] if rows else None

    def select_runs(self, run_ids: list[int]) -> None:
        self.lists.setCurrentWidget(self.runs)
        self._select(self.runs, self.runs_model, "run_id", run_ids)

    def select_build(self, build_id: int) -> None:
        self.lists.setCurrentWidget(self.builds)
        self._select(self.builds, self.builds_model, "build_id", [build_id])

    def _selection_changed(self) -> None:
        self._show_selected()
        self._update_buttons()

    def _show_selected(self) -> None:
        """The details pane shows what the current list has selected, and nothing else."""
        if self.lists.currentWidget() is self.runs:
            ids = self.selected_run_ids()
            if len(ids) != 1:
                self.detail.show_nothing(f"{len(ids)} runs are selected: Compare shows them together; select one "
                                         "to see or annotate it." if ids else None)
                return
            row = next(r for r in self.runs_model.rows if r["run_id"] == ids[0])
            shown = ({"run_id": ids[0]}, tuple(row.get(key) for key in RUN_SHOWN_FIELDS))
            if (self.detail.target, self._shown) != shown:
                self.detail.show_run(ids[0])
        else:
            build = self.selected_build_id()
            if build is None:
                self.detail.show_nothing()
                return
            row = next(r for r in self.builds_model.rows if r["build_id"] == build)
            shown = ({"build_id": build}, tuple(sorted(row.items())))
            if (self.detail.target, self._shown) != shown:
                self.detail.show_build(build)
        self._shown = shown[1]

    def _update_buttons(self) -> None:
        runs = self.selected_run_ids() if self.lists.currentWidget() is self.runs else []
        self.open_analysis.setEnabled(len(runs) == 1)
        self.replay_button.setEnabled(len(runs) == 1)
        self.compare_button.setEnabled(len(runs) >= 2)
        for fmt, action in self.export_actions.items():
            action.setEnabled(len(runs) == 1 or (fmt == "build-sheet" and self.selected_build_id() is not None
                                                 and self.lists.currentWidget() is self.builds))
        self.export_button.setEnabled(any(a.isEnabled() for a in self.export_actions.values()))

    # -- actions --
    def _open_analysis(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) == 1:
            self.analysis_requested.emit(ids[0])

    def _open_replay(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) == 1:
            self.replay_requested.emit(ids[0])

    def compare_selected(self) -> None:
        ids = sorted(self.selected_run_ids())
        if len(ids) < 2:
            return
        self.compare.set_runs(self.notebook, ids)
        self.right.setCurrentWidget(self.compare)

    def export_to(self, fmt: str, path: str | Path) -> Path | None:
        """Export what is selected; the outcome goes to the status line."""
        runs = self.selected_run_ids() if self.lists.currentWidget() is self.runs else []
        build = self.selected_build_id() if self.lists.currentWidget() is self.builds else None
        try:
            out = export(self.notebook, fmt, path, run_id=runs[0] if runs else None, build_id=build, overwrite=True)
        except (NotebookError, FormatError) as exc:
            self.set_status(f"Not exported: {exc}", error=True)
            return None
        self.set_status(f"Exported to {out}")
        return out

    def import_path(self, path: str | Path) -> int | None:
        try:
            result = import_file(self.notebook, path)
        except (NotebookError, FormatError) as exc:
            self.set_status(f"Not imported: {exc}", error=True)
            return None
        self.filters.reset()
        self.select_runs([result.run_id])
        warnings = "".join(f"\nwarning: {w}" for w in result.warnings)
        self.set_status(f"Imported {Path(path).name} as run {result.run_id}.{warnings}")
        return result.run_id

    def set_status(self, text: str, error: bool = False) -> None:
        theme.set_style(self.status, "color: {error};" if error else "")
        self.status.setText(text)

    def _export_dialog(self, fmt: str) -> None:
        runs = self.selected_run_ids()
        name = f"run{runs[0]}" if runs and fmt != "build-sheet" else f"build{self.selected_build_id() or ''}"
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, EXPORT_TITLES[fmt].rstrip("…"),
                                                        str(Path.home() / f"{name}{SUFFIXES[fmt]}"))
        if path:
            self.export_to(fmt, path)

    def _import_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import a file as a run", str(Path.home()), IMPORT_FILTER)
        if path:
            self.import_path(path)

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt's name)
        self.refresh()   # runs recorded or analysed since it was last shown
        self._watch.start()
        super().showEvent(event)

    def hideEvent(self, event: QtGui.QHideEvent) -> None:  # noqa: N802 (Qt's name)
        self._watch.stop()   # a hidden browser refreshes when it is shown again
        super().hideEvent(event)
