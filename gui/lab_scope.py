"""The Notebook browser's Lab scope: every station's runs in the lab store, searched by
text, station, status, template, lot, operator and tag (lab.query.LabReader over the
`lab_runs` view), with Station as a column; a run's details with its build, layers, lots,
set-points and outcome figures, and the notes and tags every station wrote on it.

A note or tag added here goes to the lab as this station (its login role); a reader's
login cannot write, and the lab's refusal is shown in words.

To compare, analyse, replay or export lab runs, they are first fetched into a local cache
notebook (lab.fetch.fetch_run), so the station's own Compare, Analysis, Replay and Export
work on them unchanged: `analysis_requested` and `replay_requested` carry the cache
notebook's path and the run's id in it for the window that hosts this widget.

Nothing here waits on the network on the GUI thread: queries, notes and fetches run on
threads (gui/lab_tasks.py); the list says "loading…" meanwhile, and a failure is shown
in words with any password taken out."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import theme
from gui.browser_compare import CompareView
from gui.browser_model import Column, RecordsModel
from gui.lab_detail import LabRunDetail
from gui.lab_filters import LabFilterBar
from gui.lab_tasks import LabTasks
from gui.layout import AdaptiveSplitter, ElidedLabel, FlowLayout
from lab.connection import LabError, redact
from lab import fetch
from lab.query import LabReader
from notebook import Notebook

REASK_S = 60.0       # shown again after this long, the list is asked for afresh
# lab/export.py's formats: what the Export menu calls them
LAB_FORMATS = {"csv": "Selection as BDF CSV…", "parquet": "Selection as Parquet…"}


def _when(value: object) -> str:
    return "" if not value else str(value)[:16].replace("T", " ")


def _count(value: object) -> str:
    return "" if value is None else f"{int(value):,}"


LAB_RUN_COLUMNS = (
    Column("station", "Station"),
    Column("local_id", "Run", align_right=True),
    Column("started_utc", "Started (UTC)", _when),
    Column("status", "Status"),
    Column("build_name", "Cell"),
    Column("template", "Template"),
    Column("operator", "Operator"),
    Column("electrolyte_lot", "Electrolyte lot", lambda v: v or ""),
    Column("protocol", "Protocol", lambda v: v or ""),
    Column("n_samples", "Samples", _count, align_right=True),
    Column("n_events", "Events", align_right=True),
    Column("tags", "Tags", lambda v: v or ""),
)


def run_label(row: dict) -> str:
    """How a lab run is named in plots and messages: station, its run number, its cell."""
    cell = row.get("build_name") or row.get("template") or "no build"
    return f"{row.get('station')} #{row.get('local_id')} {cell} ({row.get('status')})"


# -- the work done on the tasks' threads (no Qt in here) --
VOCABULARY_KEYS = {"station": "stations", "status": "statuses", "template": "templates", "lot": "lots",
                   "operator": "operators", "tag": "tags"}


def query_lab(reader, filters: dict) -> dict:
    """The runs matching `filters` (LabReader.runs keywords), and what the filters may offer
    (LabReader gives UUIDs as text)."""
    rows = reader.runs(**filters)
    words = reader.vocabulary()
    return {"rows": rows, "filters": filters,
            "vocabulary": {key: list(words.get(name, [])) for key, name in VOCABULARY_KEYS.items()}}


def annotations(reader, run_uuid: str, build_uuid: str | None) -> dict:
    """The notes and tags of a run and of its build, every station's."""
    notes = reader.notes(run_uuid=run_uuid, build_uuid=build_uuid)
    tags = reader.tags(run_uuid=run_uuid, build_uuid=build_uuid)
    return {"uuid": run_uuid, "notes": notes, "tags": tags}


def fetch_rows(url: str, rows: list[dict], cache: Path, report) -> list[tuple[dict, Path, int]]:
    """Fetch each run of `rows` into the cache notebook: (row, cache path, run id there)."""
    cache.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for n, row in enumerate(rows):
        report(n, len(rows), f"fetching {run_label(row)} from the lab ({n + 1} of {len(rows)})…")
        path, run_id = fetch.fetch_run(url, row["uuid"], cache)
        out.append((row, Path(path), int(run_id)))
    report(len(rows), len(rows), "fetched")
    return out


def read_series(fetched: list[tuple[dict, Path, int]]) -> list[tuple[str, np.ndarray]]:
    """Each fetched run's label and samples, for the Compare plot."""
    series = []
    for row, path, run_id in fetched:
        with Notebook(path, read_only=True) as nb:
            series.append((run_label(row), nb.samples(run_id)))
    return series


class LabScope(QtWidgets.QWidget):
    """The lab's runs, for a station or a desk station. `author` gives the name notes are
    signed with (the host sets it to its operator's)."""
    analysis_requested = QtCore.Signal(str, int)    # cache notebook path, run id in it
    replay_requested = QtCore.Signal(str, int)      # cache notebook path, run id in it
    loaded = QtCore.Signal()                        # a query's rows are shown

    def __init__(self, url: str, parent: QtWidgets.QWidget | None = None, cache: str | Path | None = None):
        super().__init__(parent)
        self.url = url
        # where fetched runs are kept: one cache for every lab (a run's UUID names it everywhere)
        self.cache = Path(cache) if cache is not None else fetch.default_cache_path()
        self.author = _login_name
        self.tasks = LabTasks(self)
        # one reader (one connection, opened on a task's thread when first used), shared by the
        # tasks: it serialises them itself
        try:
            self.reader: LabReader | None = LabReader(url)
            self._refused = ""
        except LabError as exc:          # a URL holding a password: refused before any connection
            self.reader, self._refused = None, str(exc)
        self.filters = LabFilterBar()
        self.refresh_button = QtWidgets.QPushButton("Refresh")
        self.refresh_button.setToolTip("Ask the lab again (runs synced since)")
        self.model = RecordsModel(LAB_RUN_COLUMNS, self)
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.count = ElidedLabel("loading…")
        self.open_analysis = QtWidgets.QPushButton("Open in Analysis")
        self.replay_button = QtWidgets.QPushButton("Replay")
        self.replay_button.setToolTip("Fetch the run and play it back through the monitor (read-only)")
        self.compare_button = QtWidgets.QPushButton("Compare selected")
        self.export_button = QtWidgets.QPushButton("Export")
        self.export_menu = QtWidgets.QMenu(self)
        self.export_actions = {fmt: self.export_menu.addAction(title) for fmt, title in LAB_FORMATS.items()}
        self.export_button.setMenu(self.export_menu)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.detail = LabRunDetail()
        self.compare = CompareView()
        self.compare.caption.setText("Select two or more runs, from any stations, and press Compare.")
        self.compare.caption.setWordWrap(True)      # a long caption must not widen the pane
        self.right = QtWidgets.QTabWidget()
        self.right.addTab(self.detail, "Details")
        self.right.addTab(self.compare, "Compare")

        buttons = FlowLayout()
        buttons.addWidget(self.count)
        for widget in (self.open_analysis, self.replay_button, self.compare_button, self.export_button,
                       self.refresh_button, self.progress):
            buttons.addWidget(widget)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status)
        self.splitter = splitter = AdaptiveSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filters)
        layout.addWidget(splitter, 1)

        self.filters.changed.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.open_selected_in_analysis())
        self.open_analysis.clicked.connect(self.open_selected_in_analysis)
        self.replay_button.clicked.connect(self.replay_selected)
        self.compare_button.clicked.connect(self.compare_selected)
        for fmt, action in self.export_actions.items():
            action.triggered.connect(lambda _=False, fmt=fmt: self._export_dialog(fmt))
        self.detail.note_requested.connect(self.add_note)
        self.detail.tag_requested.connect(self.add_tag)
        self.tasks.changed.connect(self._update_buttons)
        self._shown_uuid: str | None = None
        self._asked = False
        self._answered = 0.0
        self._user_sized = False       # the user moved the splitter: their share stays
        splitter.splitterMoved.connect(lambda *_: setattr(self, "_user_sized", True))
        self._update_buttons()

    # -- the list --
    @property
    def busy(self) -> bool:
        return self.tasks.busy()

    def refresh(self) -> None:
        """Ask the lab for the runs the filters match (on a thread); the list follows."""
        self._asked = True
        if self.reader is None:
            self._on_query_failed(self._refused)
            return
        self.count.setText("loading…")
        self.tasks.run("query", lambda _report: query_lab(self.reader, self.filters.filters()),
                       self._on_rows, self._on_query_failed)

    def _on_rows(self, result: dict) -> None:
        self._answered = time.monotonic()
        rows = result["rows"]
        kept = self.selected_uuids()
        self.filters.set_vocabulary(result["vocabulary"])
        self.model.set_rows(rows)
        self._select(kept)
        self.table.resizeColumnsToContents()
        for column in range(self.model.columnCount()):
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), 220))
        stations = len({row.get("station") for row in rows})
        what = "matching" if result["filters"] else "in the lab"
        self.count.setText(f"{len(rows)} run(s) from {stations} station(s) {what}")
        self._selection_changed()
        self.loaded.emit()

    def _on_query_failed(self, text: str) -> None:
        self.count.setText("the lab did not answer")
        self.set_status(f"Could not read the lab at {redact(self.url)}: {text}", error=True)

    def rows(self) -> list[dict]:
        return list(self.model.rows)

    def selected_rows(self) -> list[dict]:
        picked = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.row(k) for k in picked]

    def selected_uuids(self) -> list[str]:
        return [row["uuid"] for row in self.selected_rows()]

    def select_uuids(self, uuids: list[str]) -> None:
        self._select(uuids)

    def _select(self, uuids: list[str]) -> None:
        selection = QtCore.QItemSelection()
        for k, row in enumerate(self.model.rows):
            if row["uuid"] in uuids:
                selection.select(self.model.index(k, 0), self.model.index(k, self.model.columnCount() - 1))
        self.table.selectionModel().select(selection, QtCore.QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def _selection_changed(self, *_args) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            self._shown_uuid = None
            self.detail.show_nothing(f"{len(rows)} runs are selected: Compare shows them together; select one to "
                                     "see or annotate it." if rows else None)
        else:
            self.detail.show_row(rows[0])
            if rows[0]["uuid"] != self._shown_uuid:
                self._shown_uuid = rows[0]["uuid"]
                self._load_annotations(rows[0])
        self._update_buttons()

    def _update_buttons(self) -> None:
        n = len(self.selected_rows())
        fetching = self.tasks.busy("fetch")
        self.open_analysis.setEnabled(n == 1 and not fetching)
        self.replay_button.setEnabled(n == 1 and not fetching)
        self.compare_button.setEnabled(n >= 2 and not fetching)
        self.export_button.setEnabled(n >= 1 and not fetching)

    # -- notes and tags --
    def _load_annotations(self, row: dict) -> None:
        self.detail.show_loading()
        self.tasks.run("annotations", lambda _r: annotations(self.reader, row["uuid"], row.get("build_uuid")),
                       self._on_annotations, self.detail.set_problem)

    def _on_annotations(self, result: dict) -> None:
        if result["uuid"] == self.detail.uuid:
            self.detail.show_annotations(result["notes"], result["tags"])

    def add_note(self, run_uuid: str, text: str) -> None:
        """Write a note on the run to the lab, as this station, signed by `author()`."""
        author = self.author()

        build = self._build_of(run_uuid)

        def work(_report):
            self.reader.add_note("run", run_uuid, author, text)
            return annotations(self.reader, run_uuid, build)

        self.detail.set_note("writing the note to the lab…")
        self.tasks.run("annotate", work, lambda result: self._annotated(result, "note"),
                       lambda why: self.detail.set_problem(f"The note was not written to the lab: {why}"))

    def add_tag(self, run_uuid: str, tag: str) -> None:
        """Tag the run in the lab, as this station."""
        build = self._build_of(run_uuid)

        def work(_report):
            self.reader.add_tag("run", run_uuid, tag)
            return annotations(self.reader, run_uuid, build)

        self.detail.set_note("writing the tag to the lab…")
        self.tasks.run("annotate", work, lambda result: self._annotated(result, "tag"),
                       lambda why: self.detail.set_problem(f"The tag was not written to the lab: {why}"))

    def _build_of(self, run_uuid: str) -> str | None:
        return next((row.get("build_uuid") for row in self.model.rows if row["uuid"] == run_uuid), None)

    def _annotated(self, result: dict, what: str) -> None:
        if result["uuid"] == self.detail.uuid:
            (self.detail.note_text if what == "note" else self.detail.tag_text).clear()
            self.detail.show_annotations(result["notes"], result["tags"])
            self.detail.set_note(f"The {what} is in the lab, with this station's name.")
        if what == "tag":
            self.refresh()      # the list's Tags column and the tag filter's choices

    # -- fetched runs: compare, analysis, replay, export --
    def _fetch(self, rows: list[dict], purpose: str, then, on_thread=None) -> None:
        """Fetch `rows` into the cache on a thread, pass what was fetched through
        `on_thread` there (reading samples, writing files: nothing heavy on the GUI thread),
        then give the result to `then` on the GUI thread; a progress bar counts the runs (one
        run: a busy bar, as fetch_run says nothing until it is done)."""
        self._on_progress(0, len(rows), "")
        self.progress.show()
        self.set_status(f"Fetching {len(rows)} run(s) from the lab for {purpose}…")

        def done(value) -> None:
            self.progress.hide()
            then(value)

        def failed(why: str) -> None:
            self.progress.hide()
            self.set_status(f"Could not fetch from the lab for {purpose}: {why}", error=True)

        def work(report):
            fetched = fetch_rows(self.url, rows, self.cache, report)
            return on_thread(fetched) if on_thread is not None else fetched

        self.tasks.run("fetch", work, done, failed, self._on_progress)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self.progress.setRange(0, total if total > 1 else 0)
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {total}")
        if not text:
            return
        self.set_status(text[0].upper() + text[1:])

    def open_selected_in_analysis(self) -> None:
        self.open_rows_in_analysis(self.selected_rows())

    def open_rows_in_analysis(self, rows: list[dict]) -> None:
        """Fetch one run and hand it to the Analysis view (`analysis_requested`)."""
        if len(rows) == 1:
            self._fetch(rows, "analysis", self._analyse)

    def _analyse(self, fetched: list) -> None:
        row, path, run_id = fetched[0]
        self.set_status(f"{run_label(row)} is open in Analysis (fetched from the lab).")
        self.analysis_requested.emit(str(path), run_id)

    def replay_selected(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1:
            self._fetch(rows, "replay", self._replay)

    def _replay(self, fetched: list) -> None:
        row, path, run_id = fetched[0]
        self.set_status(f"Replaying {run_label(row)} (fetched from the lab; read-only).")
        self.replay_requested.emit(str(path), run_id)

    def compare_selected(self) -> None:
        self.compare_rows(self.selected_rows())

    def compare_rows(self, rows: list[dict]) -> None:
        """Fetch and overlay `rows` (from any stations) in the Compare tab."""
        if len(rows) >= 2:
            self._fetch(rows, "compare", self._compared, read_series)

    def compare_uuids(self, uuids: list[str]) -> None:
        """Compare runs named by UUID (the Outcomes tab's selection): those in the list."""
        self.compare_rows([row for row in self.model.rows if row["uuid"] in uuids])

    def _compared(self, series: list[tuple[str, np.ndarray]]) -> None:
        self.compare.set_series(series)
        self.right.setCurrentWidget(self.compare)
        self.set_status(f"{len(series)} runs from {len({label.split(' #')[0] for label, _ in series})} station(s) "
                        "compared.")

    def export_selection(self, fmt: str, out: str | Path) -> None:
        """Write the selected runs into the new folder `out` as lab/export.py does: `csv`, a
        BDF CSV per run and runs.csv; `parquet`, samples.parquet (every run, with run_uuid and
        station columns) and runs.parquet. The runs are fetched first, the progress bar
        counting them; the outcome goes to the status line."""
        rows = self.selected_rows()
        if not rows:
            return
        out = Path(out)
        if out.exists():
            self.set_status(f"Not exported: {out} exists; a lab export is a new folder.", error=True)
            return

        def write(_fetched: list):
            from lab.export import export_runs
            # the runs are in the cache now: export_runs finds them there unchanged
            return export_runs(self.url, fmt, out, [row["uuid"] for row in rows], cache_path=self.cache)

        self._fetch(rows, "export", self._exported, write)

    def _exported(self, result) -> None:
        self.exported = result
        behind = f"; {sum(result.behind.values()):,} samples of running runs are not in the lab yet" \
            if result.behind else ""
        self.set_status(f"Exported {len(result.samples)} run(s), {sum(result.samples.values()):,} samples, to "
                        f"{result.folder} ({', '.join(p.name for p in result.files[:4])}"
                        f"{', …' if len(result.files) > 4 else ''}){behind}.")

    def _export_dialog(self, fmt: str) -> None:
        name = f"lab-export-{fmt}"
        out, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, f"Export the selected runs as {LAB_FORMATS[fmt].split(' as ')[1].rstrip('…')} into a new folder",
            str(Path.home() / name))
        if out:
            self.export_selection(fmt, out)

    # -- messages --
    def set_status(self, text: str, error: bool = False) -> None:
        theme.set_style(self.status, "color: {error};" if error else "")
        self.status.setText(redact(text))

    def close_reader(self) -> None:
        """Close the reader's connection (on a thread: closing may wait on the network)."""
        reader = self.reader
        if reader is None:
            return
        self.tasks.run("close", lambda _report: reader.close(), lambda _v: None, lambda _why: None)

    def showEvent(self, event: QtGui.QShowEvent) -> None:  # noqa: N802 (Qt's name)
        # the lab is asked when first shown, not when built; and again when shown after a while
        # (other stations sync meanwhile)
        if not self._asked or time.monotonic() - self._answered > REASK_S:
            self.refresh()
        super().showEvent(event)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        # the list, with its Station column, gets the larger share (the details' text would
        # take it), until the user sets their own
        QtCore.QTimer.singleShot(0, self._balance)

    def _balance(self) -> None:
        splitter = self.splitter
        if not self._user_sized and splitter.orientation() == QtCore.Qt.Orientation.Horizontal:
            width = sum(splitter.sizes())
            if width > 0:
                with QtCore.QSignalBlocker(splitter):
                    splitter.setSizes([width * 11 // 20, width - width * 11 // 20])


def _login_name() -> str:
    import getpass
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown operator"
