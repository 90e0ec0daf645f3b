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


def half_cycle_labels(current: np.ndarray, min_current_a: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(direction, half_cycle) per sample. direction is +1 charge, -1 discharge, 0 rest
    (|I| <= min_current_a). half_cycle counts runs of equal non-zero direction from 0;
    rest samples belong to the half cycle before them (-1 before the first one)."""
    direction = current_direction(current, min_current_a)
    active = np.flatnonzero(direction)
    if active.size == 0:
        return direction, np.full(direction.size, -1, dtype=np.int64)
    # a new half cycle begins wherever the sign of the last non-rest sample changes
    flips = np.concatenate(([1], (np.diff(direction[active]) != 0).astype(np.int64)))
    half_at_active = np.cumsum(flips) - 1
    marks = np.zeros(direction.size, dtype=np.int64)
    marks[active] = half_at_active + 1
    half = np.maximum.accumulate(marks) - 1
    return direction, half


def derive_cycles(direction: np.ndarray, half_cycle: np.ndarray, first_direction: int) -> np.ndarray:
    """Cycle number (from 1) per sample: a cycle begins with each half cycle in
    first_direction (+1: charge first, -1: discharge first). The first half cycle
    always opens cycle 1, whatever its direction; rest samples join the cycle before."""
    half_cycle = np.asarray(half_cycle)
    n_half = int(half_cycle.max()) + 1 if half_cycle.size else 0
    if n_half == 0:
        return np.ones(half_cycle.size, dtype=np.int64)
    active = np.flatnonzero(direction)
    starts = active[np.concatenate(([True], np.diff(half_cycle[active]) != 0))]
    opens = direction[starts] == first_direction
    opens[0] = True
    cycle_of_half = np.cumsum(opens)
    return cycle_of_half[np.maximum(half_cycle, 0)]


def current_direction(current: np.ndarray, min_current_a: float = 0.0) -> np.ndarray:
    """+1 charge, -1 discharge, 0 rest (|I| <= min_current_a) per sample, as int8."""
    current = np.asarray(current, dtype=float)
    return (current > min_current_a).view(np.int8) - (current < -min_current_a).view(np.int8)
