"""Replaying a logged run: the same stream a live run produces (sample batches, events,
status), read from a notebook opened read-only, paced at any speed, with seeking,
pausing, looping a region and stepping between alarms. The detectors run again on the
replayed samples, with the thresholds the run stored or new ones, so a lab can tune
them on old data; original alarms are replayed as they were logged, marked
origin "original", and the re-evaluated ones as origin "replay". Nothing is written.

Seeking restarts the detectors at the new position: they judge what is played."""
from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict

import numpy as np

from acquisition.alarms import DETECTORS, default_settings, describe, detectors_from
from analysis.cell_type import guess_cell_type, trace_detectors
from notebook import Notebook
from notebook.basis import describes_cell

FRAME_S = 1 / 60          # wall time between batches when paced (faster than the monitor draws)
FAST_BATCH = 20000        # samples per batch when played as fast as possible


def load_detectors(nb: Notebook, run: dict, overrides: dict | None = None, samples: np.ndarray | None = None) -> list:
    """The run's own detectors (from its provenance); for an imported run that has none,
    the defaults for its build, or, where its build describes no cell, those that fit its
    trace (`samples`: analysis.cell_type, as `analyze shorts` chooses them); with
    overrides applied."""
    provenance = nb.provenance(run["id"], run)
    stored = provenance.get("detectors")
    if not stored:
        stack = nb.build(run["build_id"])
        if samples is not None and samples.size and not describes_cell(stack):
            guess = guess_cell_type(samples["current"], samples["voltage"])
            chosen, _ = trace_detectors(guess.kind, samples["t"], samples["current"], samples["voltage"])
            kind_of = {cls: kind for kind, cls in DETECTORS.items()}
            stored = {kind_of[type(d)]: asdict(d.settings) for d in chosen}
        else:
            stored = {kind: vars(s) for kind, s in default_settings(stack).items()}
    return detectors_from(stored, overrides)


class Rejudge:
    """Detectors fed a replayed stream. Each counts samples from its own first one, so
    each remembers the run index it started at; one that fires starts afresh after the
    sample it fired on, so later events show too."""

    def __init__(self, detectors: list, first_index: int = 0):
        self.entries = [[d, first_index] for d in detectors if hasattr(d, "update")]

    def feed(self, batch: np.ndarray, first_index: int) -> list[dict]:
        events = []
        for entry in self.entries:
            start = 0
            while start < batch.size:
                detector, base = entry
                part = batch[start:]
                trip = detector.update(part["t"], part["current"], part["voltage"])
                if trip is None:
                    break
                detected = base + trip.detected_index
                events.append({"t_s": trip.t_s, "kind": trip.kind, "sample_index": base + trip.index,
                               "detected_index": detected, "message": trip.message, "evidence": trip.evidence,
                               "severity": "alarm", "origin": "replay"})
                entry[0], entry[1] = type(detector)(detector.settings), detected + 1
                start = detected + 1 - first_index
        return sorted(events, key=lambda e: e["t_s"])


def reevaluate(samples: np.ndarray, detectors: list, batch: int = FAST_BATCH) -> list[dict]:
    """Every point where the detectors fire over a whole run's samples."""
    judge = Rejudge(detectors)
    events = []
    for start in range(0, samples.size, batch):
        events += judge.feed(samples[start:start + batch], start)
    return sorted(events, key=lambda e: e["t_s"])


class ReplayPlayer:
    """Plays run `run_id` of the notebook at `path` to listeners (RunListener), on its own thread."""

    def __init__(self, path, run_id: int, speed: float = 1.0, overrides: dict | None = None, listeners=(),
                 hold_at_end: bool = False):
        """hold_at_end: at the end of the run, wait (seekable) instead of finishing, as a
        player window does."""
        self.nb = Notebook(path, read_only=True)
        self.run_id = run_id
        self.run_row = self.nb.run(run_id)
        self.samples = self.nb.samples(run_id)
        self.original_events = self.nb.events(run_id)
        self.overrides = overrides
        self.judge = Rejudge(load_detectors(self.nb, self.run_row, overrides, self.samples))
        self.listeners = list(listeners)
        self.speed = float(speed)
        self.status = "ready"
        self.position = 0                     # index of the next sample to play
        self.loop: tuple[float, float] | None = None
        self._lock = threading.RLock()   # seek() inside the loop-region wrap runs under it too
        self._paused = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._origin_t = 0.0
        self._origin_wall = 0.0
        self._next_original = 0
        self.hold_at_end = hold_at_end
        self.replay_events: list[dict] = []

    # -- controls, from any thread --
    def start(self) -> None:
        self._thread = threading.Thread(target=self._play, name="replay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        with self._lock:
            self._rebase()
        self._paused.clear()

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be above 0 (x original timing) or inf, got {speed!r}")
        with self._lock:
            self._rebase()
            self.speed = float(speed)

    def seek(self, t_s: float) -> None:
        """Continue from run time t_s; the detectors restart there."""
        with self._lock:
            self.position = int(np.searchsorted(self.samples["t"], t_s))
            self._next_original = int(np.searchsorted([e["t_s"] for e in self.original_events], t_s))
            self.judge = Rejudge(load_detectors(self.nb, self.run_row, self.overrides, self.samples), self.position)
            self._rebase()

    def seek_cycle(self, cycle: int) -> None:
        hits = np.flatnonzero(self.samples["cycle"] == cycle)
        if not hits.size:
            raise ValueError(f"run {self.run_id} has no cycle {cycle}")
        self.seek(float(self.samples["t"][hits[0]]))

    def alarm_times(self) -> list[float]:
        times = [e["t_s"] for e in self.original_events if e["severity"] == "alarm"]
        return sorted(set(times + [e["t_s"] for e in self.replay_events]))

    def next_alarm(self, forward: bool = True) -> float | None:
        """Seek to the next (or previous) alarm, original or re-evaluated; its time, or None."""
        now = float(self.samples["t"][min(self.position, self.samples.size - 1)]) if self.samples.size else 0.0
        times = [t for t in self.alarm_times() if (t > now + 1e-9 if forward else t < now - 1e-9)]
        if not times:
            return None
        target = times[0] if forward else times[-1]
        self.seek(target)
        return target

    def set_loop(self, t_start: float | None, t_end: float | None = None) -> None:
        if t_start is None:
            self.loop = None
            return
        if not t_end > t_start:
            raise ValueError("a loop region needs its end after its start")
        self.loop = (t_start, t_end)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        self.stop()
        self.join(5)
        self.nb.close()

    # -- playing --
    def _rebase(self) -> None:
        t = self.samples["t"]
        self._origin_t = float(t[self.position]) if self.position < t.size else (float(t[-1]) if t.size else 0.0)
        self._origin_wall = time.monotonic()

    def _emit(self, method: str, *args) -> None:
        for listener in self.listeners:
            getattr(listener, method)(*args)

    def _play(self) -> None:
        self.status = "running"
        self._emit("on_status", "running", f"replaying run {self.run_id}")
        with self._lock:
            self._rebase()
        while not self._stop.is_set():
            if self._paused.is_set():
                time.sleep(0.02)
                continue
            with self._lock:
                batch = self._next_batch()
                if batch is not None and batch.size:
                    # Delivered under the lock: a seek waits for it, so no batch from before
                    # a seek reaches the listeners after it.
                    self._deliver(batch)
            if batch is None:
                if self.loop is not None:
                    self.seek(self.loop[0])
                    continue
                if not self.hold_at_end:
                    break
                if self.status != "ended":
                    self.status = "ended"
                    self._emit("on_status", "ended", "end of the run: seek to play again")
                time.sleep(0.02)
                continue
            if self.status == "ended":
                self.status = "running"
                self._emit("on_status", "running", f"replaying run {self.run_id}")
            if math.isfinite(self.speed):
                time.sleep(FRAME_S)
        self.status = "completed" if not self._stop.is_set() else "aborted"
        self._emit("on_status", self.status, "")

    def _next_batch(self) -> np.ndarray | None:
        t = self.samples["t"]
        if self.position >= t.size:
            return None
        if math.isfinite(self.speed):
            until = self._origin_t + (time.monotonic() - self._origin_wall) * self.speed
            end = int(np.searchsorted(t, until, side="right"))
        else:
            end = self.position + FAST_BATCH
        end = min(end, t.size)
        if self.loop is not None:
            end = min(end, int(np.searchsorted(t, self.loop[1], side="right")))
            if end <= self.position:
                return None
        batch = self.samples[self.position:end]
        self.position = max(end, self.position)
        return batch

    def _deliver(self, batch: np.ndarray) -> None:
        self._emit("on_batch", batch)
        t_end = float(batch["t"][-1])
        while self._next_original < len(self.original_events) and self.original_events[self._next_original]["t_s"] <= t_end:
            event = dict(self.original_events[self._next_original], origin="original")
            self._emit("on_event", event)
            self._next_original += 1
        for event in self.judge.feed(batch, self.position - batch.size):
            event["run_id"] = self.run_id
            self.replay_events.append(event)
            self._emit("on_event", event)


def replay_headless(path, run_id: int, overrides: dict | None = None) -> dict:
    """Re-run the detectors over a whole run as fast as possible: the events they give,
    the run's original events, and the thresholds used. Nothing is written."""
    with Notebook(path, read_only=True) as nb:
        run = nb.run(run_id)
        samples = nb.samples(run_id)
        detectors = load_detectors(nb, run, overrides, samples)
        thresholds = describe(detectors)
        events = reevaluate(samples, detectors)
        original = [{"t_s": e["t_s"], "kind": e["kind"], "sample_index": e["sample_index"]} for e in nb.events(run_id)
                    if e["severity"] == "alarm"]
    return {"run_id": run_id, "events": [{k: e[k] for k in ("t_s", "kind", "sample_index", "message")} for e in events],
            "original_events": original, "thresholds": thresholds}
