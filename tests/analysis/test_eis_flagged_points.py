"""Points an analyser flagged are kept on the fit result to be shown, and left out of the
fit: a synthetic spectrum with known elements, three of its points corrupted as an
overloaded input corrupts them, fits back to its truth only when those are flagged."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.eis import fit_circuit

R0, R1, Q, N = 6.667, 13.18, 1e-5, 0.9        # sym-bare's bulk and two 6.59 ohm cm2 interfaces, 1 cm2


def spectrum():
    f = np.geomspace(2e5, 0.1, 64)
    w = 2 * np.pi * f
    z = R0 + R1 / (1 + R1 * Q * (1j * w) ** N)
    rng = np.random.default_rng(3)
    z = z * (1 + 0.002 * rng.standard_normal(f.size)) + 0.002j * np.abs(z) * rng.standard_normal(f.size)
    flags = [None] * f.size
    for k in (20, 30, 40):                     # overloaded: |Z| reads 70 % high
        z[k] *= 1.7
        flags[k] = "overload"
    return f, z, flags


def test_flagged_points_are_left_out_and_the_truth_comes_back():
    f, z, flags = spectrum()
    fit = fit_circuit(f, z, "R0-p(R1,CPE1)", point_flags=flags)
    assert fit.parameters["R0"] == pytest.approx(R0, rel=0.005)
    assert fit.parameters["R1"] == pytest.approx(R1, rel=0.005)
    assert fit.frequency_hz.size + fit.flagged_frequency_hz.size <= f.size
    assert list(fit.flagged_frequency_hz) == [f[20], f[30], f[40]]
    assert fit.flagged_reasons == ["overload"] * 3
    assert np.allclose(fit.flagged_z, z[[20, 30, 40]])
    assert "3 point(s) the analyser flagged left out of the fit (3 overload)" in fit.notes
    assert fit.to_dict()["flagged_points"][0] == {"frequency_hz": f[20], "flag": "overload"}


def test_the_same_points_unflagged_pull_the_fit_away():
    # the control: without the flags the corrupted points are fitted and R1 is off by > 3 %
    f, z, _ = spectrum()
    fit = fit_circuit(f, z, "R0-p(R1,CPE1)")
    assert abs(fit.parameters["R1"] / R1 - 1) > 0.03
    assert fit.flagged_frequency_hz.size == 0 and fit.to_dict()["flagged_points"] == []


def test_flags_must_match_the_points():
    f, z, flags = spectrum()
    with pytest.raises(ValueError, match="63 point flags for 64 points"):
        fit_circuit(f, z, "R0-p(R1,CPE1)", point_flags=flags[:-1])
