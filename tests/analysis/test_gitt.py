"""Weppner-Huggins diffusivity of synthetic GITT pulses built from a known D."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.gitt import gitt


def pulses(d_cm2_s=1.71e-10, thickness_um=2.0, tau=60.0, rest=1800.0, n=4, ir=-0.003, de_s=-0.0007):
    """Rest, then n x (pulse, rest). During a pulse E = E0 + IR + k sqrt(t), with k set
    so that dE_t = k sqrt(tau) satisfies D = 4 L^2/(pi tau) (dE_s/dE_t)^2."""
    length = thickness_um * 1e-4
    de_t = -abs(de_s) * math.sqrt(4 * length ** 2 / (math.pi * tau * d_cm2_s))
    t, i, v = [np.arange(1.0, 101.0)], [np.zeros(100)], [np.full(100, 0.1)]
    e0, now = 0.1, 100.0
    for _ in range(n):
        tp = now + np.arange(1.0, tau + 1)
        t.append(tp), i.append(np.full(tp.size, -2e-5)), v.append(e0 + ir + de_t * np.sqrt((tp - now) / tau))
        now = tp[-1]
        tr = now + np.arange(10.0, rest + 1, 10.0)
        e0 += de_s
        # relaxation toward the new equilibrium
        t.append(tr), i.append(np.zeros(tr.size)), v.append(e0 + (de_t - de_s) * np.exp(-(tr - now) / 60.0))
        now = tr[-1]
    return np.concatenate(t), np.concatenate(i), np.concatenate(v), de_t


def test_recovers_the_diffusivity_and_leaves_out_the_ir_drop():
    t, i, v, de_t = pulses()
    result = gitt(t, i, v, thickness_um=2.0)
    p = result.pulses
    assert len(p) == 4
    assert p["D_cm2_s"].tolist() == pytest.approx([1.71e-10] * 4, rel=0.01)
    assert p["dEt_V"].tolist() == pytest.approx([de_t] * 4, rel=0.01)
    assert p["ir_drop_V"].tolist() == pytest.approx([-0.003] * 4, abs=2e-4)
    assert p["dEs_V"].tolist() == pytest.approx([-0.0007] * 4, rel=0.02)
    assert p["tau_s"].tolist() == [60.0] * 4
    assert p["lithiation_time_s"].tolist() == [60.0, 120.0, 180.0, 240.0]
    assert p["charge_mAh"].iloc[-1] == pytest.approx(-2e-5 * 240 / 3.6)
    assert result.to_dict()["pulses"][0]["D_cm2_s"] == pytest.approx(1.71e-10, rel=0.01)


def test_four_times_slower_diffusion_is_seen():
    """DOMAIN.md: Ag-C 1.71e-10 against carbon-only 4.21e-11 cm2/s."""
    fast = gitt(*pulses(1.71e-10)[:3], thickness_um=2.0).pulses["D_cm2_s"].median()
    slow = gitt(*pulses(4.21e-11)[:3], thickness_um=2.0).pulses["D_cm2_s"].median()
    assert fast / slow == pytest.approx(1.71e-10 / 4.21e-11, rel=0.02)


def test_a_pulse_without_rest_after_it_is_skipped_with_a_note():
    t, i, v, _ = pulses(n=2)
    cut = np.flatnonzero(i)[-1] + 1                       # stop at the end of the last pulse
    result = gitt(t[:cut], i[:cut], v[:cut], thickness_um=2.0)
    assert len(result.pulses) == 1 and "no rest after" in result.notes[0]
    with pytest.raises(ValueError, match="thickness_um"):
        gitt(t, i, v, thickness_um=0)
