"""The Cyclers tab: every channel of the lab's commercial cyclers that this station
watches, as a compact grid of tiles (64 and more, in a scroll area), filtered by alarm,
running state and cycler, sorted with alarms first; the selected tile's run in the same
live monitor as any run (gui/monitor.py), fed from the watch through a LiveBuffer.

Each cycler is watched by an acquisition.cycler_watch.CyclerWatch on its own thread,
never the GUI's: its per-run listener callbacks (on the watch thread) extend the
channel's LiveBuffer there and reach the widgets only as queued Qt signals, as
gui/bridge.py does for the engine. Alarms, the stop request and the cycler's answer (or
that the cycler keeps running) go out as `alarm(run_id, text)` for the station's latched
banner; a lost connection shows on the tile as "reconnecting", never as an alarm.

"Add simulated Neware unit" serves an emulated Neware BTS in-process on a free port of
127.0.0.1, with 8 of the paper's cells behind it (one of them shorting), and watches it.
"""
from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Callable

import numpy as np
from PySide6 import QtCore, QtWidgets

from acquisition.cycler_watch import ChannelWatch, CyclerWatch, WatchSettings
from acquisition.live import LiveBuffer
from gui import theme
from gui.build_picker import BuildPickerDialog
from gui.layout import ElidedLabel, FlowLayout
from gui.monitor import MonitorFeed, MonitorWidget
from gui.overview import si_text
from instruments.cyclers import PROTOCOLS, CyclerError, client_for, parse_host
from instruments.cyclers.base import ChannelInfo
from notebook import Notebook, NotebookError
from notebook.basis import cell_builds, link_build
from notebook.rows import insert_event

TILE_MIN_PX = 112            # 8 tiles a row in the ~950 px a 1280 px window leaves the tabs
LIVE_KEEP = 1 << 12          # raw samples kept per channel: 64 channels in a few MB; older views come from the notebook
REFRESH_MS = 500             # tiles follow the watches twice a second (the cyclers are polled once a second)
TIMEOUT_S = 10.0
# What the demo unit serves: the paper's cells, the bare full cell shorting on its first charge.
DEMO_CELLS = "sym-agc,full-agc,sym-agc,full-bare,full-agc,sym-agc,full-agc,sym-agc"
DEMO_SPEED = 1800.0          # half an hour a second: the bare cell shorts 3 to 9 h into its test, 6 to 18 s after adding
DEMO_INTERVAL_S = 10.0
STOP_KINDS = ("cycler_stop_request", "cycler_stop_answer", "cycler_stop_failed", "cycler_no_stop")


def amps_text(value: float) -> str:
    """3 significant figures with a prefix, short enough for a tile: '-533 µA'."""
    if not math.isfinite(value):
        return "— A"
    return si_text(float(f"{value:.3g}"), "A")


def volts_text(value: float) -> str:
    """A full cell's volts to the mV, a Li | Li cell's millivolts: '3.715 V', '-1.2 mV'."""
    if abs(value) >= 0.1:
        return f"{value:.3f} V"
    millivolts = round(value * 1e3, 1)
    return f"{millivolts + 0.0:.1f} mV"      # + 0.0: never "-0.0 mV"


class WatchBridge(QtCore.QObject):
    """The watch thread's news as queued signals: each carries the channel's ChannelFeed."""
    event = QtCore.Signal(object, dict)
    status = QtCore.Signal(object, str, str)
    failed = QtCore.Signal(str)                 # the watch could not start or ended on an error


class ChannelFeed:
    """One watched channel as the station sees it: the RunListener the watch calls (on
    its thread), the live buffer the monitor draws, and the figures its tile shows."""

    def __init__(self, cycler: "WatchedCycler", info: ChannelInfo, bridge: WatchBridge,
                 history: Callable[["ChannelFeed", int, int], np.ndarray]):
        self.cycler, self.info, self.bridge = cycler, info, bridge
        self.key = f"{cycler.name}/{info.key}"
        self.buffer = LiveBuffer(keep=LIVE_KEEP)
        self.run_id: int | None = None
        self.latest: tuple[float, float, int] | None = None     # V, A, cycle of the newest sample
        self.status = "running"       # the run's: running, then completed/aborted/shorted/failed
        self.offline = False          # the connection is lost; the watch reconnects
        self.alarm: str | None = None
        self.stop_note = ""           # what became of the stop: asked, the answer, or keeps running
        self.build_cell = ""          # the cell id of the saved build the operator linked the run to
        self.monitor = MonitorFeed(self.buffer, title=self.title(), progress=None, state="running",
                                   history=lambda start, stop: history(self, start, stop))

    def title(self) -> str:
        run = f"run #{self.run_id}" if self.run_id is not None else "new run"
        test = self.info.barcode or self.info.test_name or "test"
        return f"{self.cycler.name} · {self.info.label} · {run} · {test}"

    # -- RunListener, called on the watch thread --
    def on_batch(self, samples: np.ndarray) -> None:
        self.buffer.append(samples)
        last = samples[-1]
        self.latest = (float(last["voltage"]), float(last["current"]), int(last["cycle"]))

    def on_event(self, event: dict) -> None:
        if event["run_id"] is not None:
            self.run_id = event["run_id"]
        kind = event["kind"]
        if kind == "cycler_disconnected":
            self.offline = True
        elif kind == "cycler_reconnected":
            self.offline = False
        self.bridge.event.emit(self, event)

    def on_status(self, status: str, message: str) -> None:
        self.status = status
        self.bridge.status.emit(self, status, message)

    def on_spectrum(self, spectrum: dict) -> None:
        pass    # a cycler measures no impedance

    # -- read by the tile, on the GUI thread --
    @property
    def channel_watch(self) -> ChannelWatch | None:
        return next((ch for ch in self.cycler.watch.channels if ch.info.key == self.info.key), None)

    @property
    def state(self) -> str:
        """What the tile says: reconnecting, the run's end, or the cycler's own state."""
        if self.offline and self.status == "running":
            return "reconnecting"
        if self.status != "running":
            return self.status
        ch = self.channel_watch
        return ch.state if ch is not None else "running"

    @property
    def running(self) -> bool:
        return self.status == "running"


class WatchedCycler:
    """One cycler watched on its own thread; `server`: the emulator behind it, if any,
    closed with it."""

    def __init__(self, view: "CyclerView", protocol: str, host: str, port: int, settings: WatchSettings,
                 server=None):
        self.protocol, self.host, self.port, self.server = protocol, host, port, server
        self.name = f"{protocol} {host}:{port}"
        same = sum(c.protocol == protocol for c in view.cyclers)
        self.tag = f"{protocol.capitalize()} {same + 1}"      # "Neware 2": short enough for a tile
        self.feeds: list[ChannelFeed] = []
        self.error = ""
        self.bridge = WatchBridge()
        client = client_for(protocol, host, port, timeout_s=TIMEOUT_S)
        self.watch = CyclerWatch(view.notebook_path, client, settings, listeners_for=self._listener)
        self._history = view.history
        self.thread = threading.Thread(target=self._run, name=f"watch {self.name}", daemon=True)

    def _listener(self, info: ChannelInfo) -> list:
        feed = ChannelFeed(self, info, self.bridge, self._history)
        self.feeds.append(feed)       # the GUI's timer makes its tile
        return [feed]

    def _run(self) -> None:
        try:
            self.watch.run()
        except (CyclerError, NotebookError, OSError) as exc:
            # a CyclerError names protocol, host and command already; a notebook error names the notebook
            self.error = str(exc) if isinstance(exc, CyclerError) else f"{self.name}: {exc}"
            self.bridge.failed.emit(self.error)

    def start(self) -> None:
        self.thread.start()

    def request_stop(self) -> None:
        self.watch.stop("watching stopped: the station closed")

    def finish(self) -> None:
        """Wait for the watch to close its runs (a request in flight ends within the
        client's timeout), then close the connection and any emulator behind it."""
        self.thread.join(TIMEOUT_S + 5)
        self.watch.client.close()
        if self.server is not None:
            self.server.close()
            self.server = None


class CyclerTile(QtWidgets.QFrame):
    """One channel: cycler, unit and channel; cell or test; state; V and I; cycle; alarm.
    Its context menu links the channel's run to a saved build (`link_requested`)."""
    clicked = QtCore.Signal(object)
    link_requested = QtCore.Signal(object)

    def __init__(self, feed: ChannelFeed, parent=None):
        super().__init__(parent)
        self.feed = feed
        self.setObjectName("cyclerTile")
        self.setCursor(QtCore.Qt.CursorShape.PointingHandCursor)
        self.setMinimumWidth(TILE_MIN_PX)
        small = self.font()
        small.setPointSizeF(max(small.pointSizeF() - 1, 7.0))    # a point smaller: 8 tiles a row at 1280 px
        self.setFont(small)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(5, 3, 5, 3)
        layout.setSpacing(0)
        self.heading, self.cell, self.state, self.figures, self.alarm, self.stop = (
            ElidedLabel(min_chars=4) for _ in range(6))
        for label in (self.heading, self.cell, self.state, self.figures, self.alarm, self.stop):
            layout.addWidget(label)
        self.selected = False
        self.latched = False
        self._template = ""
        self.refresh()

    @property
    def alarming(self) -> bool:
        return self.feed.alarm is not None

    def refresh(self) -> None:
        feed, info = self.feed, self.feed.info
        units = {f.info.unit for f in feed.cycler.feeds}
        unit = f" u{info.unit}" if len(units) > 1 else ""      # a cycler of several units numbers channels per unit
        self.heading.setText(f"{feed.cycler.tag}{unit} ch {info.channel}")
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.cell.setText(feed.build_cell or info.barcode or info.test_name or "—")
        cycle = f" · cyc {feed.latest[2]}" if feed.latest is not None else ""
        self.state.setText(feed.state.upper() + cycle)
        if feed.latest is not None and math.isfinite(feed.latest[0]):
            self.figures.setText(f"{volts_text(feed.latest[0])} {amps_text(feed.latest[1])}")
        else:
            self.figures.setText("no data yet")
        self.alarm.setText(f"⚠ {feed.alarm.split(':')[0]}" if feed.alarm is not None else "")
        self.alarm.setVisible(feed.alarm is not None)
        # what became of the stop: "stopped", or in capitals that the cycler keeps running
        self.stop.setText(feed.stop_note.upper() if feed.stop_note == "keeps running" else feed.stop_note)
        self.stop.setVisible(bool(feed.stop_note))
        self.setToolTip("\n".join(filter(None, [feed.title(), feed.cycler.name, feed.alarm, feed.stop_note])))
        self._style()

    def set_selected(self, selected: bool) -> None:
        self.selected = selected
        self._style()

    def _style(self) -> None:
        state = self.feed.state
        if self.alarming:       # latched: the alarm's colours; acknowledged: still marked, as a shorted tile
            background, text = ("alarm", "alarm_text") if self.latched else ("tile_shorted", "tile_shorted_text")
        elif state == "reconnecting":
            background, text = "warning_bg", "warning"
        else:
            role = f"tile_{state}" if f"tile_{state}" in theme.current().colours else "tile_idle"
            background, text = role, f"{role}_text"
        border = "3px solid {selected}" if self.selected else "1px solid {border}"
        # a gui.theme template: doubled braces are CSS, single ones the theme's roles
        template = (f"#cyclerTile {{{{ background: {{{background}}}; border: {border}; border-radius: 3px; }}}}"
                    f" #cyclerTile QLabel {{{{ color: {{{text}}}; background: transparent; }}}}")
        if template != self._template:
            self._template = template
            theme.set_style(self, template)

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.button() == QtCore.Qt.MouseButton.LeftButton:
            self.clicked.emit(self.feed)
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        menu = QtWidgets.QMenu(self)
        link = menu.addAction("Link to build…")
        link.setEnabled(self.feed.run_id is not None)
        link.triggered.connect(lambda: self.link_requested.emit(self.feed))
        menu.exec(event.globalPos())


class AddCyclerDialog(QtWidgets.QDialog):
    """Protocol, HOST[:PORT], stop policy and poll period; "List channels" asks the
    cycler (on a thread) for its channels, their state and test, as `cyclers --add` does."""
    listed = QtCore.Signal(object)      # list[ChannelInfo] or an error text

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add cycler")
        self.protocol = QtWidgets.QComboBox()
        self.protocol.addItems(list(PROTOCOLS))
        self.host = QtWidgets.QLineEdit("127.0.0.1")
        self.host.setPlaceholderText("HOST[:PORT]")
        self.policy = QtWidgets.QComboBox()
        self.policy.addItem("stop the channel through the cycler", "stop")
        self.policy.addItem("alarm only (the cycler keeps running)", "alarm")
        self.poll = QtWidgets.QDoubleSpinBox()
        self.poll.setRange(0.2, 60.0)
        self.poll.setValue(1.0)
        self.poll.setSuffix(" s")
        self.poll.setToolTip("One round of requests per this period at most: the cycler PC is never overloaded")
        form = QtWidgets.QFormLayout()
        form.addRow("Protocol", self.protocol)
        form.addRow("Cycler", self.host)
        form.addRow("On an alarm", self.policy)
        form.addRow("Poll every", self.poll)
        self.list_button = QtWidgets.QPushButton("List channels")
        self.table = QtWidgets.QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Channel", "State", "Test", "Barcode"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.note = QtWidgets.QLabel("Channels with a running test are watched; a test whose barcode names a saved "
                                     "build is linked to it.")
        self.note.setWordWrap(True)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        self.watch_button = buttons.addButton("Watch", QtWidgets.QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.list_button)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.list_button.clicked.connect(self.list_channels)
        self.listed.connect(self._show_listing)

    def address(self) -> tuple[str, str, int]:
        """(protocol, host, port); ValueError names what is wrong with the address."""
        protocol = self.protocol.currentText()
        host, port = parse_host(self.host.text().strip(), protocol)
        return protocol, host, port

    def list_channels(self) -> None:
        try:
            protocol, host, port = self.address()
        except ValueError as exc:
            self.note.setText(str(exc))
            return
        self.note.setText(f"Asking {host}:{port}…")
        self.list_button.setEnabled(False)
        signal = self.listed

        def ask() -> None:
            client = client_for(protocol, host, port, timeout_s=TIMEOUT_S)
            try:
                client.connect()
                signal.emit(client.channels())
            except CyclerError as exc:
                signal.emit(str(exc))
            finally:
                client.close()

        threading.Thread(target=ask, name="list cycler channels", daemon=True).start()

    def _show_listing(self, result) -> None:
        self.list_button.setEnabled(True)
        if isinstance(result, str):
            self.note.setText(result)
            return
        self.table.setRowCount(len(result))
        for row, info in enumerate(result):
            for col, text in enumerate((info.label, info.state, info.test_name, info.barcode)):
                self.table.setItem(row, col, QtWidgets.QTableWidgetItem(text))
        self.note.setText(f"{len(result)} channels; those with a running test are watched.")


class CyclerView(QtWidgets.QWidget):
    """The Cyclers tab. `alarm(run_id, text)`: latch this in the station's banner."""
    alarm = QtCore.Signal(int, str)
    note = QtCore.Signal(str)            # for the status bar
    show_me = QtCore.Signal()            # a menu action acts here: the window brings this tab forward

    def __init__(self, notebook: Notebook, parent=None):
        super().__init__(parent)
        self.notebook = notebook
        self.notebook_path = notebook.path
        self.cyclers: list[WatchedCycler] = []
        self.tiles: dict[str, CyclerTile] = {}
        self.selected: ChannelFeed | None = None
        self.is_latched: Callable[[int], bool] = lambda run_id: True    # the banner's say, set by the window
        self._order: list[str] = []
        self._columns = 0

        self.operator: Callable[[], str] = lambda: ""     # the session's operator, set by the window
        self.add_button = QtWidgets.QPushButton("Add cycler…")
        self.link_button = QtWidgets.QPushButton("Link to build…")
        self.link_button.setToolTip("Put the selected channel's run on a saved build: its area and masses "
                                    "then give the run's figures")
        self.link_button.setEnabled(False)
        self.demo_button = QtWidgets.QPushButton("Add simulated Neware unit")
        self.demo_button.setToolTip("An emulated Neware BTS on 127.0.0.1 with 8 of the paper's cells, "
                                    "one of them shorting, watched like a real one")
        self.alarm_only = QtWidgets.QCheckBox("Alarms only")
        self.running_only = QtWidgets.QCheckBox("Running only")
        self.cycler_filter = QtWidgets.QComboBox()
        self.cycler_filter.addItem("All cyclers", None)
        self.station = QtWidgets.QLabel("Station: this one")
        self.counts = QtWidgets.QLabel()
        self.problem = QtWidgets.QLabel()      # a cycler that could not be watched, in one line each
        self.problem.setWordWrap(True)
        theme.set_style(self.problem, "color: {error};")
        self.problem.hide()
        self.bar = bar = QtWidgets.QWidget()
        flow = FlowLayout(bar)
        for widget in (self.add_button, self.demo_button, self.link_button, self.alarm_only, self.running_only, self.cycler_filter,
                       self.station, self.counts):
            flow.addWidget(widget)

        self.grid_host = QtWidgets.QWidget()
        self.grid = QtWidgets.QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(3)
        self.grid.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.empty = QtWidgets.QLabel("No cycler watched yet: add one, or a simulated Neware unit.")
        self.grid.addWidget(self.empty, 0, 0)
        self.area = QtWidgets.QScrollArea()
        self.area.setWidgetResizable(True)
        self.area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.area.setWidget(self.grid_host)
        # the plots are made when a tile is first selected: a station that watches no cycler
        # does not pay for a second monitor at start-up
        self.monitor: MonitorWidget | None = None
        self.idle = QtWidgets.QLabel("Select a channel's tile to see its plots.")
        self.idle.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.split = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        self.split.addWidget(self.area)
        self.split.addWidget(self.idle)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.split.setSizes([300, 400])     # two to three rows of tiles above the plots, to begin with
        # room for the station's alarm banner, which floats over the top of the pages: the
        # tiles in alarm, sorted first, are never under it
        self.inset = QtWidgets.QWidget()
        self.inset.setFixedHeight(0)
        self._banner: QtWidgets.QWidget | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.inset)
        layout.addWidget(bar)
        layout.addWidget(self.problem)
        layout.addWidget(self.split, 1)

        self.add_button.clicked.connect(self.ask_add)
        self.demo_button.clicked.connect(self.add_simulated_neware)
        self.link_button.clicked.connect(lambda: self.ask_link(self.selected))
        for box in (self.alarm_only, self.running_only):
            box.toggled.connect(self.arrange)
        self.cycler_filter.currentIndexChanged.connect(self.arrange)
        self._timer = QtCore.QTimer(self, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    # -- cyclers --
    def add_cycler(self, protocol: str, host: str, port: int, policy: str = "stop", poll_s: float = 1.0,
                   server=None, backoff_s: float = 0.5) -> WatchedCycler:
        """Watch every channel of the cycler with a running test, on a thread of its own.
        ValueError (one line) on a read-only notebook: the watched runs could not be stored."""
        if self.notebook.read_only:
            raise ValueError(f"{self.notebook_path} is open read-only: a watched cycler's runs cannot be stored")
        cycler = WatchedCycler(self, protocol, host, port,
                               WatchSettings(poll_s=poll_s, policy=policy, backoff_s=backoff_s), server)
        cycler.bridge.event.connect(self._on_event)
        cycler.bridge.status.connect(self._on_status)
        cycler.bridge.failed.connect(self._on_failed)
        self.cyclers.append(cycler)
        self.cycler_filter.addItem(cycler.name, cycler.name)
        cycler.start()
        self.note.emit(f"Watching {cycler.name} (policy {policy}, polling every {poll_s:g} s)")
        return cycler

    def ask_add(self) -> None:
        dialog = AddCyclerDialog(self)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        try:
            protocol, host, port = dialog.address()
            self.add_cycler(protocol, host, port, dialog.policy.currentData(), dialog.poll.value())
        except ValueError as exc:
            self.note.emit(str(exc))

    def add_simulated_neware(self, speed: float = DEMO_SPEED, poll_s: float = 1.0) -> WatchedCycler:
        from acquisition.cycler_sim import parse_cells, sim_channels
        from instruments.sim.cyclers.servers import serve
        server = serve("neware", sim_channels(parse_cells(DEMO_CELLS), sample_interval_s=DEMO_INTERVAL_S),
                       speed=speed, port=0)
        return self.add_cycler("neware", "127.0.0.1", server.port, poll_s=poll_s, server=server)

    def menu(self, parent: QtWidgets.QWidget) -> QtWidgets.QMenu:
        """The station's Cyclers menu: add a cycler, or the simulated Neware unit (the demo)."""
        menu = QtWidgets.QMenu("&Cyclers", parent)
        for text, act in (("&Add cycler…", self.ask_add), ("Add &simulated Neware unit", self.add_simulated_neware)):
            menu.addAction(text).triggered.connect(lambda _=False, act=act: (self.show_me.emit(), act()))
        return menu

    def history(self, feed: ChannelFeed, start: int, stop: int) -> np.ndarray:
        """The run's stored samples, for views older than its live buffer holds."""
        if feed.run_id is None:
            return np.zeros(0)
        return self.notebook.sample_range(feed.run_id, start, stop)

    def feeds(self) -> list[ChannelFeed]:
        return [feed for cycler in self.cyclers for feed in list(cycler.feeds)]

    # -- from the watch threads, queued --
    def _on_event(self, feed: ChannelFeed, event: dict) -> None:
        kind, label = event["kind"], event["kind"].replace("_", " ")
        if kind.startswith("cycler_") and kind not in STOP_KINDS:
            return                  # contact lost or back, detectors chosen, run closed: the tile and log say it
        if kind not in STOP_KINDS:     # the stop comes at the alarm's sample: one marker says it
            if feed is self.selected:
                self.monitor.mark_event(event["t_s"], label)
            else:
                feed.monitor.events.append((event["t_s"], label))
        source = f"{feed.cycler.name} {feed.info.label}"
        text = ""
        if event["severity"] == "alarm" and kind not in STOP_KINDS:
            feed.alarm = event["message"]
            text = f"{source}: {event['message']} (sample {event['sample_index']})"
            if feed.cycler.watch.settings.policy == "alarm":
                feed.stop_note, feed.monitor.output = "keeps running", "unknown"
                text += "; policy alarm only: the cycler keeps running the channel"
        elif kind == "cycler_stop_request":
            feed.stop_note = "stop asked"
            text = "stop requested through the cycler's interface"
        elif kind == "cycler_stop_answer":
            accepted = event["evidence"].get("accepted", False)
            feed.stop_note = "stopped" if accepted else "stop refused"
            feed.monitor.output = "off" if accepted else "unknown"
            text = f"the cycler answered {event['evidence'].get('reply', '')!r}" + \
                   ("" if accepted else ": the channel may still run; stop it at the cycler")
        elif kind == "cycler_no_stop":
            feed.stop_note, feed.monitor.output = "keeps running", "unknown"
            text = "this interface has no stop: the cycler keeps running the channel"
        elif kind == "cycler_stop_failed" and event["severity"] == "alarm":
            feed.stop_note, feed.monitor.output = "stop failed", "unknown"
            text = event["message"]
        if text and feed.run_id is not None:
            self.alarm.emit(feed.run_id, text)
            self.refresh()

    def _on_failed(self, text: str) -> None:
        lines = [line for line in self.problem.text().split("\n") if line] + [f"Not watched: {text}"]
        self.problem.setText("\n".join(lines))
        self.problem.show()
        self.note.emit(f"Not watched: {text}")

    def _on_status(self, feed: ChannelFeed, status: str, message: str) -> None:
        feed.monitor.state = status
        feed.monitor.title = feed.title()
        if status != "running":
            self.note.emit(f"{feed.cycler.name} {feed.info.label}, run #{feed.run_id} {status}: {message}")
        if feed is self.selected:
            self.monitor.redraw()

    # -- tiles --
    def refresh(self) -> None:
        """New channels get tiles; every tile shows its channel's news; the grid is
        re-sorted when an alarm moves a tile up."""
        for feed in self.feeds():
            tile = self.tiles.get(feed.key)
            if tile is None:
                tile = self.tiles[feed.key] = CyclerTile(feed, self.grid_host)
                tile.clicked.connect(self.select)
                tile.link_requested.connect(self.ask_link)
            tile.latched = feed.run_id is not None and self.is_latched(feed.run_id)
            tile.refresh()
        self.arrange()

    def visible_feeds(self) -> list[ChannelFeed]:
        """The tiles shown, in order: alarms first, then by cycler, unit and channel."""
        chosen = self.cycler_filter.currentData()
        shown = [t.feed for t in self.tiles.values()
                 if (not self.alarm_only.isChecked() or t.alarming)
                 and (not self.running_only.isChecked() or t.feed.running)
                 and (chosen is None or t.feed.cycler.name == chosen)]
        order = {c.name: k for k, c in enumerate(self.cyclers)}
        return sorted(shown, key=lambda f: (f.alarm is None, order[f.cycler.name], f.info.unit, f.info.channel))

    def _columns_for(self, width: int) -> int:
        return max(1, (width + self.grid.spacing()) // (TILE_MIN_PX + self.grid.spacing()))

    def arrange(self) -> None:
        shown = self.visible_feeds()
        keys = [f.key for f in shown]
        columns = self._columns_for(self.area.viewport().width())
        alarms = sum(t.alarming for t in self.tiles.values())
        running = sum(t.feed.running for t in self.tiles.values())
        self.counts.setText(f"{len(self.tiles)} channels · {alarms} in alarm · {running} running"
                            + (f" · {len(shown)} shown" if len(shown) != len(self.tiles) else ""))
        if keys == self._order and columns == self._columns:
            return
        self._order, self._columns = keys, columns
        self.empty.setVisible(not self.tiles)
        for tile in self.tiles.values():
            self.grid.removeWidget(tile)
            tile.hide()
        for k, key in enumerate(keys):
            tile = self.tiles[key]
            self.grid.addWidget(tile, k // columns, k % columns)
            tile.show()
        for column in range(max(columns, self.grid.columnCount())):
            self.grid.setColumnStretch(column, 1 if column < columns else 0)

    def ordered_tiles(self) -> list[CyclerTile]:
        return [self.tiles[key] for key in self._order]

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        """As tall as it must be at `width` (the filter bar wraps), no taller: the tab's
        scroll area then fits the page to the window and the splitter shares the height
        between tiles and plots, instead of the page growing to every plot's preferred
        height and scrolling as a whole."""
        layout = self.layout()
        margins = layout.contentsMargins()
        inner = width - margins.left() - margins.right()
        return (margins.top() + margins.bottom() + 2 * layout.spacing() + self.inset.height()
                + self.bar.heightForWidth(inner) + self.split.minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self.arrange()

    def follow_banner(self, banner: QtWidgets.QWidget) -> None:
        """Keep the page's top clear of `banner` (the station's latched alarms) while it shows."""
        self._banner = banner
        banner.installEventFilter(self)
        self._fit_inset()

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self._banner and event.type() in (QtCore.QEvent.Type.Resize, QtCore.QEvent.Type.Show,
                                                        QtCore.QEvent.Type.Hide):
            self._fit_inset()
        return False

    def _fit_inset(self) -> None:
        banner = self._banner
        self.inset.setFixedHeight(banner.height() if banner is not None and banner.isVisible() else 0)

    def select(self, feed: ChannelFeed) -> None:
        """Show the channel's run in the monitor below the tiles."""
        self.selected = feed
        for tile in self.tiles.values():
            tile.set_selected(tile.feed is feed)
        feed.monitor.title = feed.title()
        if self.monitor is None:
            self.monitor = MonitorWidget()
            self.split.replaceWidget(1, self.monitor)
            self.idle.deleteLater()
        self.monitor.attach(feed.monitor)
        self.link_button.setEnabled(feed.run_id is not None)

    # -- linking a watched run to its cell --
    def ask_link(self, feed: ChannelFeed | None) -> BuildPickerDialog | None:
        """Open the build picker for the channel's run (non-modal, so the watch and the
        tiles go on); the build picked is linked when the dialog is accepted. Returns the
        dialog (None: the channel has no run yet)."""
        if feed is None or feed.run_id is None:
            return None
        dialog = BuildPickerDialog(cell_builds(self.notebook), f"run #{feed.run_id} ({feed.cycler.tag} ch "
                                   f"{feed.info.channel})", self)
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._link_chosen(feed, dialog.chosen()))
        dialog.open()
        return dialog

    def _link_chosen(self, feed: ChannelFeed, build_id: int | None) -> None:
        if build_id is None:
            return
        try:
            self.link_to_build(feed, build_id)
        except NotebookError as exc:
            self.note.emit(str(exc))

    def link_to_build(self, feed: ChannelFeed, build_id: int) -> None:
        """Put the channel's watched run on saved build `build_id` (notebook.basis.link_build:
        its area and masses give the run's figures from now on) and record who did it as an
        event on the run. The watch goes on writing the same run. NotebookError (one line)
        if the build describes no cell or the run cannot be linked: nothing is changed."""
        if feed.run_id is None:
            raise NotebookError(f"{feed.title()} has no run yet to link")
        run_id = feed.run_id
        link_build(self.notebook, run_id, build_id)
        stack = self.notebook.build(build_id)
        linked = self.notebook.provenance(run_id)["linked_build"]
        ch = feed.channel_watch
        if ch is not None:
            # the watch rewrites the run's provenance when it closes the run: it must keep the link
            ch.provenance["linked_build"] = linked
            ch.build_id = build_id
        operator = self.operator().strip() or "an unnamed operator"
        message = f"linked to build #{build_id} by {operator}"
        event = {"t_s": ch.t_now if ch is not None else 0.0,
                 "sample_index": max(ch.n_samples - 1, 0) if ch is not None else 0,
                 "kind": "build_linked", "severity": "info", "message": message,
                 "evidence": {"build_id": build_id, "cell_id": stack.name, "operator": operator, **linked}}
        try:
            with self.notebook.conn:
                insert_event(self.notebook.conn, run_id, event)
        except sqlite3.Error as exc:
            raise NotebookError(f"run {run_id} was linked to build {build_id}, but the note of it was not "
                                f"written to {self.notebook_path}: {exc}") from None
        feed.build_cell = stack.name or f"build #{build_id}"
        tile = self.tiles.get(feed.key)
        if tile is not None:
            tile.refresh()
        self.note.emit(f"Run #{run_id} ({feed.info.label}) {message}")

    def set_filters(self, alarm_only: bool = False, running_only: bool = False, cycler: str | None = None) -> None:
        self.alarm_only.setChecked(alarm_only)
        self.running_only.setChecked(running_only)
        self.cycler_filter.setCurrentIndex(0 if cycler is None else max(self.cycler_filter.findData(cycler), 0))
        self.arrange()

    def shutdown(self) -> None:
        """Every watch ends (its runs closed, the cyclers' tests going on) and demo emulators close."""
        self._timer.stop()
        for cycler in self.cyclers:      # all asked first: the waits overlap, closing takes one timeout at most
            cycler.request_stop()
        for cycler in self.cyclers:
            cycler.finish()
        if self.monitor is not None:
            self.monitor.detach()
