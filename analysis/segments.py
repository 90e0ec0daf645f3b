"""Splitting a sample stream into constant-current steps and integrating charge."""
from __future__ import annotations

import numpy as np


def step_bounds(step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) indices of runs of equal step number; ends are exclusive."""
    step = np.asarray(step)
    if step.size == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    change = np.flatnonzero(np.diff(step)) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [step.size]))
    return starts, ends


def sample_durations(t: np.ndarray) -> np.ndarray:
    """The interval each sample stands for: from the previous sample (or t=0) to it.

    An instrument holds its set current between readings, so charge = sum |I_k| dt_k is
    exact for constant-current steps sampled at any rate."""
    t = np.asarray(t, dtype=float)
    return np.diff(t, prepend=0.0 if t.size and t[0] >= 0 else t[:1])
