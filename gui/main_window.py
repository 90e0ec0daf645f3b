"""The station's main window: the cell to run (summary of the build) and the run panel
on the left; the builder wizard, the live monitor and the analysis table as tabs on the
right; the notebook path in the status bar."""
from __future__ import annotations

import html
import platform
import sys

import PySide6
from PySide6 import QtCore, QtGui, QtWidgets

import resources
from acquisition.live import LiveBuffer
from acquisition.session import prepare_run
from cell.validation import errors
from gui.analysis_view import AnalysisView
from gui.app import app_icon, settings_path
from gui.bridge import EngineBridge
from gui.builder_summary import BuildSummary
from gui.builder_wizard import BuilderWizard
from gui.monitor import MonitorWidget
from gui.run_panel import RunPanel
from notebook import Notebook


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, notebook: Notebook):
        super().__init__()
        self.notebook = notebook
        self.session = None
        self.buffer: LiveBuffer | None = None
        self.setWindowTitle(f"{resources.APP_NAME} {resources.APP_VERSION} — simulated bench")
        self.setWindowIcon(app_icon())
        self.builder = BuilderWizard(notebook)
        self.build_summary = BuildSummary(self.builder)
        self.save_build = self.build_summary.save
        self.run_panel = RunPanel()
        self.monitor = MonitorWidget()
        self.analysis = AnalysisView()
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.addWidget(self.build_summary)
        left_layout.addWidget(self.run_panel)
        left_layout.addStretch(1)
        left.setMinimumWidth(360)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.builder, "Build")
        self.tabs.addTab(self.monitor, "Monitor")
        self.tabs.addTab(self.analysis, "Analysis")
        splitter = QtWidgets.QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(QtWidgets.QLabel(f"Notebook: {notebook.path}"))
        self.bridge = EngineBridge()
        self.bridge.event.connect(self._on_event)
        self.bridge.status.connect(self._on_status)
        self.save_build.clicked.connect(self.save_current_build)
        self.builder.saved.connect(self._on_build_saved)
        self.build_summary.edit.clicked.connect(lambda: self.tabs.setCurrentWidget(self.builder))
        self.run_panel.start.clicked.connect(self.start_run)
        self.run_panel.stop.clicked.connect(self.stop_run)
        self.monitor.banner.acknowledged.connect(self._acknowledge)
        self._analysis_timer = QtCore.QTimer(self, interval=1000)
        self._analysis_timer.timeout.connect(self._refresh_analysis)
        about = self.menuBar().addMenu("&Help").addAction("&About SolidStack")
        about.triggered.connect(self._about)
        if notebook.interrupted:
            self.set_status(f"Runs {notebook.interrupted} were left running by an earlier session and are now marked interrupted; their data is kept.")
        else:
            self.set_status("Ready.")
        self.resize(1280, 780)

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)

    # -- build --
    @property
    def last_build_id(self) -> int | None:
        """The saved build on screen; None once it is edited (an edited build is a new cell)."""
        return self.builder.saved_build_id

    def save_current_build(self) -> int | None:
        problems = errors(self.builder.issues())
        if problems:
            self.set_status("Not saved: " + "; ".join(p.message for p in problems))
            self.tabs.setCurrentWidget(self.builder)
        return self.builder.save()

    def _on_build_saved(self, build_id: int) -> None:
        self.set_status(f"Build #{build_id} saved: {self.builder.stack().describe()}")

    # -- run --
    def start_run(self) -> bool:
        if self.session is not None and self.session.engine.running:
            return False
        build_id = self.last_build_id or self.save_current_build()
        if build_id is None:
            return False
        self.buffer = LiveBuffer()
        try:
            self.session = prepare_run(self.notebook, self.builder.stack(), self.run_panel.protocol_value(),
                                       speed=self.run_panel.speed.currentData(), build_id=build_id,
                                       listeners=[self.buffer, self.bridge])
        except (ValueError, KeyError) as exc:
            self.set_status(f"Cannot start: {exc}")
            return False
        self.monitor.attach(self.buffer)
        self.run_panel.set_running(True)
        self.session.engine.start()
        self._analysis_timer.start()
        self.tabs.setCurrentWidget(self.monitor)
        return True

    def stop_run(self) -> None:
        if self.session is not None:
            self.session.engine.stop()

    def _on_status(self, status: str, message: str) -> None:
        engine = self.session.engine if self.session else None
        run = f"Run #{engine.run_id}" if engine else "Run"
        self.set_status(f"{run} {status}" + (f": {message}" if message else ""))
        if status != "running":
            self.run_panel.set_running(False)
            self.monitor.detach()
            self._analysis_timer.stop()
            self._refresh_analysis()
            if self.session is not None:
                self.session.engine.join(5)
                self.session.close()

    def _on_event(self, event: dict) -> None:
        self.monitor.mark_event(event["t_s"], event["kind"].replace("_", " "))
        if event["severity"] == "alarm":
            self.monitor.banner.raise_alarm(f"{event['message']} (run #{event['run_id']}, sample {event['sample_index']})")

    def _acknowledge(self) -> None:
        if self.session is not None and self.session.engine.run_id is not None:
            self.notebook.acknowledge_run(self.session.engine.run_id)

    def _refresh_analysis(self) -> None:
        if self.buffer is not None and len(self.buffer):
            self.analysis.show_samples(self.buffer.view())

    def _about(self) -> None:
        build = "Packaged build" if getattr(sys, "frozen", False) else "From source"
        details = [f"Notebook: {self.notebook.path}", f"Settings: {settings_path()}",
                   f"{build}: Python {platform.python_version()}, Qt {QtCore.qVersion()}, PySide6 {PySide6.__version__}"]
        # white-space: pre keeps each path on one line; the box widens to fit it
        QtWidgets.QMessageBox.about(self, f"About {resources.APP_NAME}", (
            f"<h3>{resources.APP_NAME} {resources.APP_VERSION}</h3>"
            "<p>Operator station for sheet-type all-solid-state Li&#8209;metal cells.</p>"
            f"<p style='white-space: pre'>{html.escape(chr(10).join(details))}</p>"))

    # -- shutdown: stop acquisition before widgets go away --
    def shutdown(self) -> None:
        if self.session is not None:
            self.session.engine.stop()
            self.session.engine.join(10)
            self.session.close()
            self.session = None
        self._analysis_timer.stop()
        self.monitor.detach()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
