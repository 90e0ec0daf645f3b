"""The station's main window: the cell to run (summary of the build) and the run panel
on the left (a drawer over the pages on a narrow window, gui/drawer.py); the builder
wizard, the protocol editor, the channel overview with the
selected channel's live monitor, and the analysis view as tabs on the right; the latched
alarm banner floats over the top of every tab's page (gui/alarm_overlay.py) and the
window comes to the front when an alarm arrives; the notebook path and the lab state
(gui/lab_status.py) in the status bar.
Runs go through a ChannelManager: up to 8 at once, one per channel.

Acknowledging an alarm records who (the session's operator) and when; alarms nobody
acknowledged are shown again at the next start. Closing the station while runs go or
alarms wait asks first, and the runs it stops are logged as "station closed"."""
from __future__ import annotations

import getpass
import html
import platform
import sys

import PySide6
from PySide6 import QtCore, QtGui, QtWidgets

import resources
from acquisition.channels import MAX_CHANNELS, STATION_CLOSED, ChannelManager
from acquisition.protocol import EisStep
from cell.validation import errors
from gui.analysis_view import AnalysisView
from gui.app import app_icon, settings_path
from gui.bridge import EngineBridge
from gui.browser import NotebookBrowser
from gui.builder_summary import BuildSummary
from gui.builder_wizard import BuilderWizard
from gui.alarm_overlay import AlarmBanner
from gui.confirm import ask
from gui.cycler_view import CyclerView
from gui.drawer import SideDrawer
from gui.lab_link import StationLink
from gui.lab_outcomes import add_outcomes_tab
from gui.lab_status import LabControls
from gui.layout import ElidedLabel, PageTabs, size_to_screen
from gui.monitor import MonitorFeed, MonitorWidget
from gui.overview import ChannelOverview, ChannelStatus
from gui.protocol_editor import ProtocolEditor
from gui.run_panel import RunPanel
from gui.scan import ScanDesk
from gui.settings import StationSettings
from gui import theme
from notebook import Notebook, NotebookError



class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, notebook: Notebook, settings: StationSettings | None = None):
        super().__init__()
        self.notebook = notebook
        self.settings = settings if settings is not None else StationSettings(parent=self)
        theme.install(self.settings)              # colours, font size and glove mode, live from here on
        self.manager = ChannelManager(notebook)
        self.channel = 1                           # the channel the monitor and run panel show
        self.feeds: dict[int, MonitorFeed] = {}    # per channel: its latest run as the monitor sees it
        self._shut_down = False                    # shutdown() ran: closing asks nothing more
        self.close_question = ""                  # what closing last asked about
        self.setWindowTitle(f"{resources.APP_NAME} {resources.APP_VERSION} — simulated bench")
        self.setWindowIcon(app_icon())
        self.builder = BuilderWizard(notebook, self.settings)
        self.build_summary = BuildSummary(self.builder)
        self.save_build = self.build_summary.save
        self.protocol_editor = ProtocolEditor()
        self.run_panel = RunPanel(self.protocol_editor, self.builder.stack, MAX_CHANNELS)
        self.monitor = MonitorWidget()
        self.overview = ChannelOverview(MAX_CHANNELS)
        self.monitor.layout().insertWidget(0, self.overview)   # all channels above the selected one's plots
        self.analysis = AnalysisView(notebook)
        left = QtWidgets.QWidget()
        left_layout = QtWidgets.QVBoxLayout(left)
        left_layout.addWidget(self.build_summary)
        left_layout.addWidget(self.run_panel)
        left_layout.addStretch(1)
        self.tabs = PageTabs()     # pages scroll rather than widen the window (gui/layout.py)
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
        self.cyclers = CyclerView(notebook)     # the lab's commercial cyclers, watched (gui/cycler_view.py)
        self.cyclers.operator = self.operator_name    # who linked a watched run to its build
        self.tabs.addTab(self.cyclers, "Cyclers")
        self.outcomes = add_outcomes_tab(self)    # the Outcomes tab; lab runs to Analysis and replay (gui/lab_outcomes.py)
        self.replays: list = []   # open replay windows, closed with the station
        splitter = QtWidgets.QSplitter()
        right = QtWidgets.QWidget()
        right_layout = QtWidgets.QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.tabs, 1)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        # the left panel: docked beside the tabs when wide, a drawer over them when narrow
        self.drawer = SideDrawer(self, left, splitter, self.tabs, footer=self.run_panel.actions)
        self.run_panel.start.clicked.connect(self.drawer.close_drawer)   # the run's page is next
        # status texts and the notebook path elide: a long message never widens the window
        self.status_label = ElidedLabel()
        self.statusBar().addWidget(self.status_label, 1)
        path_label = ElidedLabel(f"Notebook: {notebook.path}", mode=QtCore.Qt.TextElideMode.ElideMiddle, min_chars=16)
        path_label.setMaximumWidth(path_label.fontMetrics().horizontalAdvance(path_label.text()) + 8)
        self.statusBar().addPermanentWidget(path_label, 1)
        self.scan = ScanDesk(self)    # scan field, scanner, operator: gui/scan.py
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
        self.run_panel.stop_requested.connect(self.stop_run)     # asked and confirmed
        self.run_panel.channel.currentIndexChanged.connect(lambda: self.select_channel(self.run_panel.channel_index()))
        self.overview.selected.connect(self.select_channel)
        # Over the tabs' pages, in no layout: it never moves them (created once they are in place).
        self.banner = AlarmBanner(self, self.tabs, selected_channel=lambda: self.channel)
        self.banner.acknowledged.connect(self._acknowledge)
        self.banner.sound.note.connect(self.set_status)
        self.cyclers.alarm.connect(self._on_cycler_alarm)
        self.cyclers.note.connect(self.set_status)
        self.cyclers.is_latched = lambda run_id: run_id in self.banner.latched
        self.cyclers.follow_banner(self.banner)     # its alarm tiles stay clear of the banner
        # The overview follows the runs a few times a second; the selected channel's
        # plots redraw at 40 Hz.
        self._channels_timer = QtCore.QTimer(self, interval=250)
        self._channels_timer.timeout.connect(self.refresh_channels)
        self._channels_timer.start()
        self.menuBar().addMenu(theme.view_menu(self.settings, self))
        self.menuBar().addMenu(self.cyclers.menu(self))
        # the lab store: the sync worker's thread, its state in the status bar, the Lab menu (gui/lab_status.py)
        self.lab = StationLink(notebook)
        self.lab_controls = LabControls(self, self.lab)
        self.lab.start()
        self.cyclers.show_me.connect(lambda: self.tabs.setCurrentWidget(self.cyclers))
        # glove mode: a page built since the last theme change gets its large rows and drag-scrolling
        self.tabs.currentChanged.connect(lambda _index: theme.adapt_tree(self.tabs.currentWidget()))
        about = self.menuBar().addMenu("&Help").addAction("&About SolidStack")
        about.triggered.connect(self._about)
        self._restore_alarms()      # first: what the status bar says next is more pressing than the sound's note
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
        self.size_to_screen()

    def size_to_screen(self) -> None:
        size_to_screen(self)      # gui/layout.py: 1440x900 within the screen, else maximised

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
        if self.banner.channel_latched(index):
            # A new run must not bury an alarm nobody has seen.
            self.set_status(f"Acknowledge the alarm on channel {index} before starting another run there.")
            return False
        if errors(self.builder.issues()):
            self.save_current_build()       # refused, with the problems shown at their fields
            return False
        # A build not saved yet is saved by prepare_run, after its checks: a protocol that
        # does not fit the cell leaves no build behind.
        build_id = self.last_build_id
        try:
            stack = self.builder.stack_to_save()     # a cell id by the lab's pattern if it has none
            protocol = self.run_panel.protocol_value()
            session = self.manager.start(index, stack, protocol, speed=self.run_panel.speed.currentData(),
                                         seed=index - 1,   # cells on different channels are not identical
                                         listeners=[self.bridges[index]], build_id=build_id,
                                         detector_overrides=self.run_panel.detector_overrides or None,
                                         on_trip=self.run_panel.on_trip.currentData(),
                                         impedance=self.run_panel.impedance.currentData())
        except (ValueError, KeyError, NotebookError) as exc:
            self.set_status(f"Cannot start on channel {index}: {exc}")
            return False
        if build_id is None:
            self.builder.adopt(session.build_id, stack)
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
                acknowledged=not self.banner.channel_latched(channel.index), current_a=summary["current_a"]))
        self.overview.update_channels(statuses)

    def _on_status(self, index: int, status: str, message: str) -> None:
        session = self.manager.channel(index).session
        engine = session.engine if session else None
        run = f"run #{engine.run_id}" if engine else "run"
        self.set_status(f"Channel {index}, {run} {status}" + (f": {message}" if message else ""))
        feed = self.feeds.get(index)
        if feed is not None and engine is not None:
            feed.state, feed.title = status, self._run_title(index, engine)   # the run has its number now
            feed.output = self.manager.channel(index).output     # on, off (made safe) or unknown
        if status not in ("running", "paused") and engine is not None:
            engine.join(5)        # it is ending: the channel is free once its thread is done
            self.analysis.refresh_runs()   # the pickers show its stored status, whichever channel it ran on
        if index == self.channel:
            self.run_panel.set_state(status)
            self.monitor.redraw()
            if status not in ("running", "paused") and engine is not None and engine.run_id is not None:
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
            if index in self.feeds:
                self.feeds[index].output = self.manager.channel(index).output   # off after a trip
            self.banner.raise_alarm(event["run_id"], index, f"{event['message']} (sample {event['sample_index']})")
            self.bring_to_front()
            self.refresh_channels()
            if index == self.channel:
                self.monitor.redraw()

    def _on_cycler_alarm(self, run_id: int, text: str) -> None:
        """A watched cycler channel's alarm, its stop request or the cycler's answer: latched by run."""
        self.banner.raise_alarm(run_id, None, text)
        self.bring_to_front()

    def bring_to_front(self) -> None:
        """An alarm: the window is shown, un-minimised, raised and activated (and flashes
        in the task bar where the window manager refuses to hand over the focus)."""
        if self.isMinimized():
            self.setWindowState(self.windowState() & ~QtCore.Qt.WindowState.WindowMinimized)
        self.show()
        self.raise_()
        self.activateWindow()
        QtWidgets.QApplication.alert(self)

    def operator_name(self) -> str:
        """Who acknowledges: the session's operator; else the computer's login, said to be one."""
        name = str(self.settings.value("operator")).strip()
        if name:
            return name
        try:
            return f"unknown operator (login {getpass.getuser()})"
        except (OSError, KeyError):      # no login name to be had (a service account, a container)
            return "unknown operator"

    def _acknowledge(self, run_id: int, channel: int | None) -> None:
        where = f"channel {channel} (run #{run_id})" if channel is not None else f"run #{run_id}"
        by = self.operator_name()
        try:
            self.notebook.acknowledge_alarms(run_id, by)
        except NotebookError as exc:
            self.set_status(f"Alarm on {where} acknowledged here, but not recorded: {exc}")
        else:
            self.set_status(f"Alarm on {where} acknowledged by {by}.")
        self.refresh_channels()

    def _restore_alarms(self) -> None:
        """Alarms an earlier session left unacknowledged are latched again."""
        if self.notebook.read_only:
            return       # a viewer of the notebook, not the station: it could not record an acknowledgement
        for alarm in self.notebook.unacknowledged_alarms():
            self.banner.raise_alarm(alarm["run_id"], None, f"{alarm['message']} (sample {alarm['sample_index']})",
                                    at="earlier session")

    def replay_run(self, run_id: int) -> None:
        """A run opened from the notebook browser for replay, in its own window, on its own
        read-only connection: a replay never writes."""
        from gui.replay_window import ReplayWindow
        reader = Notebook(self.notebook.path, read_only=True)
        window = ReplayWindow(reader, run_id, speed=1000.0, settings=self.settings)
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
        self._shut_down = True
        self._channels_timer.stop()
        self.banner.sound.stop()
        self.manager.shutdown(reason=STATION_CLOSED)   # every run ends with its source safe, logged as closed
        self.cyclers.shutdown()       # the watched runs close; the cyclers' tests go on
        for window, reader in self.replays:
            window.shutdown()
            window.close()
            window.deleteLater()
            reader.close()
        self.replays.clear()
        self.monitor.detach()
        self.analysis.shutdown()
        self.lab_controls.shutdown()    # the sync thread ends before the notebook closes, waiting seconds at most
        if self.browser.lab is not None:
            self.browser.lab.close_reader()     # the Lab scope's connection (closed on a thread of its own)

    def confirm_close(self) -> bool:
        """True if nothing is going and no alarm waits, or the operator says close anyway."""
        running = [f"Channel {c.index}: run #{c.session.engine.run_id} ({c.state})" for c in self.manager.running()]
        alarms = [f"{a.where}{'' if a.channel is None else f' (run #{a.run_id})'}: {a.message}"
                  for a in self.banner.ordered()]
        if not running and not alarms:
            return True
        parts = []
        if running:
            parts.append("Runs going — closing stops them, with the source switched off, logged as "
                         f"\"{STATION_CLOSED}\":\n" + "\n".join(running))
        if alarms:
            parts.append("Alarms not acknowledged — they stay in the notebook and are shown again at the next "
                         "start:\n" + "\n".join(alarms))
        self.close_question = "\n\n".join(parts)
        return ask(self, "Close the station?", "Close the station?", "Close the station", "Cancel",
                   self.close_question)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._shut_down and not self.confirm_close():
            event.ignore()              # the station stays open, its runs going
            return
        self.shutdown()
        super().closeEvent(event)
