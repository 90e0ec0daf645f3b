"""What kind of cell a voltage trace comes from, when nothing else says (a file, or an
imported run with no build), and the short detectors that fit such a trace.

The voltage while current flows tells the kinds apart (DOMAIN.md): a full cell works
between about 2.5 and 4.5 V; a Li | Li symmetric cell polarises by millivolts to tens of
millivolts, with the sign of the current; an anode half cell (Li against graphite, an
interlayer or a current collector) sits between 0 and about 2 V whatever the current's
sign. A trace that is none of these is left unknown and says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.segments import half_cycle_labels, sample_durations
from analysis.shorts import (HardShortDetector, HardShortSettings, SoftShortDetector, SoftShortSettings,
                             SuddenDropDetector, SuddenDropSettings)

CELL_TYPES = ("full", "symmetric", "half")
FULL_WINDOW_V = (2.5, 4.5)          # where a full cell's median voltage under current lies
FULL_MIN_V = 2.0                    # ... and its lowest 5 % stays above this (no Li plating near 0 V)
SYMMETRIC_MAX_V = 0.5               # Li | Li polarisation stays below this (95 % of samples)
SYMMETRIC_SIGN_SHARE = 0.9          # ... and follows the current's sign this often
HALF_WINDOW_V = (-0.1, 3.0)         # an anode half cell's voltage (5 % to 95 % of samples)
# A cell of unknown chemistry may charge over a flat plateau (the Neware example file's
# cell rises only 1.8 mV over 10 % of its charge at 4.485 V, healthy) and at several rates
# (a slow charge passes more than the median one). So a trace's soft-short detector calls
# a stall only a voltage that stops rising at all (less than a cycler's 0.1 mV resolution)
# over 10 % of the capacity, and an overcharge only past 150 % of the median charge.
TRACE_WINDOW_FRACTION = 0.10
TRACE_MIN_RISE_V = 0.0001
TRACE_OVERCHARGE_FRACTION = 1.5


@dataclass(frozen=True)
class CellGuess:
    kind: str | None                 # one of CELL_TYPES, or None when the trace fits none
    reason: str                      # the figures the choice rests on, for a note


def guess_cell_type(current: np.ndarray, voltage: np.ndarray, min_current_a: float = 1e-7) -> CellGuess:
    """The kind of cell of a trace, from its voltage while |current| > min_current_a."""
    current = np.asarray(current, dtype=float)
    voltage = np.asarray(voltage, dtype=float)
    on = (np.abs(current) > min_current_a) & np.isfinite(voltage)
    if not on.any():
        return CellGuess(None, "no current flows, so the trace does not tell what the cell is")
    v, i = voltage[on], current[on]
    p5, median, p95 = np.percentile(v, [5, 50, 95])
    spread = f"under current the voltage runs {p5:.3g} to {p95:.3g} V (5 to 95 %), median {median:.3g} V"
    if FULL_WINDOW_V[0] <= median <= FULL_WINDOW_V[1] and p5 > FULL_MIN_V:
        return CellGuess("full", f"a full cell: {spread}")
    both_ways = min(np.mean(i > 0), np.mean(i < 0)) > 0.05
    follows = float(np.mean(np.sign(v) == np.sign(i)))
    if both_ways and np.percentile(np.abs(v), 95) < SYMMETRIC_MAX_V and follows >= SYMMETRIC_SIGN_SHARE:
        return CellGuess("symmetric", f"a Li | Li symmetric cell: the voltage follows the current's sign in "
                                      f"{follows:.0%} of samples and {spread}")
    if HALF_WINDOW_V[0] <= p5 and p95 <= HALF_WINDOW_V[1] and median < FULL_WINDOW_V[0]:
        return CellGuess("half", f"an anode half cell: {spread}")
    return CellGuess(None, f"not a full, Li | Li or half cell: {spread}")


def charge_capacity_mAh(t: np.ndarray, current: np.ndarray) -> float | None:
    """The median charge passed per charging half cycle (mAh): a trace's own measure of
    the capacity it is cycled over, for a soft-short detector when no build gives the
    theoretical one. None when the trace never charges."""
    current = np.asarray(current, dtype=float)
    direction, half = half_cycle_labels(current)
    charging = direction > 0
    if not charging.any():
        return None
    passed = np.abs(current) * sample_durations(np.asarray(t, dtype=float)) / 3.6
    per_half = np.bincount(half[charging], weights=passed[charging])
    per_half = per_half[per_half > 0]
    return float(np.median(per_half)) if per_half.size else None


def trace_detectors(kind: str | None, t: np.ndarray, current: np.ndarray, voltage: np.ndarray,
                    capacity_mAh: float | None = None) -> tuple[list, list[str]]:
    """(fresh detectors, notes) for a cell of `kind` known only by its trace. Full cell:
    soft short (no voltage rise, flicker or overcharge while charging) against
    `capacity_mAh`, else the trace's median charge per half cycle (judged with the
    TRACE_ settings), and a sudden drop;
    Li | Li: hard short; half cell and unknown: a sudden drop while charging, which is
    suspicious in any cell. Voltage limits are left out: the cycler's own cut-offs
    held the trace inside whatever window it was run in."""
    if kind is not None and kind not in CELL_TYPES:
        raise ValueError(f"unknown cell type {kind!r}; use one of {', '.join(CELL_TYPES)}")
    notes = []
    if kind == "full":
        detectors = [SuddenDropDetector(SuddenDropSettings())]
        if capacity_mAh is None:
            capacity_mAh = charge_capacity_mAh(t, current)
            if capacity_mAh is not None:
                notes.append(f"soft-short capacity {capacity_mAh:.4g} mAh: the median charge per charging half "
                             "cycle of the trace (no build gives the theoretical one)")
        if capacity_mAh is not None and math.isfinite(capacity_mAh) and capacity_mAh > 0:
            detectors.insert(0, SoftShortDetector(SoftShortSettings(
                capacity_mAh=capacity_mAh, window_fraction=TRACE_WINDOW_FRACTION, min_rise_v=TRACE_MIN_RISE_V,
                overcharge_fraction=TRACE_OVERCHARGE_FRACTION)))
        else:
            notes.append("the trace never charges: no soft-short detector")
        return detectors, notes
    if kind == "symmetric":
        return [HardShortDetector(HardShortSettings())], notes
    return [SuddenDropDetector(SuddenDropSettings())], notes
