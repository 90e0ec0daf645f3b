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

from analysis.segments import sample_durations, segment_starts


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
        self._last = None               # the last sample credited: where the next batch's intervals begin
        self._held = None               # a batch's last sample that opens a segment, credited with the next
        self._sums = np.zeros((0, 4))   # per cycle: Q+, Q-, E+, E- (mAh, mWh)

    def extend(self, new: np.ndarray) -> None:
        """Add `new`, the samples that follow those given before."""
        if new.size == 0:
            return
        self.seen += new.size
        # The rule of the analysis (segments.sample_durations), carried across batches: the
        # batch is judged with the sample before it, so a step change at its first sample is
        # not credited the whole gap, and a stream that begins mid-run (a replay that seeks)
        # does not credit its first sample from t = 0. A sample that opens a segment is
        # credited by the interval after it, so one that ends a batch waits for the next.
        batch = new if self._held is None else np.concatenate((self._held, new))
        run = batch if self._last is None else np.concatenate((self._last, batch))
        dt = sample_durations(run["t"], run["current"], run["step"])[run.size - batch.size:]
        hold = bool(segment_starts(run.size, run["current"], run["step"])[-1])
        self._held = batch[-1:].copy() if hold else None
        if hold:
            batch, dt = batch[:-1], dt[:-1]
        if batch.size == 0:
            return
        new = batch
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
        self._last = new[-1:].copy()

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
