"""The desk station (`python main.py --lab URL`): a window for reading the lab store from a
desk, with no instruments, no channels and no station notebook. Its tabs:
- Lab: the Notebook browser's Lab scope (gui/lab_scope.py), every station's builds and runs;
- Analysis: the analysis view (gui/analysis_view.py) on runs fetched from the lab into a
  local cache notebook (lab/fetch.py), so the same analysis code serves lab runs;
- Outcomes: each run's outcome set against its build, across the lab (gui/outcomes_view.py).
The status bar shows whether the store answers ("lab: connected", "lab: offline since HH:MM"),
from a probe on its own thread that keeps retrying; the window opens whether or not the server
is up. The URL is only held in memory: nothing is stored, and a URL with a password is refused.

A separate window rather than a MainWindow option: the station's window is built around
its channels and run panel, and a desk needs none of them, only the same reading widgets."""
from __future__ import annotations

import html
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

import resources
from gui import theme
from gui.analysis_view import AnalysisView
from gui.app import app_icon
from gui.lab_link import LabProbe
from gui.lab_status import LabControls
from gui.lab_tasks import LabTasks
from gui.layout import ElidedLabel, PageTabs, size_to_screen
from gui.settings import StationSettings
from lab.connection import check_no_password, describe, redact
from notebook import Notebook



class DeskWindow(QtWidgets.QMainWindow):
    def __init__(self, url: str, cache: Path | None = None, settings: StationSettings | None = None):
        check_no_password(url)           # LabError: a password in the URL is never taken, even in memory
        super().__init__()
        self.url = url
        self.settings = settings if settings is not None else StationSettings(parent=self)
        theme.install(self.settings)
        self.setWindowTitle(f"{resources.APP_NAME} {resources.APP_VERSION} — desk station · lab {describe(url)}")
        self.setWindowIcon(app_icon())
        self.tasks = LabTasks(self)           # the outcomes' query runs off the GUI thread
        self._outcomes_asked = False
        self.replays: list = []               # (window, reader) of open replays

        from gui.lab_scope import LabScope
        from gui.outcomes_view import OutcomesView
        self.lab_scope = LabScope(url, self, cache=cache)
        self.cache = self.lab_scope.cache
        self.analysis = AnalysisView()
        self.outcomes = OutcomesView(self)
        self.tabs = PageTabs()
        self.tabs.addTab(self.lab_scope, "Lab")
        self.tabs.addTab(self.analysis, "Analysis")
        self.tabs.addTab(self.outcomes, "Outcomes")
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(lambda _index: theme.adapt_tree(self.tabs.currentWidget()))
        self._wire()

        self.status_label = ElidedLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.probe = LabProbe(url)
        self.menuBar().addMenu(theme.view_menu(self.settings, self))
        self.lab_controls = LabControls(self, self.probe)
        self.lab_controls.menu.addSeparator()
        self.lab_controls.menu.addAction("Re&fresh the lab's runs").triggered.connect(self.refresh)
        self.lab_controls.menu.addAction("&Open the fetched runs' folder").triggered.connect(self._open_cache_folder)
        about = self.menuBar().addMenu("&Help").addAction("&About SolidStack")
        about.triggered.connect(self._about)
        self.probe.start()     # the Lab scope asks the lab itself when first shown, on its thread
        # the server back after being away (or the first query failed): read the lab again
        self._lab_state = self.probe.text()
        self._scope_loaded = False
        self.lab_scope.loaded.connect(lambda: setattr(self, "_scope_loaded", True))
        self._follow = QtCore.QTimer(self, interval=1000)
        self._follow.timeout.connect(self._follow_probe)
        self._follow.start()
        if self.cache.exists():
            self.analysis.refresh_runs(self.cache)      # runs fetched in earlier sessions
        self.set_status(f"Desk station: reading the lab store at {redact(url)}. Runs opened for analysis or "
                        f"replay are fetched into {self.cache}.")
        self.size_to_screen()

    def _wire(self) -> None:
        """The Lab scope fetches a lab run into its cache notebook and asks for it to be
        analysed or replayed there; runs picked in Outcomes are selected in the Lab scope."""
        self.lab_scope.analysis_requested.connect(self.analyse_run)
        self.lab_scope.replay_requested.connect(self.replay_run)
        self.outcomes.runs_selected.connect(self.lab_scope.select_uuids)
        self.tabs.currentChanged.connect(lambda _index: self._on_tab())

    def size_to_screen(self) -> None:
        size_to_screen(self)      # gui/layout.py: 1440x900 within the screen, else maximised

    def refresh(self, wake_probe: bool = True) -> None:
        """Read the lab's runs again (Lab scope, and Outcomes once shown)."""
        self.lab_scope.refresh()
        if self._outcomes_asked:
            self.refresh_outcomes()
        if wake_probe:
            self.probe.wake()

    def _follow_probe(self) -> None:
        text = self.probe.text()
        if text == "lab: connected" and text != self._lab_state and (
                self._lab_state.startswith("lab: offline") or not self._scope_loaded):
            self.set_status("The lab store answers again: its runs are read afresh.")
            self.refresh(wake_probe=False)
        self._lab_state = text

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    # -- lab runs fetched into the cache (by the Lab scope), shown by the station's own views --
    def analyse_run(self, path: str, run_id: int) -> None:
        self.analysis.refresh_runs(path)
        self.analysis.show_run(path, run_id)
        self.tabs.setCurrentWidget(self.analysis)

    def replay_run(self, path: str, run_id: int) -> None:
        """A fetched run played back in its own window, on its own read-only connection."""
        from gui.replay_window import ReplayWindow
        reader = Notebook(path, read_only=True)
        window = ReplayWindow(reader, run_id, speed=1000.0, settings=self.settings)
        self.replays.append((window, reader))
        window.show()

    # -- outcomes: every run of the lab, read on a thread when the tab is first shown or refreshed --
    def refresh_outcomes(self) -> None:
        from gui.lab_outcomes import lab_rows
        self._outcomes_asked = True
        self.tasks.run("outcomes", lambda _report: lab_rows(self.url), self.outcomes.set_rows,
                       lambda text: self.set_status(f"Outcomes: the lab could not be read: {text}"))

    def _on_tab(self) -> None:
        if self.tabs.currentWidget() is self.outcomes and not self._outcomes_asked:
            self.refresh_outcomes()

    def _open_cache_folder(self) -> None:
        QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(self.cache.parent)))

    def _about(self) -> None:
        QtWidgets.QMessageBox.about(self, f"About {resources.APP_NAME}", (
            f"<h3>{resources.APP_NAME} {resources.APP_VERSION}: desk station</h3>"
            f"<p style='white-space: pre'>{html.escape(chr(10).join([f'Lab store: {redact(self.url)}', f'Fetched runs: {self.cache}']))}</p>"))

    # -- shutdown: threads first, then widgets; a close waits seconds at most on the network --
    def shutdown(self) -> None:
        self._follow.stop()
        self.lab_controls.shutdown()
        self.lab_scope.close_reader()      # on a thread of its own: closing may wait on the network
        for window, reader in self.replays:
            window.shutdown()
            window.close()
            window.deleteLater()
            reader.close()
        self.replays.clear()
        self.analysis.shutdown()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
