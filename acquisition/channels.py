"""Several cells at once: up to eight channels, each with its own bench (on the
simulated bench, its own set of emulated instruments), engine, live buffer and state.
What a channel overview shows comes from here."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from acquisition.live import LiveBuffer
from acquisition.protocol import StepList
from acquisition.session import Session, prepare_run
from cell import Stack
from notebook import Notebook, NotebookError

log = logging.getLogger(__name__)

MAX_CHANNELS = 8
STATION_CLOSED = "station closed"   # why runs still going end when the station closes


@dataclass
class Channel:
    index: int
    session: Session | None = None
    buffer: LiveBuffer = field(default_factory=LiveBuffer)
    last_alarm: dict | None = None
    # The source as the engine last reported it: "on" while its run goes; "off" once made
    # safe (a detector's trip, a pause, the run's end: the engine switches it off before
    # saying so); "unknown" once switching it off failed (it may still be on).
    output: str = "off"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def state(self) -> str:
        return "idle" if self.session is None else self.session.engine.status

    @property
    def busy(self) -> bool:
        return self.session is not None and self.session.engine.running

    # the RunListener interface, so the channel keeps its own last alarm and output state
    def on_batch(self, samples) -> None:
        pass

    def on_event(self, event: dict) -> None:
        if event["severity"] == "alarm":
            with self._lock:
                self.last_alarm = event
                if event["kind"] == "safe_off_failed":
                    self.output = "unknown"
                elif event["kind"] != "instrument_fault":   # a fault is reported before the source goes off
                    self.output = "off"

    def on_status(self, status: str, message: str) -> None:
        with self._lock:
            if status == "running":
                self.output = "on"
            elif self.output != "unknown":
                self.output = "off"

    def on_spectrum(self, spectrum: dict) -> None:
        pass

    def summary(self) -> dict:
        """State, cycle, last voltage and alarm: one row of a channel overview."""
        last = self.buffer.last()
        engine = self.session.engine if self.session else None
        return {"channel": self.index, "state": self.state,
                "run_id": engine.run_id if engine else None,
                "cell": engine.stack.describe() if engine else "",
                "cycle": int(last["cycle"]) if last is not None else None,
                "voltage_v": float(last["voltage"]) if last is not None else None,
                "current_a": float(last["current"]) if last is not None else None,
                "alarm": self.last_alarm["message"] if self.last_alarm else None,
                "output": self.output}


class ChannelManager:
    def __init__(self, notebook: Notebook):
        self.notebook = notebook
        self.channels = [Channel(k) for k in range(1, MAX_CHANNELS + 1)]

    def channel(self, index: int) -> Channel:
        if not 1 <= index <= MAX_CHANNELS:
            raise ValueError(f"channel must be 1 to {MAX_CHANNELS}, got {index}")
        return self.channels[index - 1]

    def start(self, index: int, stack: Stack, protocol: StepList, speed="3600", seed: int = 0, listeners=(),
              detector_overrides: dict | None = None, on_trip: str = "stop", build_id: int | None = None,
              impedance: str = "e4990a") -> Session:
        """Start a run on channel `index` (its previous, finished run is closed first).
        build_id: the saved build the run is made on (else the stack is saved as one);
        impedance: the analyser the simulated bench emulates."""
        channel = self.channel(index)
        if channel.busy:
            raise ValueError(f"channel {index} is busy with run {channel.session.engine.run_id}: stop it first")
        if channel.session is not None:
            channel.session.close()
        buffer = LiveBuffer()
        session = prepare_run(self.notebook, stack, protocol, speed=speed, seed=seed, build_id=build_id,
                              listeners=[buffer, channel, *listeners], detector_overrides=detector_overrides,
                              on_trip=on_trip, impedance=impedance)
        channel.session, channel.buffer, channel.last_alarm, channel.output = session, buffer, None, "off"
        session.engine.start()
        return session

    def _engine(self, index: int):
        channel = self.channel(index)
        if channel.session is None:
            raise ValueError(f"channel {index} has no run")
        return channel.session.engine

    def stop(self, index: int) -> None:
        self._engine(index).stop()

    def pause(self, index: int) -> None:
        self._engine(index).pause()

    def resume(self, index: int) -> None:
        self._engine(index).resume()

    def overview(self) -> list[dict]:
        return [channel.summary() for channel in self.channels]

    def running(self) -> list[Channel]:
        """The channels whose run is still going (running or paused)."""
        return [channel for channel in self.channels if channel.busy]

    def shutdown(self, timeout_s: float = 10.0, reason: str = STATION_CLOSED) -> None:
        """Stop every run (each ends with its source safe, `aborted` with `reason` as its
        message, not as an operator's stop), note the reason as an event of each run it
        ended, and close the benches."""
        stopped = self.running()
        for channel in stopped:
            channel.session.engine.stop(reason)
        for channel in self.channels:
            if channel.session is None:
                continue
            engine = channel.session.engine
            engine.join(timeout_s)
            # an operator's stop already asked for keeps its own reason: only runs the close ended say so
            if (channel in stopped and engine.message.startswith(reason) and engine.run_id is not None
                    and not self.notebook.read_only):
                try:
                    self.notebook.log_event(engine.run_id, "run_stopped", "info", f"{reason}: the run was stopped "
                                            "with the source switched off", engine.t_now, max(engine.n_samples - 1, 0),
                                            {"reason": reason, "status": engine.status})
                except NotebookError as exc:   # the run itself is closed with its reason; the other benches still close
                    log.error("run %s: %s", engine.run_id, exc)
            channel.session.close()
            channel.session = None
