"""The analysis view: any run of the notebook (the one just finished, one picked here,
or one the notebook browser hands over) with the analyses that fit it, each on a page
of plots and tables; other runs overlaid for comparison (e.g. with vs without Ag-C);
every table exported as CSV and every plot as PNG or SVG.

Entry points for other views: show_run(notebook, run_id) and add_overlay(notebook,
run_id). Reading runs and computing analyses happens on an AnalysisThread; the view
shows its progress and can cancel it, and keeps every result (per run, analysis and
options) so that switching pages or options back costs nothing."""
from __future__ import annotations

import re
from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (loads pg.exporters)
from PySide6 import QtCore, QtGui, QtSvg, QtWidgets

from gui.analysis_eis import EIS_PAGES
from gui.analysis_pages import PAGES, AnalysisPage, Entry
from gui.analysis_runs import ANALYSES, RunData, analyses_for, options_key, write_csv
from gui.analysis_worker import LOAD, AnalysisThread, Job
from gui.layout import FlowLayout, labelled
from notebook import Notebook, NotebookError

PNG_WIDTH_PX = 1600        # exported plots: sharp enough for a slide or a report


class AnalysisView(QtWidgets.QWidget):
    def __init__(self, notebook: Notebook | None = None, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.path: Path | None = None
        self.primary: int | None = None
        self.overlays: list[int] = []
        self.runs: dict[int, RunData] = {}
        self.results: dict[tuple, object] = {}
        self.errors: dict[tuple, str] = {}
        self.pages: dict[str, AnalysisPage] = {}
        self._thread: AnalysisThread | None = None
        self._again = False                    # plan more work once the running batch ends
        self._prepared_for: int | None = None  # the run the pages' options were set for
        self._run_rows: list[dict] = []        # the notebook's runs, newest first, as last read

        self.run_picker = QtWidgets.QComboBox()
        self.run_picker.setMinimumContentsLength(34)
        self.run_picker.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.reload = QtWidgets.QPushButton("Refresh list")
        self.reload.setToolTip("Read the list of runs from the notebook again")
        self.overlay_picker = QtWidgets.QComboBox()
        self.overlay_picker.setMinimumContentsLength(24)
        self.overlay_picker.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.add_overlay_button = QtWidgets.QPushButton("Overlay")
        self.add_overlay_button.setToolTip("Draw this run over the one shown, on every page it fits")
        self.clear_overlays = QtWidgets.QPushButton("Clear overlays")
        self.export_button = QtWidgets.QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_menu = QtWidgets.QMenu(self.export_button)
        self.export_button.setMenu(self.export_menu)
        self.export_menu.aboutToShow.connect(self._fill_export_menu)
        # one row when wide, two or three when narrow (gui/layout.py)
        bar = FlowLayout(spacing=12)
        pick = labelled("Run:", self.run_picker, stretch=True)
        pick.layout().addWidget(self.reload)
        compare = labelled("Compare with:", self.overlay_picker, stretch=True)
        compare.layout().addWidget(self.add_overlay_button)
        compare.layout().addWidget(self.clear_overlays)
        for group in (pick, compare, self.export_button):
            bar.addWidget(group)

        self.heading = QtWidgets.QLabel("Pick a run of the notebook to analyse it.")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(220)
        self.status = QtWidgets.QLabel()
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.setToolTip("Compute what was cancelled")
        status_row = QtWidgets.QHBoxLayout()
        status_row.addWidget(self.heading, 1)
        status_row.addWidget(self.status)
        status_row.addWidget(self.progress)
        status_row.addWidget(self.cancel_button)
        status_row.addWidget(self.resume_button)
        self.tabs = QtWidgets.QTabWidget()
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addLayout(status_row)
        layout.addWidget(self.tabs, 1)
        self._set_busy(False)
        self.resume_button.hide()

        self.run_picker.activated.connect(self._picked_run)
        self.reload.clicked.connect(lambda: self.refresh_runs())
        self.add_overlay_button.clicked.connect(self._picked_overlay)
        self.overlay_picker.currentIndexChanged.connect(lambda _index: self._update_actions())
        self.clear_overlays.clicked.connect(self.remove_overlays)
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self._plan)
        self.tabs.currentChanged.connect(lambda _index: self._update_actions())
        if notebook is not None:
            self.refresh_runs(notebook)
        self._update_actions()

    # -- entry points --
    def show_run(self, notebook: Notebook | str | Path, run_id: int) -> None:
        """Analyse run `run_id` of `notebook` (a Notebook or its path), read afresh (it may
        have grown since it was last shown); overlays are cleared."""
        self._use_notebook(notebook)
        self.primary = int(run_id)
        self.overlays = []
        self._forget(self.primary)
        self._fill_pickers()
        self.heading.setText(f"Run #{self.primary}: reading…")
        self._forget_unused()
        self._restart()

    def add_overlay(self, notebook: Notebook | str | Path, run_id: int) -> None:
        """Draw run `run_id` over the run shown, on every page whose analysis fits it."""
        if self.primary is None:
            self.show_run(notebook, run_id)
            return
        if self.path is not None and Path(_path_of(notebook)).resolve() != self.path.resolve():
            self.status.setText("An overlay must come from the notebook of the run shown.")
            return
        run_id = int(run_id)
        if run_id == self.primary or run_id in self.overlays:
            return
        self.overlays.append(run_id)
        self._forget(run_id)
        self._restart()

    def remove_overlays(self) -> None:
        self.overlays = []
        self._forget_unused()
        self._render_all()

    def refresh_runs(self, notebook: Notebook | str | Path | None = None) -> None:
        """Fill the run pickers from the notebook (its own read-only connection), each run
        with its stored status; the run shown is read again if it has ended since."""
        if notebook is not None:
            self._use_notebook(notebook)
        if self.path is None:
            return
        try:
            with Notebook(self.path, read_only=True) as nb:
                runs = nb.runs()
        except NotebookError as exc:
            self.status.setText(str(exc))
            return
        self._run_rows = list(reversed(runs))        # newest first
        self._fill_pickers()
        shown = self.runs.get(self.primary)
        stored = next((r["status"] for r in runs if r["run_id"] == self.primary), None)
        if shown is not None and stored is not None and shown.status != stored:
            self._forget(self.primary)                # "running" when read; its end changes its figures too
            self._restart()

    def _fill_pickers(self) -> None:
        """The run picker lists every run; "Compare with" every other run, none chosen
        until the operator picks one (the run shown is never offered as its own overlay)."""
        chosen = self.overlay_picker.currentData()
        for picker in (self.run_picker, self.overlay_picker):
            with QtCore.QSignalBlocker(picker):
                picker.clear()
        with QtCore.QSignalBlocker(self.overlay_picker):
            self.overlay_picker.addItem("— choose a run —", None)
            for r in self._run_rows:
                started = (r["started_utc"] or "")[:16].replace("T", " ")
                text = f"#{r['run_id']} {r['template']} · {r['protocol']} · {r['status']} · {started}"
                self.run_picker.addItem(text, r["run_id"])
                if r["run_id"] != self.primary:
                    self.overlay_picker.addItem(text, r["run_id"])
            self._select(self.overlay_picker, chosen if chosen != self.primary else None)
        self._select(self.run_picker, self.primary)
        self._update_actions()

    # -- what can be asked of it (tests, the browser, the screenshot script) --
    @property
    def busy(self) -> bool:
        return self._thread is not None

    def current_kind(self) -> str | None:
        page = self.tabs.currentWidget()
        return page.kind if isinstance(page, AnalysisPage) else None

    def show_analysis(self, kind: str) -> None:
        if kind not in self.pages or self.tabs.indexOf(self.pages[kind]) < 0:
            raise KeyError(f"{ANALYSES.get(kind, kind)} does not fit run #{self.primary}")
        self.tabs.setCurrentWidget(self.pages[kind])

    def export_table(self, kind: str, name: str, path: str | Path) -> Path:
        """Write table `name` of the page `kind` as CSV (headers carry units)."""
        frames = self._page(kind).tables()
        if name not in frames:
            raise KeyError(f"{ANALYSES[kind]} has no table {name!r}; it has {', '.join(frames) or 'none yet'}")
        path = Path(path)
        write_csv(frames[name], path)
        return path

    def export_plot(self, kind: str, name: str, path: str | Path) -> Path:
        """Write plot `name` of page `kind` as PNG or SVG, chosen by the file's suffix."""
        page = self._page(kind)
        if name not in page.plots:
            raise KeyError(f"{ANALYSES[kind]} has no plot {name!r}; it has {', '.join(page.plots)}")
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            exporter = pg.exporters.ImageExporter(page.plots[name].plotItem)
            exporter.parameters()["width"] = PNG_WIDTH_PX
            exporter.export(str(path))
        elif suffix == ".svg":
            _write_svg(page.plots[name].plotItem, path, f"{ANALYSES[kind]}: {name}")
        else:
            raise ValueError(f"plots are exported as .png or .svg, not {path.name!r}")
        if not path.exists():
            raise OSError(f"{path} could not be written")
        return path

    def export_page(self, kind: str, folder: str | Path) -> list[Path]:
        """Every table (CSV) and plot (PNG and SVG) of page `kind` into `folder`."""
        folder = Path(folder)
        stem = f"run{self.primary}-{kind}"
        written = [self.export_table(kind, name, folder / f"{stem}-{_slug(name)}.csv") for name in self._page(kind).tables()]
        for name in self._page(kind).plots:
            written += [self.export_plot(kind, name, folder / f"{stem}-{_slug(name)}{suffix}") for suffix in (".png", ".svg")]
        return written

    def cancel(self) -> None:
        """Stop the running work at its next progress report; what was done is kept."""
        self._again = False
        if self._thread is not None:
            self._thread.cancel()
            self.status.setText("Cancelling…")

    def shutdown(self) -> None:
        """Stop the worker and wait for it: call before the view goes away."""
        if self._thread is not None:
            self._again = False
            self._thread.cancel()
            self._thread.wait()
            self._thread_finished()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self.refresh_runs()   # runs started or ended while another tab was on screen
        super().showEvent(event)

    # -- planning and running work --
    def _use_notebook(self, notebook: Notebook | str | Path) -> None:
        path = Path(_path_of(notebook))
        if self.path is None or path.resolve() != self.path.resolve():
            self.path = path
            self.runs.clear()
            self.results.clear()
            self.errors.clear()
            self.refresh_runs()

    def _wanted(self) -> list[int]:
        return ([self.primary] if self.primary is not None else []) + self.overlays

    def _forget(self, run_id: int) -> None:
        self.runs.pop(run_id, None)
        for store in (self.results, self.errors):
            for key in [k for k in store if k[1] == run_id]:
                del store[key]

    def _forget_unused(self) -> None:
        """Drop the samples and results of runs no longer shown (a run can hold millions of samples)."""
        wanted = set(self._wanted())
        for run_id in [r for r in self.runs if r not in wanted]:
            del self.runs[run_id]
        for store in (self.results, self.errors):
            for key in [k for k in store if k[1] not in wanted]:
                del store[key]

    def _restart(self) -> None:
        """Plan again now, or as soon as the running batch (now stale) has stopped."""
        if self._thread is not None:
            self._thread.cancel()
            self._again = True
        else:
            self._plan()

    def _jobs(self) -> list[Job]:
        wanted = self._wanted()
        jobs = [Job(LOAD, r) for r in wanted if r not in self.runs and (LOAD, r, ()) not in self.errors]
        if jobs or self.primary not in self.runs:
            return jobs
        self._build_tabs()
        for kind in analyses_for(self.runs[self.primary]):
            page = self.pages[kind]
            for run_id in wanted:
                run = self.runs.get(run_id)
                if run is None or kind not in analyses_for(run):
                    continue
                job = Job(kind, run_id, options_key(page.options(run)))
                if job.key not in self.results and job.key not in self.errors:
                    jobs.append(job)
        # the page on screen first: its figures appear while the others are computed
        current = self.current_kind()
        return sorted(jobs, key=lambda j: j.kind != current)

    def _plan(self) -> None:
        self.resume_button.hide()
        if self.path is None or self.primary is None:
            return
        jobs = self._jobs()
        if not jobs:
            self._render_all()
            self.status.setText("")
            return
        self._thread = AnalysisThread(self.path, jobs, self.runs, self)
        self._thread.progress.connect(self._on_progress)
        self._thread.result.connect(self._on_result)
        self._thread.failed.connect(self._on_failed)
        self._thread.finished.connect(self._thread_finished)
        self._set_busy(True)
        self._thread.start()

    def _on_progress(self, fraction: float, text: str) -> None:
        if self._thread is not None and not self._thread.cancelled:
            self.progress.setValue(int(fraction * 1000))
            self.status.setText(text[:1].upper() + text[1:] + "…")

    def _on_result(self, job: Job, value: object) -> None:
        if job.run_id not in self._wanted():
            return                           # a run no longer shown (the batch was cancelled for it)
        if job.kind == LOAD:
            self.runs[job.run_id] = value
            if job.run_id == self.primary:
                self._show_heading()
        else:
            self.results[job.key] = value
            self._render(job.kind)

    def _on_failed(self, job: Job, message: str) -> None:
        if job.run_id not in self._wanted():
            return
        self.errors[job.key] = message
        if job.kind == LOAD:
            if job.run_id == self.primary:
                self.heading.setText(f"Run #{job.run_id} cannot be analysed: {message}")
                self._clear_tabs()
            else:
                self._show_heading()
        else:
            self._render(job.kind)

    def _thread_finished(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._thread = None
        cancelled = thread.cancelled
        thread.deleteLater()
        self._set_busy(False)
        if self._again:
            self._again = False
            self._plan()
            return
        if cancelled:
            self._render_all()
            missing = self._jobs()
            self.status.setText(f"Cancelled; {len(missing)} analysis step(s) not done." if missing else "Cancelled.")
            self.resume_button.setVisible(bool(missing))
            return
        # a finished load makes the analyses plannable; a finished batch leaves nothing (or errors) to do
        self._plan()

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setValue(0)

    # -- pages --
    def _build_tabs(self) -> None:
        """The pages of the analyses that fit the run shown, in ANALYSES order."""
        run = self.runs[self.primary]
        kinds = analyses_for(run)
        shown = [self.tabs.widget(k).kind for k in range(self.tabs.count())]
        if shown == kinds and self._prepared_for == run.run_id:
            return
        current = self.current_kind()
        self.tabs.blockSignals(True)
        self._clear_tabs()
        for kind in kinds:
            if kind not in self.pages:
                page = (EIS_PAGES.get(kind) or PAGES[kind])()
                page.options_changed.connect(self._restart)
                self.pages[kind] = page
            self.pages[kind].prepare(run)
            self.tabs.addTab(self.pages[kind], ANALYSES[kind].replace("&", "&&"))   # a lone & marks a shortcut
        if current in kinds:
            self.tabs.setCurrentWidget(self.pages[current])
        self.tabs.blockSignals(False)
        self._prepared_for = run.run_id
        if not kinds:
            self.status.setText(f"No analysis fits run #{run.run_id}: no current flowed and it has no spectra.")
        self._update_actions()

    def _clear_tabs(self) -> None:
        while self.tabs.count():
            self.tabs.removeTab(0)
        self._prepared_for = None

    def _entries(self, kind: str) -> list[Entry]:
        page = self.pages[kind]
        out = []
        for index, run_id in enumerate(self._wanted()):
            run = self.runs.get(run_id)
            if run is None or kind not in analyses_for(run):
                continue
            key = (kind, run_id, options_key(page.options(run)))
            out.append(Entry(run, index, self.results.get(key), self.errors.get(key)))
        return out

    def _render(self, kind: str) -> None:
        if kind in self.pages and self.tabs.indexOf(self.pages[kind]) >= 0:
            self.pages[kind].render(self._entries(kind))
            self._update_actions()

    def _render_all(self) -> None:
        for k in range(self.tabs.count()):
            self._render(self.tabs.widget(k).kind)
        self._show_heading()

    def _show_heading(self) -> None:
        run = self.runs.get(self.primary)
        if run is None:
            return
        b = run.basis
        build = [f"{b.area_cm2:g} cm²" if b.area_cm2 else "area unknown"]
        if b.mass_mg:
            build.append(f"{b.mass_mg:.3g} mg active")
        if b.stack_mass_mg and b.thickness_um:
            build.append(f"stack {b.stack_mass_mg:.3g} mg, {b.thickness_um:.3g} µm")
        if not run.describes_cell:   # an import's placeholder: say so, and how to give the figures
            build.append(f"no cell described ({b.source}); link the run to a build or give its figures in the "
                         "Notebook tab")
        if b.interlayer_um:
            build.append(f"{b.interlayer} {b.interlayer_um:g} µm")
        skipped = [f"#{r}" for r in self.overlays if r in self.runs
                   and not set(analyses_for(self.runs[r])) & set(analyses_for(run))]
        overlay = ""
        if self.overlays:
            shown = [self.runs[r].label if r in self.runs else
                     f"#{r} (cannot be read: {self.errors.get((LOAD, r, ()), 'not read yet')})" for r in self.overlays]
            overlay = "<br>Compared with " + ", ".join(shown) + (
                f" ({', '.join(skipped)} shares no analysis with it)" if skipped else "")
        self.heading.setText(f"<b>{run.title}</b> — build #{run.build_id}: {', '.join(build)}{overlay}")

    def _page(self, kind: str) -> AnalysisPage:
        if kind not in self.pages or self.tabs.indexOf(self.pages[kind]) < 0:
            raise KeyError(f"no {ANALYSES.get(kind, kind)} page for the run shown")
        return self.pages[kind]

    # -- user actions --
    def _picked_run(self, index: int) -> None:
        run_id = self.run_picker.itemData(index)
        if run_id is not None and run_id != self.primary and self.path is not None:
            self.show_run(self.path, run_id)

    def _picked_overlay(self) -> None:
        run_id = self.overlay_picker.currentData()
        if run_id is not None and self.path is not None:
            self.add_overlay(self.path, run_id)

    def _update_actions(self) -> None:
        self.add_overlay_button.setEnabled(self.primary is not None and self.overlay_picker.currentData() is not None)
        self.clear_overlays.setEnabled(bool(self.overlays))
        self.export_button.setEnabled(self.current_kind() is not None)

    def _fill_export_menu(self) -> None:
        self.export_menu.clear()
        kind = self.current_kind()
        if kind is None:
            return
        page = self.pages[kind]
        for name in page.tables():
            self.export_menu.addAction(f"Table “{name}” as CSV…", lambda n=name: self._ask_and_export(kind, n, "table", ".csv"))
        self.export_menu.addSeparator()
        for name in page.plots:
            for suffix in (".png", ".svg"):
                self.export_menu.addAction(f"Plot “{name}” as {suffix[1:].upper()}…",
                                           lambda n=name, s=suffix: self._ask_and_export(kind, n, "plot", s))
        self.export_menu.addSeparator()
        self.export_menu.addAction("Everything on this page to a folder…", lambda: self._ask_and_export_page(kind))

    def _ask_and_export(self, kind: str, name: str, what: str, suffix: str) -> None:
        suggested = str(Path.home() / f"run{self.primary}-{kind}-{_slug(name)}{suffix}")
        filters = {".csv": "CSV (*.csv)", ".png": "PNG image (*.png)", ".svg": "SVG drawing (*.svg)"}
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, f"Export {name}", suggested, filters[suffix])
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        try:
            (self.export_table if what == "table" else self.export_plot)(kind, name, path)
        except (OSError, ValueError, KeyError) as exc:
            self.status.setText(f"Not exported: {exc}")
            return
        self.status.setText(f"Exported {path}")

    def _ask_and_export_page(self, kind: str) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, f"Export {ANALYSES[kind]} to a folder", str(Path.home()))
        if not folder:
            return
        try:
            written = self.export_page(kind, folder)
        except (OSError, ValueError, KeyError) as exc:
            self.status.setText(f"Not exported: {exc}")
            return
        self.status.setText(f"Exported {len(written)} files to {folder}")

    @staticmethod
    def _select(picker: QtWidgets.QComboBox, run_id: int | None) -> None:
        index = picker.findData(run_id) if run_id is not None else -1
        if index >= 0:
            picker.setCurrentIndex(index)


def _write_svg(item: pg.PlotItem, path: Path, title: str) -> None:
    """The plot as vector graphics through Qt's own SVG generator. pyqtgraph 0.14's
    SVGExporter fails on the path data Qt 6 writes (pyqtgraph issue #3485)."""
    if not path.parent.is_dir():
        raise OSError(f"folder {path.parent} does not exist")
    source = item.sceneBoundingRect()
    generator = QtSvg.QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(source.size().toSize())
    generator.setViewBox(QtCore.QRectF(QtCore.QPointF(0, 0), source.size()))
    generator.setTitle(title)
    generator.setResolution(item.getViewWidget().logicalDpiX())
    painter = QtGui.QPainter(generator)
    try:
        item.scene().render(painter, QtCore.QRectF(QtCore.QPointF(0, 0), source.size()), source)
    finally:
        painter.end()


def _path_of(notebook: Notebook | str | Path) -> Path:
    return notebook.path if isinstance(notebook, Notebook) else Path(notebook)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()

