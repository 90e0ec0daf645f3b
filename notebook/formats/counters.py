"""Instrument charge counters turned into the signed charge per sample (TimeSeries.dq_Ah).

Cyclers such as Neware and Landt keep two capacity counters, one for charge and one for
discharge, each counting up from 0 during a step and starting again from 0 at the next
step. The charge a sample stands for is then its counter's rise since the previous
sample within a step, and the counter's whole value at a step's first sample (which
counts from the step's start, the instant of the previous sample)."""
from __future__ import annotations

import numpy as np

from analysis.segments import step_starts


def step_numbers(*keys: np.ndarray) -> np.ndarray:
    """A running step count (1, 2, ...) that rises wherever `keys` change, so that a
    program step index that repeats every cycle becomes one number per step run."""
    return np.cumsum(step_starts(*keys)).astype(np.int64)


def per_step_counter_dq(charge_Ah: np.ndarray, discharge_Ah: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Signed charge (Ah, + = charge) per sample from per-step charge and discharge
    counters (both >= 0) that restart at the samples where `starts` is True."""
    net = np.asarray(charge_Ah, dtype=float) - np.asarray(discharge_Ah, dtype=float)
    dq = np.empty_like(net)
    if net.size:
        dq[0] = net[0]
        dq[1:] = np.diff(net)
        dq[starts] = net[starts]
    return dq
