"""One simulated cycler channel, protocol-neutral: a simulated cell (instruments.sim.cells)
run through a protocol's current steps on the cycler's own clock, with every point
logged as a cycler logs it (RECORD_DTYPE, point index from 1, step capacity counters).
The Neware emulator serves these over its XML interface; Maccor and Arbin emulators
can serve the same channels over theirs.

The steps come expanded (acquisition.protocol's StepList.iter_steps, called by whoever
builds the emulator: instruments may not import acquisition); a step with a current
(CurrentStep) is run, any other (an impedance sweep, a fixture set-point) is not a
cycler's and is skipped.

Time is lazy: a channel advances to the emulator's clock when asked (each request
advances every channel first), so its log is the same whatever the request rate.
"""
from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np

from typing import Iterable

from cell import Stack
from instruments.cyclers.base import FINISHED, RUNNING, empty_records
from instruments.sim.cells import sim_cell_for


def default_protocol(stack: Stack) -> str:
    """The paper's experiment for a cell of this kind."""
    kinds = stack.kinds()
    if "cathode" in kinds:
        return "cycling-c3-500"
    if kinds.count("anode") == 2:
        return "plate-strip-0.16"
    return "gitt"


class SimChannel:
    def __init__(self, stack: Stack, steps: Iterable, protocol_name: str = "", seed: int = 0, barcode: str = "",
                 test_id: int = 1, sample_interval_s: float | None = None):
        self.stack, self.protocol_name, self.barcode, self.test_id = stack, protocol_name, barcode, test_id
        self.sample_interval_s = sample_interval_s
        self.cell = sim_cell_for(stack, seed)
        self.state = RUNNING
        self.end_reason = ""
        self.t = 0.0                        # test time the channel has reached, s
        self.lock = threading.RLock()
        self._steps = iter(steps)
        self._step = None
        self._step_no = 0
        self._step_start = 0.0
        self._next_k = 1
        self._cap_ah = 0.0
        self._energy_wh = 0.0
        self._chunks: list[np.ndarray] = []
        self._n = 0
        self.log = empty_records(0)         # every point logged so far (rebuilt on demand)

    # -- what the emulator asks --
    @property
    def points(self) -> int:
        return self._n

    @property
    def step_type(self) -> str:
        if self.state != RUNNING or self._step is None:
            return "--"
        return "cc" if self._step.current_a > 0 else "dc" if self._step.current_a < 0 else "rest"

    @property
    def step_no(self) -> int | None:
        return self._step_no if self.state == RUNNING and self._step is not None else None

    @property
    def cycle(self) -> int:
        return self._step.cycle if self._step is not None else 1

    @property
    def current_a(self) -> float:
        return self._step.current_a if self.state == RUNNING and self._step is not None else 0.0

    @property
    def step_time_s(self) -> float:
        return self.t - self._step_start if self._step is not None else 0.0

    @property
    def capacity_ah(self) -> float:
        return self._cap_ah

    @property
    def energy_wh(self) -> float:
        return self._energy_wh

    def records(self, start: int = 1, count: int | None = None) -> np.ndarray:
        """Logged points start .. start+count-1 (1-based, as the cycler numbers them)."""
        with self.lock:
            if self._chunks:
                self.log = np.concatenate([self.log, *self._chunks])
                self._chunks.clear()
            first = max(start - 1, 0)
            return self.log[first: None if count is None else first + count].copy()

    def voltage_now(self) -> float:
        with self.lock:
            if self._chunks:
                return float(self._chunks[-1]["voltage_v"][-1])
            return float(self.log["voltage_v"][-1]) if self.log.size else float("nan")

    def halt(self, state: str, reason: str) -> None:
        """End the test here: the channel stops driving current and logging."""
        with self.lock:
            if self.state != RUNNING:
                return
            self.state, self.end_reason = state, reason
            self.cell.set_current(self.t, 0.0)

    def advance(self, t_now: float) -> None:
        """Run the protocol up to test time `t_now`, logging each point."""
        with self.lock:
            while self.state == RUNNING and self.t < t_now:
                if self._step is None and not self._next_step():
                    self.halt(FINISHED, "the protocol ended")
                    return
                step = self._step
                interval = self.sample_interval_s or step.sample_interval_s
                end = self._step_start + step.duration_s
                upto = min(t_now, end)
                k_last = int(math.floor((upto - self._step_start) / interval + 1e-9))
                times = self._step_start + interval * np.arange(self._next_k, k_last + 1)
                if times.size:
                    v_min = -np.inf if step.v_min is None else step.v_min
                    v_max = np.inf if step.v_max is None else step.v_max
                    v = self.cell.take(times, v_min, v_max)
                    self._log(times[: v.size], v, step, interval)
                    self._next_k += v.size
                    self.t = float(times[v.size - 1])
                    if v.size < times.size:            # a cut-off ended the step
                        self._step = None
                        continue
                if upto >= end - 1e-9:
                    self.t = end
                    self._step = None
                else:
                    self.t = t_now

    def _next_step(self) -> bool:
        for step in self._steps:
            if hasattr(step, "current_a"):       # a cycler runs current steps; sweeps and fixtures are not its
                if self.sample_interval_s:
                    step = dataclasses.replace(step, sample_interval_s=self.sample_interval_s)
                self._step, self._step_start, self._next_k = step, self.t, 1
                self._step_no += 1
                self._cap_ah = self._energy_wh = 0.0
                self.cell.set_current(self.t, step.current_a)
                return True
        return False

    def _log(self, times: np.ndarray, v: np.ndarray, step, interval: float) -> None:
        n = times.size
        out = empty_records(n)
        out["point"] = self._n + 1 + np.arange(n)
        out["time_s"] = times
        out["current_a"] = step.current_a
        out["voltage_v"] = v
        out["step"] = self._step_no
        out["cycle"] = step.cycle
        cap = self._cap_ah + abs(step.current_a) * interval / 3600.0 * np.arange(1, n + 1)
        out["charge_ah" if step.current_a >= 0 else "discharge_ah"] = cap if step.current_a else 0.0
        self._cap_ah = float(cap[-1]) if step.current_a else 0.0
        self._energy_wh += float(np.sum(np.abs(step.current_a) * v)) * interval / 3600.0
        self._chunks.append(out)
        self._n += n

