"""Lin-KK validity: valid synthetic spectra (RC and CPE arcs, a Warburg tail, 0.5 %
noise) pass; the same cell whose interfacial arc grows during the sweep fails; the
model itself is exact on KK-consistent data; real files from tests/data."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.kramers_kronig import SYSTEMATIC_LIMIT_PCT, lin_kk
from conftest import TEST_DATA
from notebook.formats import read_spectrum

F = np.logspace(6, -1, 70)
W = 2 * np.pi * F
# time into the sweep at each point (high to low frequency; each point takes two
# periods or 0.1 s, as an analyser's integration does): the last decade takes most of it
T_SWEEP = np.cumsum(np.maximum(2 / F, 0.1))


def cpe_arc(r, q, n):
    return r / (1 + r * q * (1j * W) ** n)


def cell(r_int_scale=1.0):
    """Bulk 3 ohm, a grain-boundary arc, an interfacial arc of 30 ohm (x r_int_scale), a Warburg tail."""
    x = np.sqrt(1j * W * 2000.0)
    return 3.0 + cpe_arc(10.0, 1e-5, 0.9) + cpe_arc(30.0 * r_int_scale, 1e-3, 0.85) + 2.0 / x / np.tanh(x)


def noisy(z, seed, level=0.005):
    rng = np.random.default_rng(seed)
    return z + np.abs(z) * level * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))


def test_model_is_exact_on_consistent_data():
    """Without noise, a KK-consistent spectrum (here also ideal RC arcs between the
    grid's time constants) leaves residuals far below any noise."""
    z_rc = 2.0 + 8 / (1 + 1j * W * 8 * 4e-7) + 12 / (1 + 1j * W * 12 * 2.2e-4)
    for z in (cell(), z_rc):
        kk = lin_kk(F, z)
        assert kk.residual_rms_pct < 0.05 and kk.passed


@pytest.mark.parametrize("seed", range(4))
def test_valid_noisy_spectrum_passes(seed):
    kk = lin_kk(F, noisy(cell(), seed))
    assert kk.passed, kk.verdict()
    # the residuals are the noise: 0.5 % of |Z| per part
    assert 0.3 < kk.residual_rms_pct < 0.7
    assert kk.residual_real_pct.size == F.size and np.all(np.diff(kk.frequency_hz) < 0)


@pytest.mark.parametrize("seed", range(4))
def test_arc_drifting_during_the_sweep_fails(seed):
    """The interfacial resistance grows by half over the sweep (a cell still relaxing)."""
    drifting = 3.0 + cpe_arc(10.0, 1e-5, 0.9) + cpe_arc(30.0 * (1 + 0.5 * T_SWEEP / T_SWEEP[-1]), 1e-3, 0.85)
    kk = lin_kk(F, noisy(drifting, seed))
    assert not kk.passed
    assert kk.systematic_rms_pct > SYSTEMATIC_LIMIT_PCT
    assert "fails the Kramers-Kronig test" in kk.verdict()
    # and without the drift, the same noise passes
    assert lin_kk(F, noisy(3.0 + cpe_arc(10.0, 1e-5, 0.9) + cpe_arc(30.0, 1e-3, 0.85), seed)).passed


def test_residuals_are_relative_to_modulus():
    """A 2 % step on the real part of one point (a glitch) shows there as about 2 %."""
    z = cell()
    z[35] += 0.02 * abs(z[35])
    kk = lin_kk(F, z)
    k = int(np.argmin(np.abs(kk.frequency_hz - F[35])))
    assert kk.residual_real_pct[k] == pytest.approx(2.0, abs=0.5)


def test_real_files():
    """impedance.py's example data (a clean Li-ion spectrum) passes; order of the points
    does not matter."""
    s = read_spectrum(TEST_DATA / "eis" / "exampleData.csv")
    keep = s.z_ohm.imag < 0
    kk = lin_kk(s.frequency_hz[keep], s.z_ohm[keep])
    assert kk.passed, kk.verdict()
    backwards = lin_kk(s.frequency_hz[keep][::-1], s.z_ohm[keep][::-1])
    assert backwards.systematic_rms_pct == pytest.approx(kk.systematic_rms_pct)


@pytest.mark.parametrize("f, z", [(F[:4], np.ones(4, complex)), (F, np.zeros(70, complex)),
                                  (-F, np.ones(70, complex))])
def test_refuses_unusable_input(f, z):
    with pytest.raises(ValueError, match="Kramers-Kronig test needs"):
        lin_kk(f, z)
