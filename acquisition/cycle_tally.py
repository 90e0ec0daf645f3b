"""Per-cycle figures for the live monitor, accumulated as samples arrive: charge and
energy passed each way in every cycle, so the latest completed cycle can be shown on
every frame without keeping or re-reading the run. Plain numpy, no Qt.

Positive current is charge (BDF convention; plating on the bottom electrode of a Li |
Li cell). CE is reported as Q(-)/Q(+): discharge over charge for a full cell, stripped
over plated for a Li | Li cell; the label says which.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.segments import sample_durations


@dataclass(frozen=True)
class CycleFigures:
    cycle: int
    charge_mAh: float       # Q(+)
    discharge_mAh: float    # Q(-)
    energy_in_mWh: float
    energy_out_mWh: float

    @property
    def ce(self) -> float | None:
        return self.discharge_mAh / self.charge_mAh if self.charge_mAh > 0 and self.discharge_mAh > 0 else None


class CycleTally:
    """Running sums per (cycle, direction) over the samples seen so far."""

    def __init__(self) -> None:
        self.seen = 0
        self._t_last = 0.0
        self._sums = np.zeros((0, 4))   # per cycle: Q+, Q-, E+, E- (mAh, mWh)

    def extend(self, new: np.ndarray) -> None:
        """Add `new`, the samples that follow those given before."""
        if new.size == 0:
            return
        t = new["t"]
        if self.seen == 0 and t.size > 1:
            # A stream may begin mid-run (a replay that seeks): its first sample stands for one
            # sample interval, not for all the time since t = 0.
            self._t_last = float(t[0] - (t[1] - t[0]))
        dt = sample_durations(np.concatenate(([self._t_last], t)))[1:]
        current, voltage = new["current"], new["voltage"]
        q = np.abs(current) * dt / 3.6                 # A s -> mAh
        e = q * np.abs(np.nan_to_num(voltage))         # mAh V = mWh
        cycle = new["cycle"].astype(np.int64)
        top = int(cycle.max()) + 1
        if top > self._sums.shape[0]:
            self._sums = np.vstack((self._sums, np.zeros((top - self._sums.shape[0], 4))))
        charge, discharge = current > 0, current < 0
        for column, weights in enumerate((q * charge, q * discharge, e * charge, e * discharge)):
            self._sums[:top, column] += np.bincount(cycle, weights=weights, minlength=top)
        self.seen += new.size
        self._t_last = float(t[-1])

    def figures(self, cycle: int) -> CycleFigures | None:
        if not 0 <= cycle < self._sums.shape[0]:
            return None
        q_in, q_out, e_in, e_out = self._sums[cycle]
        return CycleFigures(cycle, float(q_in), float(q_out), float(e_in), float(e_out))

    def latest_complete(self, current_cycle: int) -> CycleFigures | None:
        """The last cycle before `current_cycle` that passed charge (a finished cycle)."""
        for cycle in range(min(current_cycle, self._sums.shape[0]) - 1, 0, -1):
            if self._sums[cycle, 0] > 0 or self._sums[cycle, 1] > 0:
                return self.figures(cycle)
        return None
