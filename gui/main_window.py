"""The station's main window: the cell to run (summary of the build) and the run panel
on the left; the builder wizard, the protocol editor, the channel overview with the
selected channel's live monitor, and the analysis view as tabs on the right, under the
latched alarm banner (visible from every tab); the notebook path in the status bar.
Runs go through a ChannelManager: up to 8 at once, one per channel."""
from __future__ import annotations

import html
import platform
import sys

import PySide6
from PySide6 import QtCore, QtGui, QtWidgets

import resources
from acquisition.channels import MAX_CHANNELS, ChannelManager
from acquisition.protocol import EisStep
from cell.validation import errors
from gui.analysis_view import AnalysisView
from gui.app import app_icon, settings_path
from gui.bridge import EngineBridge
from gui.browser import NotebookBrowser
from gui.builder_summary import BuildSummary
from gui.builder_wizard import BuilderWizard
from gui.monitor import AlarmBanner, MonitorFeed, MonitorWidget
from gui.overview import ChannelOverview, ChannelStatus
from gui.protocol_editor import ProtocolEditor
from gui.run_panel import RunPanel
from notebook import Notebook, NotebookError


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, notebook: Notebook):
        super().__init__()
        self.notebook = notebook
        self.manager = ChannelManager(notebook)
        self.channel = 1                           # the channel the monitor and run panel show
        self.feeds: dict[int, MonitorFeed] = {}    # per channel: its latest run as the monitor sees it
        self._alarm_runs: dict[int, int] = {}      # latched alarm's channel -> its run
        self.setWindowTitle(f"{resources.APP_NAME} {resources.APP_VERSION} — simulated bench")
        self.setWindowIcon(app_icon())
        self.builder = BuilderWizard(notebook)
        self.build_summary = BuildSummary(self.builder)
        self.save_build = self.build_summary.save
        self.protocol_editor = ProtocolEditor()
        self.run_panel = RunPanel(self.protocol_editor, self.builder.stack, MAX_CHANNELS)
        self.monitor = MonitorWidget()
        self.overview = ChannelOverview(MAX_CHANNELS)
        self.monitor.layout().insertWidget(0, self.overview)   # all channels above the selected one's plots
        self.banner = AlarmBanner()
        self.analysis = AnalysisView(notebook)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.addWidget(self.build_summary)
        left_layout.addWidget(self.run_panel)
        left_layout.addStretch(1)
        left.setMinimumWidth(360)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.builder, "Build")
        self.tabs.addTab(self.protocol_editor, "Protocol")
        self.tabs.addTab(self.monitor, "Monitor")
        self.tabs.addTab(self.analysis, "Analysis")
        self._analysis_pending: int | None = None     # a finished run to open once the tab is shown
        self.tabs.currentChanged.connect(self._on_tab)
        self.browser = NotebookBrowser(notebook)
        self.tabs.addTab(self.browser, "Notebook")
        self.browser.analysis_requested.connect(self.analyse_run)
        self.browser.replay_requested.connect(self.replay_run)
        self.replays: list = []   # open replay windows, closed with the station
        splitter = QtWidgets.QSplitter()
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.tabs, 1)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        self.status_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(QtWidgets.QLabel(f"Notebook: {notebook.path}"))
        self.bridges = {k: EngineBridge(k, self) for k in range(1, MAX_CHANNELS + 1)}
        for bridge in self.bridges.values():
            bridge.event.connect(self._on_event)
            bridge.status.connect(self._on_status)
        self.save_build.clicked.connect(self.save_current_build)
        self.builder.saved.connect(self._on_build_saved)
        self.build_summary.edit.clicked.connect(lambda: self.tabs.setCurrentWidget(self.builder))
        self.builder.changed.connect(self.run_panel.refresh)
        self.run_panel.edit_protocol.connect(lambda: self.tabs.setCurrentWidget(self.protocol_editor))
        self.run_panel.start.clicked.connect(self.start_run)
        self.run_panel.pause.clicked.connect(self.pause_or_resume)
        self.run_panel.stop.clicked.connect(self.stop_run)
        self.run_panel.channel.currentIndexChanged.connect(lambda: self.select_channel(self.run_panel.channel_index()))
        self.overview.selected.connect(self.select_channel)
        self.banner.acknowledged.connect(self._acknowledge)
        # The overview follows the runs a few times a second; the selected channel's
        # plots redraw at 40 Hz.
        self._channels_timer = QtCore.QTimer(self, interval=250)
        self._channels_timer.timeout.connect(self.refresh_channels)
        self._channels_timer.start()
        about = self.menuBar().addMenu("&Help").addAction("&About SolidStack")
        about.triggered.connect(self._about)
        if notebook.interrupted:
            # A crash or power cut left these running: say so, and open them for a look.
            self.set_status(f"Runs {notebook.interrupted} were left running by an earlier session and are now marked "
                            "interrupted; their data is kept. They are selected in the Notebook tab.")
            self.browser.refresh()
            self.browser.select_runs(list(notebook.interrupted))
            self.tabs.setCurrentWidget(self.browser)
        elif notebook.live_elsewhere:
            self.set_status(f"Runs {notebook.live_elsewhere} are being written by another SolidStack on this notebook "
                            "right now; they are left as they are.")
        elif notebook.read_only:
            self.set_status(f"{notebook.path} is open read-only: browse, analyse, replay and export; nothing is changed."
                            + (f" Note: {notebook.notice}." if notebook.notice else ""))
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
    @property
    def session(self):
        """The selected channel's run (running or finished), or None."""
        return self.manager.channel(self.channel).session

    def start_run(self) -> bool:
        """Start the run panel's protocol on its channel, with the cell in the builder."""
        index = self.run_panel.channel_index()
        channel = self.manager.channel(index)
        if channel.busy:
            self.set_status(f"Channel {index} is busy with run #{channel.session.engine.run_id}: stop it first.")
            return False
        if index in self.banner.latched:
            # A new run must not bury an alarm nobody has seen.
            self.set_status(f"Acknowledge the alarm on channel {index} before starting another run there.")
            return False
        build_id = self.last_build_id or self.save_current_build()
        if build_id is None:
            return False
        stack = self.builder.stack()
        try:
            protocol = self.run_panel.protocol_value()
            session = self.manager.start(index, stack, protocol, speed=self.run_panel.speed.currentData(),
                                         seed=index - 1,   # cells on different channels are not identical
                                         listeners=[self.bridges[index]], build_id=build_id,
                                         detector_overrides=self.run_panel.detector_overrides or None,
                                         on_trip=self.run_panel.on_trip.currentData())
        except (ValueError, KeyError) as exc:
            self.set_status(f"Cannot start on channel {index}: {exc}")
            return False
        engine = session.engine
        self.feeds[index] = MonitorFeed(
            channel.buffer, title=self._run_title(index, engine), progress=engine.progress, state="running",
            expects_eis=any(isinstance(step, EisStep) for step in protocol.expand(stack)),
            history=lambda start, stop, run_id=engine.run_id: self.notebook.sample_range(run_id, start, stop))
        self.select_channel(index)
        self.run_panel.set_state("running")
        self.analysis.refresh_runs()    # the running run can be analysed as far as it has got
        self.tabs.setCurrentWidget(self.monitor)
        self.refresh_channels()
        return True

    def stop_run(self) -> None:
        if self.session is not None:
            self.manager.stop(self.channel)

    def pause_or_resume(self) -> None:
        if self.session is None:
            return
        if self.session.engine.status == "paused":
            self.manager.resume(self.channel)
        else:
            self.manager.pause(self.channel)

    def select_channel(self, index: int) -> None:
        """Show channel `index` in the monitor and the run panel."""
        self.channel = index
        with QtCore.QSignalBlocker(self.overview):
            self.overview.select(index)
        with QtCore.QSignalBlocker(self.run_panel.channel):
            self.run_panel.channel.setCurrentIndex(self.run_panel.channel.findData(index))
        session = self.manager.channel(index).session
        self.run_panel.set_state(session.engine.status if session else "idle")
        if index in self.feeds:
            self.monitor.attach(self.feeds[index])
        else:
            self.monitor.show_idle(f"Channel {index}: no run yet. Choose a protocol and start one.")

    def refresh_channels(self) -> None:
        """The overview's tiles and the run panel's state."""
        statuses = []
        for channel in self.manager.channels:
            summary = channel.summary()
            if channel.index == self.channel:
                self.run_panel.set_state(summary["state"])   # the buttons agree with the tile, whichever is first
            statuses.append(ChannelStatus(
                channel.index, summary["state"],
                f"run #{summary['run_id']} · {summary['cell']}" if summary["run_id"] else summary["cell"],
                summary["cycle"], summary["voltage_v"], summary["alarm"],
                acknowledged=channel.index not in self.banner.latched))
        self.overview.update_channels(statuses)

    def _on_status(self, index: int, status: str, message: str) -> None:
        session = self.manager.channel(index).session
        engine = session.engine if session else None
        run = f"run #{engine.run_id}" if engine else "run"
        self.set_status(f"Channel {index}, {run} {status}" + (f": {message}" if message else ""))
        feed = self.feeds.get(index)
        if feed is not None and engine is not None:
            feed.state, feed.title = status, self._run_title(index, engine)   # the run has its number now
        if status not in ("running", "paused") and engine is not None:
            engine.join(5)        # it is ending: the channel is free once its thread is done
        if index == self.channel:
            self.run_panel.set_state(status)
            self.monitor.redraw()
            if status not in ("running", "paused") and engine is not None and engine.run_id is not None:
                self.analysis.refresh_runs()
                self._analyse_when_shown(engine.run_id)   # the run just finished
        self.refresh_channels()

    def _analyse_when_shown(self, run_id: int) -> None:
        """Open `run_id` in the analysis view now if it is on screen, else when it is
        next shown: it computes on its own thread but builds its pages on this one (tens
        of ms that the other tabs need not wait for while runs are going)."""
        self._analysis_pending = run_id
        self._on_tab()

    def _on_tab(self) -> None:
        if self._analysis_pending is not None and self.tabs.currentWidget() is self.analysis:
            run_id, self._analysis_pending = self._analysis_pending, None
            self.analysis.show_run(self.notebook, run_id)

    @staticmethod
    def _run_title(index: int, engine) -> str:
        run = f"run #{engine.run_id}" if engine.run_id is not None else "new run"
        return (f"Channel {index} · {run} · {engine.stack.describe()} · "
                f"{engine.protocol.name} v{engine.protocol.version}")

    def _on_event(self, index: int, event: dict) -> None:
        label = event["kind"].replace("_", " ")
        if index == self.channel:
            self.monitor.mark_event(event["t_s"], label)
        elif index in self.feeds:
            self.feeds[index].events.append((event["t_s"], label))
        if event["severity"] == "alarm":
            self._alarm_runs[index] = event["run_id"]
            self.banner.raise_alarm(index, f"{event['message']} (run #{event['run_id']}, sample {event['sample_index']})")
            self.refresh_channels()

    def _acknowledge(self, channels: list[int]) -> None:
        for index in channels:
            run_id = self._alarm_runs.pop(index, None)
            if run_id is not None:
                try:
                    self.notebook.acknowledge_run(run_id)
                except NotebookError as exc:
                    self.set_status(f"Alarm on channel {index} acknowledged here, but not recorded: {exc}")
        self.refresh_channels()

    def replay_run(self, run_id: int) -> None:
        """A run opened from the notebook browser for replay, in its own window, on its own
        read-only connection: a replay never writes."""
        from gui.replay_window import ReplayWindow
        reader = Notebook(self.notebook.path, read_only=True)
        window = ReplayWindow(reader, run_id, speed=1000.0)
        self.replays.append((window, reader))
        window.show()

    def analyse_run(self, run_id: int) -> None:
        """A run opened from the notebook browser: the analysis view takes it."""
        self._analysis_pending = None       # the operator's choice, not the last run to finish
        self.analysis.show_run(self.notebook, run_id)
        self.tabs.setCurrentWidget(self.analysis)

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
        self._channels_timer.stop()
        self.manager.shutdown()         # every run ends with its source safe
        for window, reader in self.replays:
            window.shutdown()
            window.close()
            window.deleteLater()
            reader.close()
        self.replays.clear()
        self.monitor.detach()
        self.analysis.shutdown()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
