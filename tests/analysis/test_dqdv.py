"""Voltage profiles and dQ/dV peaks on a curve whose peaks are known by construction."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.dqdv import dqdv, voltage_profiles


def plateau_cycle(v_charge=3.70, v_discharge=3.62, q_mah=1.0, n=4000, width=0.02):
    """Q(V) a logistic step: dQ/dV peaks at the step's centre. 1 s samples."""
    q = np.linspace(0, q_mah, n)
    frac = np.clip(q / q_mah, 1e-6, 1 - 1e-6)
    v_up = v_charge + width * np.log(frac / (1 - frac))            # inverse of the logistic
    v_down = v_discharge - width * np.log(frac / (1 - frac))
    amps = q_mah / n * 3.6                                          # A for q_mah over n seconds
    return np.concatenate([v_up, v_down]), np.concatenate([np.full(n, amps), np.full(n, -amps)])


def test_peaks_where_the_plateaus_are():
    v1, i1 = plateau_cycle()
    v2, i2 = plateau_cycle(3.72, 3.60)                              # cycle 2: polarisation grew
    v, i = np.concatenate([v1, v2]), np.concatenate([i1, i2])
    t = np.arange(1, v.size + 1, dtype=float)
    cycle = np.repeat([1, 2], v1.size)
    profiles = voltage_profiles(t, i, v, cycle)
    ends = profiles.groupby(["cycle", "direction"])["capacity_mAh"].max()
    assert ends.tolist() == pytest.approx([1.0, 1.0, 1.0, 1.0], rel=1e-3)     # restarts every half cycle
    result = dqdv(profiles, dv_V=0.002, window_V=0.02)
    peaks = result.peaks.set_index(["cycle", "direction"])["voltage_V"]
    assert peaks[(1, "charge")] == pytest.approx(3.70, abs=0.004)
    assert peaks[(1, "discharge")] == pytest.approx(3.62, abs=0.004)
    assert peaks[(2, "charge")] == pytest.approx(3.72, abs=0.004)
    assert peaks[(2, "discharge")] == pytest.approx(3.60, abs=0.004)
    # a logistic step of 1 mAh with scale 0.02 V peaks at 1 / (4 x 0.02) = 12.5 mAh/V
    heights = result.peaks.set_index(["cycle", "direction"])["dqdv_mAh_V"]
    assert heights[(1, "charge")] == pytest.approx(12.5, rel=0.05)
    assert heights[(1, "discharge")] == pytest.approx(-12.5, rel=0.05)           # discharge plotted negative
    assert result.to_dict()["peaks"][0]["cycle"] == 1


def test_chosen_cycles_and_smoothing_options():
    v, i = plateau_cycle()
    t = np.arange(1, v.size + 1, dtype=float)
    profiles = voltage_profiles(t, i, v, np.ones(v.size, dtype=int), cycles=[2])
    assert profiles.empty
    profiles = voltage_profiles(t, i, v, np.ones(v.size, dtype=int), cycles=[1])
    for smooth in ("gaussian", "none"):
        result = dqdv(profiles, dv_V=0.002, smooth=smooth)
        assert result.peaks.set_index("direction").loc["charge", "voltage_V"] == pytest.approx(3.70, abs=0.006)
    with pytest.raises(ValueError, match="smooth must be"):
        dqdv(profiles, smooth="spline")
