"""The contract between a simulated cell and the emulated instruments.

The instruments set a piecewise-constant current and ask for voltages at sample
times. `take` advances the cell's state only up to the last sample it returns, so an
instrument that stops at a voltage limit leaves the cell exactly where it stopped."""
from __future__ import annotations

import threading

import numpy as np


def traj_size(traj: dict) -> int:
    return len(next(iter(traj.values())))


class SimCell:
    noise_v = 2e-6

    def __init__(self, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        self._t = 0.0
        self._current = 0.0
        # Several emulated instruments (SMU, analyser, voltmeter) measure the same cell.
        self.lock = threading.RLock()
        self.last_reference = np.zeros(0)   # reference potentials of the last take()

    # -- subclasses provide --
    def _trajectory(self, times: np.ndarray) -> dict:
        """State arrays at `times` (> self._t) under the present current, without committing."""
        raise NotImplementedError

    def _voltage(self, traj: dict) -> np.ndarray:
        raise NotImplementedError

    def _commit(self, traj: dict, index: int) -> None:
        """Make the state at traj[...][index] the cell's state."""
        raise NotImplementedError

    def _reference(self, traj: dict) -> np.ndarray:
        """Working electrode vs a reference electrode (V); NaN where the cell has none."""
        return np.full(traj_size(traj), np.nan)

    # -- what the instruments use --
    def set_current(self, t: float, amps: float) -> None:
        with self.lock:
            self.advance(t)
            self._current = amps

    def advance(self, t: float) -> None:
        with self.lock:
            self._advance(t)

    def _advance(self, t: float) -> None:
        if t > self._t:
            self._commit(self._trajectory(np.array([t])), 0)
            self._t = t

    def take(self, times: np.ndarray, v_min: float = -np.inf, v_max: float = np.inf) -> np.ndarray:
        """Voltages at increasing `times`, stopping after the first sample outside
        [v_min, v_max] (that sample included); the state advances to the last one."""
        with self.lock:
            return self._take(np.asarray(times, dtype=float), v_min, v_max)

    def _take(self, times: np.ndarray, v_min: float, v_max: float) -> np.ndarray:
        if times.size == 0:
            return times.copy()
        traj = self._trajectory(times)
        v = self._voltage(traj) + self._rng.normal(0.0, self.noise_v, times.size)
        outside = np.flatnonzero((v < v_min) | (v > v_max))
        last = int(outside[0]) if outside.size else times.size - 1
        self.last_reference = self._reference(traj)[: last + 1]
        self._commit(traj, last)
        self._t = float(times[last])
        return v[: last + 1]

    def voltages(self, times: np.ndarray) -> np.ndarray:
        return self.take(times)
