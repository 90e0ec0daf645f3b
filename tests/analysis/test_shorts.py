"""The hard-short detector trips on a collapse and not on clean cycling."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.shorts import HardShortDetector, HardShortSettings


def plate_strip(cycles=5, n=3600, amps=0.16e-3, r=16.0, seed=0, short_at=None, r_short=0.3):
    rng = np.random.default_rng(seed)
    t = np.arange(1, 2 * cycles * n + 1, dtype=float)
    sign = np.where((np.arange(t.size) // n) % 2 == 0, 1.0, -1.0)
    i = sign * amps
    # polarisation with a slow rise inside each half cycle, noise, and a sign flip at every step
    phase = (np.arange(t.size) % n) / n
    v = i * r * (0.7 + 0.3 * (1 - np.exp(-phase * 4))) + rng.normal(0, 2e-6, t.size)
    if short_at is not None:
        v[short_at:] = i[short_at:] * r_short + rng.normal(0, 2e-6, t.size - short_at)
    return t, i, v


def feed(detector, t, i, v, batch=600):
    for start in range(0, t.size, batch):
        trip = detector.update(t[start:start + batch], i[start:start + batch], v[start:start + batch])
        if trip:
            return trip
    return None


def test_clean_cycling_with_noise_and_rate_changes_does_not_trip():
    det = HardShortDetector()
    for amps, r in ((0.16e-3, 16.0), (0.8e-3, 15.0), (0.05e-3, 18.0)):
        assert feed(det, *plate_strip(amps=amps, r=r, seed=int(amps * 1e5))) is None


def test_collapse_trips_at_the_first_collapsed_sample():
    t, i, v = plate_strip(short_at=20000)
    trip = feed(HardShortDetector(), t, i, v)
    assert trip is not None and trip.kind == "hard_short"
    assert trip.index == 20000
    assert trip.t_s == t[20000]
    assert trip.detected_index == 20000 + HardShortSettings().hold_samples - 1
    # the evidence, by hand from the samples: the apparent resistance |V / I| at the onset and
    # at the trip, over a baseline that lies within the polarisation this record was made with
    # (16 ohm x 0.7 .. 1.0 inside a half cycle)
    d = trip.detected_index
    assert trip.evidence["apparent_ohm_at_onset"] == abs(v[20000] / i[20000])
    assert trip.evidence["apparent_ohm_at_trip"] == abs(v[d] / i[d])
    assert 16.0 * 0.7 <= trip.evidence["baseline_ohm"] <= 16.0
    assert trip.evidence["ratio"] == pytest.approx(abs(v[d] / i[d]) / trip.evidence["baseline_ohm"], rel=1e-12)
    assert "hard short" in trip.message


def test_a_few_collapsed_samples_are_not_enough():
    t, i, v = plate_strip(cycles=3)
    v[10000:10003] *= 0.01
    assert feed(HardShortDetector(), t, i, v) is None


def test_settings_are_checked():
    with pytest.raises(ValueError, match="collapse_fraction"):
        HardShortSettings(collapse_fraction=1.5)
    with pytest.raises(ValueError, match="hold_samples"):
        HardShortSettings(hold_samples=0)


from analysis.shorts import SoftShortDetector, SoftShortSettings  # noqa: E402


def charge_curve(n=3600, amps=0.16e-3, stall_at=None, seed=0):
    """A 10 h, 1.6 mAh charge rising 3.6 -> 4.2 V; optionally flat with flicker from stall_at."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, n + 1) * 10.0
    v = 3.6 + 0.6 * np.arange(n) / n + rng.normal(0, 2e-6, n)
    if stall_at is not None:
        v[stall_at:] = v[stall_at] + rng.normal(0, 2e-3, n - stall_at)
    return t, np.full(n, amps), v


def test_a_healthy_charge_does_not_trip_the_soft_short_detector():
    det = SoftShortDetector(SoftShortSettings(capacity_mAh=1.6))
    assert feed(det, *charge_curve()) is None


def test_a_stalled_charge_trips_within_a_window():
    det = SoftShortDetector(SoftShortSettings(capacity_mAh=1.6))
    trip = feed(det, *charge_curve(stall_at=1000))
    # flat with 2 mV flicker: the flicker gives it away first, the missing rise would next
    assert trip is not None and trip.evidence["criterion"] in ("fluctuation", "no_rise")
    quiet = SoftShortDetector(SoftShortSettings(capacity_mAh=1.6, fluctuation_count=20, fluctuation_v=1.0))
    assert feed(quiet, *charge_curve(stall_at=1000)).evidence["criterion"] == "no_rise"
    # 3 % of 1.6 mAh at 0.16 mA is 18 min = 108 samples of 10 s: judged within two windows
    assert 1000 <= trip.detected_index <= 1000 + 2 * 108 + 1


def test_charge_beyond_the_theoretical_capacity_trips():
    det = SoftShortDetector(SoftShortSettings(capacity_mAh=1.0, min_rise_v=1e-9))
    t, i, v = charge_curve()                       # 1.6 mAh into a 1.0 mAh cell
    trip = feed(det, t, i, v)
    assert trip.evidence["criterion"] == "overcharge"
    assert trip.evidence["charge_mAh"] == pytest.approx(1.1, abs=0.001)


def test_discharge_and_rest_are_not_judged():
    det = SoftShortDetector(SoftShortSettings(capacity_mAh=1.6))
    t, i, v = charge_curve(stall_at=0)
    assert feed(det, t, -i, v) is None
    assert feed(det, t + t[-1], 0 * i, v) is None


from analysis.shorts import (PressureDriftDetector, PressureDriftSettings, SuddenDropDetector,  # noqa: E402
                             VoltageLimitDetector, VoltageLimitSettings)


def test_voltage_limit_needs_consecutive_samples_outside():
    det = VoltageLimitDetector(VoltageLimitSettings(2.3, 4.4, hold_samples=2))
    t = np.arange(1.0, 7.0)
    v = np.array([4.2, 4.5, 4.3, 4.5, 4.6, 4.3])
    trip = det.update(t, np.ones(6), v)
    assert trip.kind == "voltage_limit" and trip.index == 3 and trip.detected_index == 4


def test_sudden_drop_during_charge_trips_but_a_healthy_charge_does_not():
    t, i, v = charge_curve()
    assert feed(SuddenDropDetector(), t, i, v) is None
    v = v.copy()
    v[2000:] -= 0.08
    trip = feed(SuddenDropDetector(), t, i, v)
    assert trip.kind == "sudden_drop" and trip.index == 2000
    assert trip.evidence["drop_v"] == pytest.approx(0.08, abs=3e-4)   # less the curve's own rise


def test_pressure_drift_needs_several_readings_off():
    det = PressureDriftDetector(PressureDriftSettings(tolerance_mpa=0.5, hold_readings=3))
    readings = [5.0, 4.4, 4.3, 5.0, 4.4, 4.3, 4.2]
    trips = [det.update_pressure(float(k), k, p, 5.0) for k, p in enumerate(readings)]
    assert [k for k, trip in enumerate(trips) if trip] == [6]


def test_coulombic_efficiency_is_judged_from_cycle_2_and_not_across_a_rate_change():
    from analysis.shorts import CoulombicEfficiencyDetector
    det = CoulombicEfficiencyDetector()
    assert det.update_cycle(1, 1.5, 1.2, 10.0, 5) is None                     # formation
    assert det.update_cycle(2, 1.39, 1.3896, 20.0, 9) is None                 # 99.97 %
    assert det.update_cycle(3, 1.30, 1.20, 30.0, 12, rate_changed=True) is None
    trip = det.update_cycle(4, 1.30, 1.20, 40.0, 15)
    assert trip.kind == "ce_drop" and trip.evidence["ce"] == pytest.approx(1.20 / 1.30)
