"""Splitting a sample stream into constant-current steps, and the rule that integrates
charge over it: which interval each sample's current is credited for (sample_durations)."""
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


def step_starts(*keys: np.ndarray) -> np.ndarray:
    """True at each sample where any of `keys` (a step index, a cycle, a direction...)
    differs from the sample before; True at the first sample."""
    n = len(keys[0])
    start = np.zeros(n, dtype=bool)
    if n:
        start[0] = True
    for key in keys:
        key = np.asarray(key)
        start[1:] |= key[1:] != key[:-1]
    return start


def segment_starts(n: int, current: np.ndarray | None = None, step: np.ndarray | None = None,
                   min_current_a: float = 0.0) -> np.ndarray:
    """True where a sample opens a new segment: the first sample, and each sample whose
    step differs from the one before, or whose current direction (charge, discharge,
    rest at |I| <= min_current_a) does."""
    keys = ([] if step is None else [step]) + ([] if current is None else [current_direction(current, min_current_a)])
    return step_starts(*keys) if keys else step_starts(np.zeros(n))


def sample_durations(t: np.ndarray, current: np.ndarray | None = None, step: np.ndarray | None = None,
                     min_current_a: float = 0.0) -> np.ndarray:
    """The time (s) each sample's current is credited for, so that charge = sum I_k dt_k.

    Inside a segment (segment_starts) a sample stands for the interval since the one
    before: the instrument holds the current between readings, whatever the rate. The
    sample that opens a segment cannot be credited the whole gap before it, because the
    change happened somewhere in that gap: a station that time-stamps a reading at the
    end of its interval (the SMU here) began the segment one interval before its first
    sample, while EC-Lab and Neware log a step's first point as it starts (a gap of
    ~1 ms). It is credited min(gap, the segment's own first interval), which is exact
    for both: a long rest logged sparsely is never counted at the next step's current,
    and the first sample of a record is never credited from t = 0. A one-sample segment
    uses the record's median interval instead of its own."""
    t = np.asarray(t, dtype=float)
    n = t.size
    if n == 0:
        return np.zeros(0)
    dt = np.empty(n)
    dt[1:] = np.diff(t)
    dt[0] = max(t[0], 0.0)
    opens = np.flatnonzero(segment_starts(n, current, step, min_current_a))
    nxt = opens + 1
    # the segment's own first interval, where its second sample is in the same segment
    inside = nxt < n
    inside[inside] &= ~np.isin(nxt[inside], opens)
    positive = dt[1:][dt[1:] > 0]
    fallback = float(np.median(positive)) if positive.size else 0.0
    own = np.full(opens.size, fallback)
    own[inside] = dt[nxt[inside]]
    gap = dt[opens]
    # a gap < 0 (time going backwards) is left for callers to report
    dt[opens] = np.where(gap < 0, gap, np.minimum(gap, own))
    return dt


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
