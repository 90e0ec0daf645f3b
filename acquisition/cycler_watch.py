"""A commercial cycler as a source of the engine's stream: every channel of one cycler
(any CyclerClient) watched as a notebook run, its points handed on as the same sample
batches the run engine produces (notebook.samples.SAMPLE_DTYPE), so the writer, the
detectors, the monitor and replay need no special case.

Per channel: the test's history is downloaded first, then new points are fetched at a
bounded rate (one round of requests per `poll_s`: one status request for the cycler,
one download per channel with new points), tracked by the cycler's own point index so
nothing is stored twice or skipped. A point index that jumps is logged as a gap.

Communication faults (no answer, a dropped connection, a reply that does not parse)
are events of severity warning (lost) and info (back), never alarms: they never mark a
run shorted. The client reconnects with exponential backoff, and the next download
resumes after the last point stored.

Alarms come only from the short detectors, run on every batch: the build's own when the
test's barcode names a saved build, else those its trace calls for (analysis.cell_type).
Policy "stop" asks the cycler to stop that channel through its interface and logs the
request and the cycler's answer; policy "alarm" only raises the alarm. A short closes
the run `shorted` either way, as the engine closes a run on a short.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import resources
from acquisition.alarms import describe, detectors_for
from acquisition.engine import SHORT_KINDS
from analysis.cell_type import guess_cell_type, trace_detectors
from analysis.shorts import SoftShortDetector, SoftShortSettings, SuddenDropDetector, SuddenDropSettings
from cell import empty_stack
from instruments.cyclers.base import (ENDED, FAULT, FINISHED, PAUSED, RUNNING, STOPPED, ChannelInfo, CyclerClient,
                                      CyclerError)
from notebook.basis import IMPORTED_TEMPLATE, add_provenance, describes_cell
from notebook.importer import step_summaries
from notebook.jsontext import dumps
from notebook.samples import empty_samples
from notebook.store import Notebook
from notebook.writer import RunWriter

log = logging.getLogger(__name__)

POLICIES = ("stop", "alarm")
GUESS_SAMPLES = 30          # samples under current before a trace says what cell it is
GUESS_MAX_SAMPLES = 5000    # ... and the most held while the trace is not yet a full or a Li | Li cell
# A live full cell's capacity is unknown until a charge has ended: its soft-short detector
# gets a capacity so large that only the flicker criterion can fire. Finite, so that the
# run's provenance (JSON) keeps it and replay rebuilds the same detector.
UNBOUNDED_MAH = 1e12
STOP_ATTEMPTS = 3


@dataclass(frozen=True)
class WatchSettings:
    poll_s: float = 1.0             # one round of requests per this many seconds, at most
    policy: str = "stop"            # what an alarm does: stop the channel, or only alarm
    backoff_s: float = 0.5          # first wait before reconnecting; doubles up to backoff_max_s
    backoff_max_s: float = 30.0
    until_done: bool = False        # return once every watched channel's test has ended

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {self.policy!r}")
        if not (self.poll_s > 0 and math.isfinite(self.poll_s)):
            raise ValueError(f"poll_s must be a positive number of seconds, got {self.poll_s!r}")
        if not 0 < self.backoff_s <= self.backoff_max_s:
            raise ValueError("backoff_s must be above 0 and at most backoff_max_s")


def to_samples(records: np.ndarray, step_index: np.ndarray) -> np.ndarray:
    """Cycler records as the stream's samples; `step_index` is the station's running
    step number (from 0) for each record."""
    out = empty_samples(records.size)
    out["t"], out["current"], out["voltage"] = records["time_s"], records["current_a"], records["voltage_v"]
    out["temperature"] = records["temperature_c"]
    out["step"], out["cycle"] = step_index, records["cycle"]
    return out


class ChannelWatch:
    """One watched channel: its run, writer, detectors and where its stream stands."""

    def __init__(self, info: ChannelInfo, source: str, build_id: int, stack, listeners=()):
        self.info, self.source, self.build_id, self.stack = info, source, build_id, stack
        self.listeners = list(listeners)
        self.writer: RunWriter | None = None
        self.run_id: int | None = None
        self.last_point = 0
        self.n_samples = 0
        self.t_now = 0.0
        self.state = info.state
        self.detectors: list | None = None
        self.detector_note = ""
        self.provenance: dict = {}
        self.pending: list[np.ndarray] = []     # samples held until the detectors are chosen
        self.step_key: tuple | None = None
        self.step_index = -1
        self.step_samples: list[np.ndarray] = []
        self.step_q = [0.0, 0.0, 0.0]           # the step's charge and discharge counters (Ah), its current
        self.cycle_q: dict[int, dict] = {}      # cycle -> the cycler's counters, mAh
        self.alarm: dict | None = None
        self.stop_answer: str = ""
        self.status = "running"
        self.message = ""
        self.events: list[dict] = []

    @property
    def done(self) -> bool:
        return self.writer is None and self.run_id is not None


class CyclerWatch:
    """Watches every channel of `client` into the notebook at `notebook_path`.
    on_event(event, channel) hears every event (the CLI prints them);
    listeners_for(channel) gives each run's listeners (live buffers, the GUI bridge)."""

    def __init__(self, notebook_path, client: CyclerClient, settings: WatchSettings = WatchSettings(),
                 on_event: Callable[[dict, ChannelWatch], None] | None = None,
                 listeners_for: Callable[[ChannelInfo], list] | None = None):
        self.notebook_path = notebook_path
        self.client = client
        self.settings = settings
        self.on_event = on_event
        self.listeners_for = listeners_for or (lambda info: [])
        self.channels: list[ChannelWatch] = []
        self._stop = threading.Event()
        self._stop_reason = ""
        self.rounds = 0

    # -- control --
    def stop(self, reason: str = "watching stopped by the operator") -> None:
        """Ask the watch to end at its next round (safe from a signal handler)."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()

    # -- the watch --
    def open(self) -> list[ChannelInfo]:
        """Connect and list the channels; CyclerError (one line) if the cycler does not answer."""
        self.client.connect()
        return self.client.channels()

    def run(self, infos: list[ChannelInfo] | None = None) -> list[ChannelWatch]:
        """Watch until stop() (or, with until_done, until every test has ended). Every
        channel with a test becomes a run; returns the watched channels, closed."""
        if infos is None:
            infos = self.open()
        try:
            with Notebook(self.notebook_path) as nb:
                for info in infos:
                    # a test that ended before the watch began is not watched (import its file instead)
                    if info.state in (RUNNING, PAUSED) and info.test_id:
                        self.channels.append(self._begin(nb, info))
            self._loop()
        finally:
            ended = self._stop_reason or "watching ended"
            for ch in self._open_channels():
                if ch.alarm is not None:     # an alarm closes the run as the engine would, whatever ends the watch
                    self._finish(ch, self._alarm_status(ch), f"{ch.alarm['message']} ({ended})")
                else:
                    self._finish(ch, "aborted", f"{ended}; the cycler's test goes on")
        return self.channels

    @staticmethod
    def _alarm_status(ch: ChannelWatch) -> str:
        """A short closes the run `shorted`; another alarm (a voltage limit) `aborted`."""
        return "shorted" if ch.alarm["kind"] in SHORT_KINDS else "aborted"

    def _begin(self, nb: Notebook, info: ChannelInfo) -> ChannelWatch:
        source = f"{self.client.protocol} {self.client.host} {info.label}"
        stack, build_id, linked = self._build_for(nb, info, source)
        ch = ChannelWatch(info, source, build_id, stack, self.listeners_for(info))
        if linked:
            ch.detectors = [d for d in detectors_for(stack) if d.kind != "pressure_drift"]
            ch.detector_note = f"the detectors of build {build_id} ({stack.describe()}), linked by barcode {info.barcode!r}"
        cycler = {"protocol": self.client.protocol, "host": self.client.host, "port": self.client.port,
                  "channel_key": info.key, "unit": info.unit, "channel": info.channel, "test_id": info.test_id,
                  "test_name": info.test_name, "barcode": info.barcode}
        provenance = {"app": resources.APP_NAME, "app_version": resources.APP_VERSION, "source": source,
                      "cycler": cycler, "stack": stack.to_dict(),
                      **({"detectors": describe(ch.detectors)} if ch.detectors else {})}
        protocol = f"{self.client.protocol}:{info.test_name or 'test'}"
        ch.provenance = provenance
        ch.writer = RunWriter(self.notebook_path)
        ch.run_id = ch.writer.start_run(build_id, protocol, dumps({"cycler": cycler}), provenance)
        with nb.conn:
            nb.conn.execute("UPDATE runs SET source = ? WHERE id = ?", (source, ch.run_id))
        for listener in ch.listeners:
            listener.on_status("running", "")
        self._event(ch, "cycler_watch", "info", f"watching {source} ({info.test_name or 'a test'}"
                    f"{', barcode ' + info.barcode if info.barcode else ''}) as run {ch.run_id}",
                    {"cycler": cycler, "build_id": build_id, "linked": linked})
        return ch

    def _build_for(self, nb: Notebook, info: ChannelInfo, source: str):
        """(stack, build id, linked): the saved build named by the test's barcode, else
        a placeholder that describes no cell (as an import makes)."""
        if info.barcode:
            row = nb.conn.execute("SELECT id FROM builds WHERE name = ? AND template != ? ORDER BY id DESC LIMIT 1",
                                  (info.barcode, IMPORTED_TEMPLATE)).fetchone()
            if row is not None:
                stack = nb.build(row[0])
                if describes_cell(stack):
                    return stack, row[0], True
        stack = empty_stack(name=(info.barcode or source)[:80],
                            notes=f"Watched on {source}; the cycler does not describe the cell's layers, area or "
                                  "masses.").with_changes(template=IMPORTED_TEMPLATE)
        return stack, nb.save_build(stack), False

    def _loop(self) -> None:
        backoff = self.settings.backoff_s
        lost_at: float | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if not self.client.connected:
                    self.client.connect()
                states = self._states()
                if lost_at is not None:
                    offline = time.monotonic() - lost_at
                    self._check_tests()
                    for ch in self._open_channels():
                        self._event(ch, "cycler_reconnected", "info",
                                    f"{ch.source}: contact back after {offline:.1f} s; points resume after point "
                                    f"{ch.last_point}", {"offline_s": offline, "last_point": ch.last_point})
                    lost_at, backoff = None, self.settings.backoff_s
                for ch in self.channels:
                    if not ch.done:
                        self._poll(ch, states.get(ch.info.key, ch.state))
            except CyclerError as exc:
                if lost_at is None:
                    lost_at = time.monotonic()
                    for ch in self._open_channels():
                        self._event(ch, "cycler_disconnected", "warning",
                                    f"{exc}; reconnecting (the run goes on being watched)",
                                    {"host": exc.host, "command": exc.command, "detail": exc.detail})
                self.client.close()
                self._wait(backoff)
                backoff = min(backoff * 2, self.settings.backoff_max_s)
                continue
            self.rounds += 1
            if self.settings.until_done and not self._open_channels():
                return
            self._wait(self.settings.poll_s - (time.monotonic() - started))

    def _check_tests(self) -> None:
        """After an outage: a channel whose test changed meanwhile (its point indices
        restarted) is closed, since the end of its test was not seen; nothing of the new
        test is taken for the old one's."""
        tests = {info.key: info.test_id for info in self.client.channels()}
        for ch in self._open_channels():
            if tests.get(ch.info.key, ch.info.test_id) != ch.info.test_id:
                self._finish(ch, "aborted", f"test {ch.info.test_id} was replaced on the cycler by test "
                                            f"{tests[ch.info.key]} while the connection was down; its end was not seen")

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)

    def _open_channels(self) -> list[ChannelWatch]:
        return [ch for ch in self.channels if not ch.done]

    def _states(self) -> dict[str, str]:
        keys = [ch.info.key for ch in self._open_channels()]
        return self.client.states(keys) if keys else {}

    def _poll(self, ch: ChannelWatch, state: str) -> None:
        """Fetch and take the channel's new points; close its run once its test ended
        and every point is in."""
        ch.state = state
        for records in self.client.history(ch.info.key, ch.last_point):
            self._take(ch, records)
        if ch.writer.error is not None:     # the notebook stopped taking samples (disk full...): say so, stop watching it
            self._finish(ch, "failed", str(ch.writer.error))
            return
        if state in ENDED:
            if ch.alarm is not None:
                self._finish(ch, self._alarm_status(ch), ch.alarm["message"])
            elif state == FINISHED:
                self._finish(ch, "completed", "the cycler's test ended")
            elif state == STOPPED:
                self._finish(ch, "aborted", "the test was stopped at the cycler")
            elif state == FAULT:
                self._finish(ch, "aborted", "the cycler's protection ended the test")
            else:
                self._finish(ch, "aborted", f"the channel is {state}")

    def _take(self, ch: ChannelWatch, records: np.ndarray) -> None:
        fresh = records[records["point"] > ch.last_point]      # never a point twice
        if not fresh.size:
            return
        expected = ch.last_point + 1
        if int(fresh["point"][0]) != expected:
            self._event(ch, "cycler_gap", "warning",
                        f"{ch.source}: points {expected} to {int(fresh['point'][0]) - 1} are missing from the cycler's log",
                        {"first_missing": expected, "last_missing": int(fresh["point"][0]) - 1})
        ch.last_point = int(fresh["point"][-1])
        # The station numbers each step run once, from 0 (a cycler's step id repeats every cycle).
        starts = np.flatnonzero((np.diff(fresh["step"]) != 0) | (np.diff(fresh["cycle"]) != 0)) + 1
        bounds = [0, *starts.tolist(), fresh.size]
        for a, b in zip(bounds, bounds[1:]):
            part = fresh[a:b]
            key = (int(part["step"][0]), int(part["cycle"][0]))
            if key != ch.step_key:
                if ch.step_key is not None:
                    self._step_ended(ch)
                ch.step_key, ch.step_index = key, ch.step_index + 1
                ch.step_q = [0.0, 0.0, 0.0]
            # the cycler's counters of the step in progress (Ah), and its mean current's sign
            ch.step_q = [max(ch.step_q[0], float(part["charge_ah"].max())),
                         max(ch.step_q[1], float(part["discharge_ah"].max())), float(part["current_a"][-1])]
            self._judge(ch, to_samples(part, np.full(part.size, ch.step_index, dtype=np.int32)))

    def _step_ended(self, ch: ChannelWatch) -> None:
        """The step in progress ended: store its summary and tally the cycler's counters by
        cycle; after a discharge, the cycle's Coulombic efficiency goes to the detectors
        that judge whole cycles."""
        if ch.step_samples:
            for summary in step_summaries(np.concatenate(ch.step_samples)):
                ch.writer.step(summary)
            ch.step_samples = []
        cycle = ch.step_key[1]
        q = ch.cycle_q.setdefault(cycle, {"charge": 0.0, "discharge": 0.0})
        q["charge"] += ch.step_q[0] * 1e3
        q["discharge"] += ch.step_q[1] * 1e3
        if ch.step_q[2] >= 0 or ch.alarm is not None or not ch.detectors:
            return
        for detector in (d for d in ch.detectors if hasattr(d, "update_cycle")):
            trip = detector.update_cycle(cycle, q["charge"], q["discharge"], ch.t_now, max(ch.n_samples - 1, 0))
            if trip is not None:
                self._alarm(ch, trip, ch.t_now)
                return

    def _judge(self, ch: ChannelWatch, batch: np.ndarray) -> None:
        """Store the batch and run the detectors over it (an alarm acts at once, before the
        next batch). Until a trace-chosen channel has its detectors, its batches are stored
        and held, then judged together from the run's first sample."""
        self._store(ch, batch)
        if ch.detectors is None:
            ch.pending.append(batch)
            held = np.concatenate(ch.pending)
            if not self._choose_detectors(ch, held):
                return
            ch.pending = []
            batch = held
        if ch.alarm is not None:
            return              # latched: one alarm per run, as the engine's
        trip = next((t for d in ch.detectors if hasattr(d, "update")
                     and (t := d.update(batch["t"], batch["current"], batch["voltage"]))), None)
        if trip is not None:
            first = ch.n_samples - batch.size         # the run index of the batch's first sample
            self._alarm(ch, trip, float(batch["t"][trip.detected_index - first]))

    def _choose_detectors(self, ch: ChannelWatch, held: np.ndarray) -> bool:
        """Detectors for a cell known only by its trace, once the trace tells (False:
        not yet). A Li | Li cell shows what it is only once the current has run both
        ways for a while (analysis.cell_type), so a trace that is not yet a full or a
        Li | Li cell is held until it is one, or for GUESS_MAX_SAMPLES. A live full cell has no finished charge yet to tell its
        capacity, so its soft-short detector judges the flicker only (capacity
        unbounded: no stall or overcharge verdict), with a sudden drop."""
        on = np.abs(held["current"]) > 1e-7
        if np.count_nonzero(on) < GUESS_SAMPLES:
            return False
        guess = guess_cell_type(held["current"], held["voltage"])
        if guess.kind not in ("full", "symmetric") and np.count_nonzero(on) < GUESS_MAX_SAMPLES:
            return False
        if guess.kind == "full":
            ch.detectors = [SoftShortDetector(SoftShortSettings(capacity_mAh=UNBOUNDED_MAH)),
                            SuddenDropDetector(SuddenDropSettings())]
            notes = ["capacity unknown: the soft-short detector judges voltage flicker, not stall or overcharge"]
        else:
            ch.detectors, notes = trace_detectors(guess.kind, held["t"], held["current"], held["voltage"])
        ch.detector_note = f"{guess.reason}; detectors {', '.join(d.kind for d in ch.detectors)}" + \
                           "".join(f"; {n}" for n in notes)
        self._event(ch, "cycler_detectors", "info", f"{ch.source}: {ch.detector_note}",
                    {"cell_type": guess.kind, "detectors": describe(ch.detectors)})
        return True

    def _store(self, ch: ChannelWatch, batch: np.ndarray) -> None:
        ch.writer.append(batch)
        ch.step_samples.append(batch)
        ch.n_samples += batch.size
        ch.t_now = float(batch["t"][-1])
        for listener in ch.listeners:
            listener.on_batch(batch)

    def _alarm(self, ch: ChannelWatch, trip, detected_t_s: float) -> None:
        """detected_t_s: the time of the sample that confirmed the trip, as the cycler
        logged it (what a stop's latency is measured from); trip.t_s is where it began."""
        self._event(ch, trip.kind, "alarm", trip.message,
                    {**trip.evidence, "detected_index": trip.detected_index, "detected_t_s": detected_t_s},
                    t_s=trip.t_s, sample_index=trip.index)
        ch.alarm = {"kind": trip.kind, "message": trip.message}
        if self.settings.policy != "stop":
            return
        if not self.client.can_stop:
            self._event(ch, "cycler_no_stop", "warning", f"{ch.source}: this interface has no stop: the cycler keeps "
                                                         "running the channel", {})
            return
        self._event(ch, "cycler_stop_request", "info", f"{ch.source}: asked the cycler to stop the channel "
                                                       f"({trip.kind})", {"after": trip.kind})
        for attempt in range(1, STOP_ATTEMPTS + 1):
            try:
                answer = self.client.stop(ch.info.key)
            except CyclerError as exc:
                severity = "alarm" if attempt == STOP_ATTEMPTS else "warning"
                self._event(ch, "cycler_stop_failed", severity,
                            f"{exc} (attempt {attempt} of {STOP_ATTEMPTS})"
                            + ("; STOP THE CHANNEL AT THE CYCLER" if attempt == STOP_ATTEMPTS else ""),
                            {"attempt": attempt, "detail": exc.detail})
                continue
            ch.stop_answer = answer.reply
            self._event(ch, "cycler_stop_answer", "info" if answer.accepted else "alarm",
                        f"{ch.source}: the cycler answered {answer.reply}"
                        + ("" if answer.accepted else ": the channel may still run; stop it at the cycler"),
                        {"accepted": answer.accepted, "reply": answer.reply})
            return

    def _finish(self, ch: ChannelWatch, status: str, message: str) -> None:
        ch.pending = []     # too few samples under current to choose detectors: stored unjudged
        if ch.step_key is not None:
            self._step_ended(ch)
        ch.status, ch.message = status, message
        self._event(ch, "cycler_run_closed", "info", f"{ch.source}: run {ch.run_id} {status}: {message}",
                    {"status": status, "n_samples": ch.n_samples, "last_point": ch.last_point})
        writer, ch.writer = ch.writer, None
        writer.finish(status, message)
        if ch.detectors and ch.detector_note and "detectors" not in ch.provenance:
            # chosen from the trace after the run row was written: kept, so replay judges alike
            # added to the row as it is now: figures given to the run in the browser meanwhile stay
            with Notebook(self.notebook_path) as nb:
                ch.provenance = add_provenance(nb, ch.run_id, detectors=describe(ch.detectors),
                                               detector_choice=ch.detector_note)
        for listener in ch.listeners:
            listener.on_status(status, message)

    def _event(self, ch: ChannelWatch, kind: str, severity: str, message: str, evidence: dict,
               t_s: float | None = None, sample_index: int | None = None) -> None:
        event = {"run_id": ch.run_id, "t_s": ch.t_now if t_s is None else t_s,
                 "sample_index": max(ch.n_samples - 1, 0) if sample_index is None else sample_index,
                 "kind": kind, "severity": severity, "message": message, "evidence": evidence}
        if ch.writer is not None:
            ch.writer.event(event)
        ch.events.append(event)
        for listener in ch.listeners:
            listener.on_event(event)
        if self.on_event is not None:
            self.on_event(event, ch)

