"""The replay window: a logged run played back through the same monitor widget a live
run uses, fed by acquisition.replay.ReplayPlayer (the same stream shape, read from a
notebook opened read-only). Controls: play/pause, speed, seek by time, cycle or alarm,
loop a region, and detector thresholds to re-judge the run with. Original alarms are
marked "logged", re-evaluated ones "replay"."""
from __future__ import annotations

import math

from PySide6 import QtCore, QtWidgets

import resources
from acquisition.live import LiveBuffer
from acquisition.replay import ReplayPlayer
from gui.bridge import EngineBridge
from gui.monitor import MonitorFeed, MonitorWidget
from notebook import Notebook

SPEEDS = [("1× (original timing)", 1.0), ("10×", 10.0), ("100×", 100.0), ("1000×", 1000.0), ("3600×", 3600.0),
          ("36000×", 36000.0), ("as fast as possible", math.inf)]


def parse_speed(speed) -> float:
    if isinstance(speed, str) and speed.strip().lower() == "max":
        return math.inf
    try:
        value = float(speed)
    except (TypeError, ValueError):
        raise ValueError(f"speed must be a number (x original timing) or 'max', got {speed!r}") from None
    if not value > 0:
        raise ValueError(f"speed must be above 0, got {speed!r}")
    return value


class ReplayWindow(QtWidgets.QMainWindow):
    def __init__(self, notebook: Notebook, run_id: int, speed=1.0, overrides: dict | None = None):
        super().__init__()
        self.notebook = notebook
        self.run_id = run_id
        self.overrides = overrides or None
        run = notebook.run(run_id)          # NotebookError names a missing run
        self.setWindowTitle(f"{resources.APP_NAME} replay: run {run_id} ({run['protocol']}, {run['status']}) — "
                            f"{notebook.path}")
        self.bridge = EngineBridge(1)
        self.bridge.event.connect(self._on_event)
        self.bridge.status.connect(self._on_status)
        self.monitor = MonitorWidget()
        self.play = QtWidgets.QPushButton("Pause")
        self.speed = QtWidgets.QComboBox()
        for label, value in SPEEDS:
            self.speed.addItem(label, value)
        self.position = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.position_label = QtWidgets.QLabel()
        self.cycle = QtWidgets.QSpinBox(minimum=1, maximum=1_000_000, prefix="cycle ")
        self.go_cycle = QtWidgets.QPushButton("Go")
        self.previous_alarm = QtWidgets.QPushButton("◀ Alarm")
        self.next_alarm = QtWidgets.QPushButton("Alarm ▶")
        self.loop = QtWidgets.QCheckBox("Loop from")
        self.loop_from = QtWidgets.QDoubleSpinBox(minimum=0, maximum=1e7, decimals=3, suffix=" h")
        self.loop_to = QtWidgets.QDoubleSpinBox(minimum=0, maximum=1e7, decimals=3, suffix=" h")
        self.info = QtWidgets.QLabel()       # the thresholds the detectors judge with
        self.info.setWordWrap(True)
        self.note = QtWidgets.QLabel()       # what just happened (end of run, nothing found ...)
        bar = QtWidgets.QHBoxLayout()
        for widget in (self.play, QtWidgets.QLabel("Speed"), self.speed, self.position_label, self.cycle, self.go_cycle,
                       self.previous_alarm, self.next_alarm, self.loop, self.loop_from, QtWidgets.QLabel("to"),
                       self.loop_to):
            bar.addWidget(widget)
        central = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(self.position)
        layout.addWidget(self.info)
        layout.addWidget(self.note)
        layout.addWidget(self.monitor, 1)
        self.setCentralWidget(central)
        self.resize(1280, 800)

        self.player: ReplayPlayer | None = None
        self._user_paused = False
        self._marked: dict[tuple, set] = {}     # (t, kind) -> origins marked there
        self._start_player(parse_speed(speed))
        duration = float(self.player.samples["t"][-1]) if self.player.samples.size else 0.0
        self.position.setRange(0, max(1, int(duration)))
        self.loop_to.setValue(duration / 3600.0)
        self.speed.setCurrentIndex(min(range(len(SPEEDS)), key=lambda k: abs(math.log(SPEEDS[k][1]) - math.log(self.player.speed))
                                       if math.isfinite(self.player.speed) and math.isfinite(SPEEDS[k][1])
                                       else (0 if SPEEDS[k][1] == self.player.speed else 99)))
        self.info.setText(self._thresholds_text())
        self.play.clicked.connect(self.toggle_play)
        self.speed.currentIndexChanged.connect(lambda: self.player.set_speed(self.speed.currentData()))
        self.position.sliderReleased.connect(lambda: self.seek(float(self.position.value())))
        self.go_cycle.clicked.connect(lambda: self.seek_cycle(self.cycle.value()))
        self.next_alarm.clicked.connect(lambda: self.step_alarm(True))
        self.previous_alarm.clicked.connect(lambda: self.step_alarm(False))
        self.loop.toggled.connect(self._apply_loop)
        self._tick = QtCore.QTimer(self, interval=200)
        self._tick.timeout.connect(self._show_position)
        self._tick.start()

    # -- the player and the feed the monitor shows --
    def _start_player(self, speed: float) -> None:
        self.buffer = LiveBuffer()
        self.player = ReplayPlayer(self.notebook.path, self.run_id, speed=speed, overrides=self.overrides,
                                   listeners=[self.buffer, self.bridge], hold_at_end=True)
        self._attach_fresh_feed()
        self.player.start()

    def _attach_fresh_feed(self) -> None:
        """A seek starts the stream again at the new place: a fresh buffer and feed."""
        self._marked = {}
        self.buffer = LiveBuffer()
        self.player.listeners[0] = self.buffer
        first, samples = self.player.position, self.player.samples   # the stream starts at the player's position
        self.feed = MonitorFeed(self.buffer, title=f"Replay of run {self.run_id}", state="running",
                                expects_eis=bool(self.notebook.spectra(self.run_id)),
                                history=lambda start, stop: samples[first + start : first + stop])
        self.monitor.attach(self.feed)

    def _thresholds_text(self) -> str:
        from acquisition.alarms import describe
        text = "; ".join(f"{kind}: " + ", ".join(f"{k}={v:g}" for k, v in s.items() if isinstance(v, (int, float)))
                         for kind, s in describe([entry[0] for entry in self.player.judge.entries]).items())
        origin = "your thresholds" if self.overrides else "the thresholds stored with the run"
        return f"Detectors re-judge the run with {origin}: {text}. Nothing is written to the notebook."

    # -- controls --
    def toggle_play(self) -> None:
        self._user_paused = not self._user_paused
        if self._user_paused:
            self.player.pause()
        else:
            self.player.resume()
        self.play.setText("Play" if self._user_paused else "Pause")

    def _restart_at(self, move) -> None:
        self.player.pause()
        self.player.listeners[0] = LiveBuffer()    # drop what is in flight
        move()
        self._attach_fresh_feed()
        if not self._user_paused:
            self.player.resume()

    def seek(self, t_s: float) -> None:
        self._restart_at(lambda: self.player.seek(t_s))

    def seek_cycle(self, cycle: int) -> None:
        try:
            self._restart_at(lambda: self.player.seek_cycle(cycle))
        except ValueError as exc:
            self.note.setText(str(exc))

    def step_alarm(self, forward: bool) -> None:
        found = []
        self._restart_at(lambda: found.append(self.player.next_alarm(forward)))
        if found and found[0] is None:
            self.note.setText("No further alarm in that direction.")

    def _apply_loop(self, on: bool) -> None:
        if not on:
            self.player.set_loop(None)
            return
        try:
            self.player.set_loop(self.loop_from.value() * 3600.0, self.loop_to.value() * 3600.0)
        except ValueError as exc:
            self.note.setText(str(exc))
            self.loop.setChecked(False)
            return
        self.seek(self.loop_from.value() * 3600.0)

    def _show_position(self) -> None:
        last = self.buffer.last()
        if last is not None:
            t = float(last["t"])
            if not self.position.isSliderDown():
                self.position.setValue(int(t))
            self.position_label.setText(f"t = {t / 3600:.3f} h")

    def _on_event(self, channel: int, event: dict) -> None:
        """Mark each alarm once: where the re-evaluation fires where the run's own alarm
        was logged, one marker says both; where they differ, each gets its own."""
        kind = event["kind"].replace("_", " ")
        key = (round(event["t_s"]), event["kind"])
        seen = self._marked.setdefault(key, set())
        seen.add(event.get("origin", "replay"))
        if len(seen) == 1:
            origin = "logged" if event.get("origin") == "original" else "replay"
            self.monitor.mark_event(event["t_s"], f"{origin}: {kind}")
        else:
            self.note.setText(f"The re-evaluation fires where the run's own {kind} alarm was logged "
                              f"(t = {event['t_s'] / 3600:.3f} h).")

    def _on_status(self, channel: int, status: str, message: str) -> None:
        self.feed.state = status
        if status == "ended":
            self.note.setText("End of the run: seek, pick a cycle or an alarm to play again.")

    def shutdown(self) -> None:
        self._tick.stop()
        if self.player is not None:
            self.player.close()
        self.monitor.detach()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
