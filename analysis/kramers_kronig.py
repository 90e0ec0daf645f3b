"""Kramers-Kronig validity of an impedance spectrum: a Lin-KK test after Schönleber,
Klotz and Ivers-Tiffée (Electrochim. Acta 131 (2014) 20), written here (impedance.py's
linKK fails under NumPy 2, DESIGN.md).

The KK-consistent model: an ohmic resistance, an inductance, a series capacitance and
RC elements with fixed time constants, POINTS_PER_DECADE per decade from a decade below
1/w_max to a decade above 1/w_min. It is fitted linearly to real and imaginary parts
together, each point weighted by 1/|Z|. Data the model cannot follow are not
KK-consistent: a cell that drifted during the sweep, a non-linear response, an
instrument artefact.

Over-fitting: Schönleber's Lin-KK lets the RC resistances take either sign and stops
adding elements by the mu criterion (mu = 1 - sum|R<0| / sum|R>=0| >= 0.85), because
elements of alternating sign follow noise. Here the RC resistances are kept
non-negative instead (scipy.optimize.nnls; L and C may take either sign), which rules
out that over-fit for any number of elements, so a dense grid can follow a sharp
(ideal RC) arc that a mu-limited grid misses by more than the noise. mu is still
reported, for comparison with other tools (1.0 by construction). A spectrum with an
inductive loop (a negative-resistance process) needs the classic test instead.

Pass/fail: residuals (Z - Z_KK)/|Z| of a valid spectrum are the noise, white along the
frequency axis; a drift leaves them correlated. The test therefore judges their
systematic part: the rms of a running mean over SMOOTH_POINTS neighbouring points
(real and imaginary parts apart). White noise of 0.5 % of |Z| (the station's analysers
have 0.2-0.5 %) leaves 0.12-0.22 % of it; the spectrum passes when it is at most
SYSTEMATIC_LIMIT_PCT (0.35 %). An interfacial arc growing by half during the sweep
leaves about 0.6 % and fails (tests/analysis/test_kramers_kronig.py); noisier data
(about 0.8 % of |Z| and up) fail too, as the message says. The raw residual rms is
reported beside it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

POINTS_PER_DECADE = 10
SMOOTH_POINTS = 5
SYSTEMATIC_LIMIT_PCT = 0.35
MU_LIMIT = 0.85              # Schönleber's c, for those who compare with the classic test


@dataclass(frozen=True)
class KramersKronig:
    n_rc: int                  # RC elements with a resistance above zero
    mu: float                  # 1 - sum|R<0| / sum|R>=0| (1.0: the resistances are non-negative)
    residual_rms_pct: float    # of (Z - Z_KK) / |Z|, real and imaginary parts together
    residual_max_pct: float
    systematic_rms_pct: float = 0.0     # rms of the residuals' running mean: what the verdict judges
    limit_pct: float = SYSTEMATIC_LIMIT_PCT
    frequency_hz: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    residual_real_pct: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)
    residual_imag_pct: np.ndarray = field(default_factory=lambda: np.zeros(0), compare=False, repr=False)

    @property
    def passed(self) -> bool:
        return self.systematic_rms_pct <= self.limit_pct

    def verdict(self) -> str:
        if self.passed:
            return (f"passes the Kramers-Kronig test (Lin-KK: systematic residuals {self.systematic_rms_pct:.2f} % rms "
                    f"<= {self.limit_pct:g} %)")
        return (f"the spectrum fails the Kramers-Kronig test (Lin-KK: systematic residuals "
                f"{self.systematic_rms_pct:.2f} % rms > {self.limit_pct:g} %, all residuals "
                f"{self.residual_rms_pct:.2f} % rms): the cell drifted during the sweep or the data are noisy")

    def to_dict(self) -> dict:
        return {"passed": self.passed, "systematic_rms_pct": self.systematic_rms_pct, "limit_pct": self.limit_pct,
                "residual_rms_pct": self.residual_rms_pct, "residual_max_pct": self.residual_max_pct,
                "n_rc": self.n_rc, "method": f"Lin-KK, non-negative RC elements, {SMOOTH_POINTS}-point running mean "
                                             "of the residuals judged"}


def lin_kk(frequency_hz: np.ndarray, z: np.ndarray, limit_pct: float = SYSTEMATIC_LIMIT_PCT) -> KramersKronig:
    """The Lin-KK test of a spectrum (Z in ohm); see the module docstring."""
    f = np.asarray(frequency_hz, dtype=float)
    z = np.asarray(z, dtype=complex)
    if f.ndim != 1 or f.shape != z.shape or f.size < SMOOTH_POINTS + 1:
        raise ValueError(f"the Kramers-Kronig test needs at least {SMOOTH_POINTS + 1} points of frequency and impedance")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(z)) and np.all(f > 0) and np.all(z != 0)):
        raise ValueError("the Kramers-Kronig test needs positive frequencies and finite, non-zero impedances")
    order = np.argsort(f)[::-1]
    f, z = f[order], z[order]
    w = 2 * np.pi * f
    decades = math.log10(w.max() / w.min())
    tau = np.logspace(-math.log10(w.max()) - 1, -math.log10(w.min()) + 1, int(round((decades + 2) * POINTS_PER_DECADE)) + 1)
    weight = 1.0 / np.abs(z)
    # R0 >= 0; L and C of either sign as a pair of non-negative columns, scaled to order 1
    inductive, capacitive = 1j * w / w.max(), w.min() / (1j * w)
    fixed = [np.ones(w.size, complex), inductive, -inductive, capacitive, -capacitive]
    basis = np.column_stack(fixed + [1.0 / (1.0 + 1j * np.outer(w, tau))])
    a = np.concatenate([basis.real, basis.imag]) * np.concatenate([weight, weight])[:, None]
    b = np.concatenate([z.real, z.imag]) * np.concatenate([weight, weight])
    coef, _ = nnls(a, b, maxiter=50 * a.shape[1])
    rel = (z - basis @ coef) * weight            # (Z - Z_KK) / |Z|
    both = np.concatenate([rel.real, rel.imag])
    kernel = np.ones(SMOOTH_POINTS) / SMOOTH_POINTS
    smooth = np.concatenate([np.convolve(rel.real, kernel, "valid"), np.convolve(rel.imag, kernel, "valid")])
    r = coef[len(fixed):]
    return KramersKronig(int(np.count_nonzero(r > 0)), 1.0, float(np.sqrt(np.mean(both ** 2)) * 100),
                         float(np.abs(both).max() * 100), float(np.sqrt(np.mean(smooth ** 2)) * 100), limit_pct,
                         f, rel.real * 100, rel.imag * 100)
