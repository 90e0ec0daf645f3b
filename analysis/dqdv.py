"""Voltage profiles and differential capacity (dQ/dV) of chosen cycles, with the
peak positions per cycle so that peak shifts over cycling can be tracked (Fig 5e).

Q(V) is put on a uniform voltage grid per half cycle (a running max/min of V makes it
single-valued through noise), differentiated, and smoothed (Savitzky-Golay or
Gaussian). Discharge dQ/dV is reported negative, the way it is plotted.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from analysis.segments import half_cycle_labels, sample_durations

PROFILE_COLUMNS = ["cycle", "direction", "capacity_mAh", "voltage_V"]
CURVE_COLUMNS = ["cycle", "direction", "voltage_V", "dqdv_mAh_V"]
PEAK_COLUMNS = ["cycle", "direction", "voltage_V", "dqdv_mAh_V", "prominence_mAh_V"]


def voltage_profiles(t: np.ndarray, current: np.ndarray, voltage: np.ndarray, cycle: np.ndarray,
                     cycles: list[int] | None = None, min_current_a: float = 0.0) -> pd.DataFrame:
    """Capacity passed (mAh, from 0 in each half cycle) against voltage for the chosen
    cycles (all when None); direction is 'charge' or 'discharge'."""
    t, current, voltage = (np.asarray(a, dtype=float) for a in (t, current, voltage))
    cycle = np.asarray(cycle)
    direction, half = half_cycle_labels(current, min_current_a)
    keep = direction != 0
    if cycles is not None:
        keep &= np.isin(cycle, np.asarray(cycles))
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    charge_mah = (np.abs(current) * sample_durations(t))[idx] / 3.6
    group = half[idx]
    cumulative = np.cumsum(charge_mah)
    # restart the running sum at the first sample of every half cycle
    starts = np.concatenate(([0], np.flatnonzero(np.diff(group)) + 1))
    offsets = np.repeat(cumulative[starts] - charge_mah[starts], np.diff(np.append(starts, idx.size)))
    return pd.DataFrame({
        "cycle": cycle[idx],
        "direction": np.where(direction[idx] > 0, "charge", "discharge"),
        "capacity_mAh": cumulative - offsets,
        "voltage_V": voltage[idx],
    })


@dataclass
class DqdvResult:
    curves: pd.DataFrame   # CURVE_COLUMNS
    peaks: pd.DataFrame    # PEAK_COLUMNS

    def to_dict(self) -> dict:
        return {"peaks": [dict(zip(PEAK_COLUMNS, (int(r[0]), r[1], *map(float, r[2:]))))
                          for r in self.peaks.itertuples(index=False)]}


def dqdv(profiles: pd.DataFrame, dv_V: float = 0.005, smooth: str = "savgol", window_V: float = 0.05,
         polyorder: int = 2, prominence_fraction: float = 0.05) -> DqdvResult:
    """dQ/dV (mAh/V) of each half cycle in `profiles` (from voltage_profiles) on a grid
    of dv_V, smoothed over window_V; peaks are those with a prominence of at least
    prominence_fraction of the half cycle's largest |dQ/dV|."""
    if dv_V <= 0 or window_V <= 0:
        raise ValueError("dv_V and window_V must be positive")
    if smooth not in ("savgol", "gaussian", "none"):
        raise ValueError(f"smooth must be 'savgol', 'gaussian' or 'none', got {smooth!r}")
    curves, peaks = [], []
    for (cyc, direction), part in profiles.groupby(["cycle", "direction"], sort=True):
        v = part["voltage_V"].to_numpy()
        q = part["capacity_mAh"].to_numpy()
        if direction == "discharge":
            v, q = -v, q             # V falls while Q grows: work on -V, which rises
        v_mono = np.maximum.accumulate(v)
        v_unique, inverse = np.unique(v_mono, return_inverse=True)
        if v_unique.size < 4:
            continue
        q_unique = np.bincount(inverse, weights=q) / np.bincount(inverse)
        grid = np.arange(np.ceil(v_unique[0] / dv_V), np.floor(v_unique[-1] / dv_V) + 1) * dv_V
        if grid.size < 4:
            continue
        y = np.gradient(np.interp(grid, v_unique, q_unique), dv_V)
        y = _smooth(y, smooth, window_V / dv_V, polyorder)
        if direction == "discharge":
            grid, y = -grid[::-1], -y[::-1]
        curves.append(pd.DataFrame({"cycle": cyc, "direction": direction, "voltage_V": grid, "dqdv_mAh_V": y}))
        magnitude = np.abs(y)
        from scipy.signal import find_peaks   # here, not at import: scipy.signal costs the station ~0.5 s at start-up
        found, props = find_peaks(magnitude, prominence=prominence_fraction * magnitude.max())
        for k, prominence in zip(found, props["prominences"]):
            peaks.append((cyc, direction, grid[k], y[k], prominence))
    return DqdvResult(
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS),
        pd.DataFrame(peaks, columns=PEAK_COLUMNS),
    )


def _smooth(y: np.ndarray, method: str, width_points: float, polyorder: int) -> np.ndarray:
    if method == "none":
        return y
    if method == "gaussian":
        return gaussian_filter1d(y, sigma=max(width_points / 2.355, 0.5), mode="nearest")  # FWHM = window
    window = int(width_points) | 1            # odd
    window = min(window, y.size if y.size % 2 else y.size - 1)
    if window <= polyorder:
        return y
    from scipy.signal import savgol_filter   # imported when first used (start-up time)
    return savgol_filter(y, window, polyorder, mode="interp")
