"""Distribution of relaxation times (DRT) of an impedance spectrum, written here with
numpy/scipy: pyDRTtools (MIT) needs CVXOPT (GPL), CVXPY, scikit-learn and PyQt5, which
cannot or should not go into the bundle for a method this short.

Model (Saccoccio et al., Electrochim. Acta 147 (2014) 470; Wan et al., ibid. 184 (2015) 483):

    Z(w) = R_inf + j w L + integral gamma(ln tau) / (1 + j w tau) d ln tau

gamma is piecewise linear in u = ln tau on a log-spaced grid reaching one decade beyond
the measured frequencies at each end (hat functions: gamma at node k is x_k, and x >= 0
keeps gamma >= 0 everywhere). Each hat's kernel integral is done by Gauss-Legendre
quadrature once per spectrum. Real and imaginary parts are fitted together, each point
weighted by 1/|Z| (relative errors: the analysers' noise is a fraction of |Z|), with
R_inf >= 0 and, when the spectrum turns inductive at high frequency, L >= 0 unpenalised.

Regularisation: Tikhonov on the second derivative of gamma in ln tau, solved as a
non-negative least-squares problem (scipy.optimize.nnls on the stacked system
[A; sqrt(lam) D2] x = [b; 0]). lam is chosen by generalised cross-validation (GCV,
Golub, Heath and Wahba 1979) over LAMBDAS (1e-10..1, three per decade): the score
n |A x - b|^2 / (n - df)^2, df the trace of the influence matrix of the non-negative
solution (its free, x > 0, columns), is minimised. At the low noise of the station's
analysers GCV is nearly flat for decades around its minimum and, taken literally,
splits one depressed (CPE) arc into ripples; so the minimum fixes how closely the data
can be followed, and of the lambdas that follow them as closely (weighted residual
rms within RMS_TOLERANCE, 5 %, of the GCV choice's) the largest, the smoothest, is
used. Ideal RC arcs need little smoothing and keep a small lambda (their residuals
rise at once); a depressed arc comes out as one peak.
GCV rather than the L-curve: it needs no corner detection, which on these small
well-conditioned problems is often ill-defined, and it is the rule Saccoccio et al.
validated for DRT; it estimates the noise from the data, so no noise level is assumed.

Peaks: local maxima of gamma; the distribution is split at the minima between them,
and each peak's resistance is the area of gamma over its part (the parts add up to
the polarisation resistance). Inner maxima holding less than PEAK_MIN_AREA_FRACTION of
it are ripples, not listed (their area goes to the neighbour); a maximum on the grid's
first or last node is a process reaching past the frequencies measured, listed with
at_edge when it is large enough (its frequency is then a bound).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import nnls

from analysis.kramers_kronig import KramersKronig, lin_kk

POINTS_PER_DECADE = 10          # tau nodes per decade
EXTEND_DECADES = 1.0            # grid beyond 1/(2 pi f_min) only: below 1/(2 pi f_max) an RC looks like R_inf
LAMBDAS = np.logspace(-10, 0, 31)   # the GCV search grid, 3 per decade
RMS_TOLERANCE = 0.05            # fits this close to the GCV choice's count as following the data as well
PEAK_MIN_AREA_FRACTION = 0.05   # of the polarisation resistance: smaller maxima are ripples
_GAUSS = np.polynomial.legendre.leggauss(8)


@dataclass(frozen=True)
class DrtPeak:
    tau_s: float
    f_hz: float                 # 1 / (2 pi tau)
    r_ohm: float                # area of gamma over the peak's part
    r_ohm_cm2: float | None     # r_ohm x area, when the area is known
    gamma_ohm: float            # height of gamma at the peak
    at_edge: bool = False       # on the grid's first or last node: the process reaches past the range

    def to_dict(self) -> dict:
        return {"tau_s": self.tau_s, "f_hz": self.f_hz, "r_ohm": self.r_ohm, "r_ohm_cm2": self.r_ohm_cm2}


@dataclass
class DrtResult:
    tau_s: np.ndarray           # grid nodes
    gamma_ohm: np.ndarray       # gamma(ln tau) at the nodes, ohm per unit ln tau
    r_inf_ohm: float
    inductance_h: float
    lam: float                  # the regularisation chosen by GCV
    gcv: tuple[np.ndarray, np.ndarray]   # (lambdas tried, GCV score) for plotting the choice
    peaks: list[DrtPeak]
    frequency_hz: np.ndarray
    z_measured: np.ndarray
    z_fit: np.ndarray
    residual_rms_pct: float
    kk: KramersKronig
    area_cm2: float | None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def polarisation_ohm(self) -> float:
        return float(np.sum(_trapezoid_weights(np.log(self.tau_s)) * self.gamma_ohm))

    def to_dict(self) -> dict:
        return {
            "drt": {
                "peaks": [p.to_dict() for p in self.peaks],
                "lambda": self.lam,
                "lambda_rule": "generalised cross-validation",
                "r_inf_ohm": self.r_inf_ohm,
                "inductance_h": self.inductance_h,
                "polarisation_ohm": self.polarisation_ohm,
                "fit_residual_rms_pct": self.residual_rms_pct,
                "n_points": int(self.frequency_hz.size),
                "area_cm2": self.area_cm2,
            },
            "kk": self.kk.to_dict(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


def _trapezoid_weights(u: np.ndarray) -> np.ndarray:
    """Integral of a piecewise-linear function over u = sum(w * node values)."""
    d = np.diff(u)
    w = np.zeros(u.size)
    w[:-1] += d / 2
    w[1:] += d / 2
    return w


def tau_grid(frequency_hz: np.ndarray, points_per_decade: int = POINTS_PER_DECADE,
             extend_decades: float = EXTEND_DECADES) -> np.ndarray:
    f = np.asarray(frequency_hz, dtype=float)
    lo = math.log10(1 / (2 * math.pi * f.max()))
    hi = math.log10(1 / (2 * math.pi * f.min())) + extend_decades
    n = int(round((hi - lo) * points_per_decade)) + 1
    return np.logspace(lo, hi, n)


def kernel(frequency_hz: np.ndarray, tau_s: np.ndarray) -> np.ndarray:
    """A[i, k] = integral of hat_k(u) / (1 + j w_i e^u) du: the impedance of gamma = 1 at
    node k, falling linearly to 0 at the neighbouring nodes (half hats at the ends)."""
    w = 2 * np.pi * np.asarray(frequency_hz, dtype=float)
    u = np.log(tau_s)
    x, g = _GAUSS
    out = np.zeros((w.size, u.size), dtype=complex)
    for side in (-1, 1):                 # the hat's left and right halves
        lo = u if side == 1 else np.roll(u, 1)
        hi = np.roll(u, -1) if side == 1 else u
        valid = np.ones(u.size, bool)
        valid[-1 if side == 1 else 0] = False
        lo, hi = lo[valid], hi[valid]
        half = (hi - lo) / 2
        nodes = (lo + hi)[:, None] / 2 + half[:, None] * x[None, :]          # (k, q)
        # hat value: rising from 0 at lo to 1 at the node (side -1), or falling from 1 to 0
        hat = (nodes - lo[:, None]) / (2 * half[:, None]) if side == -1 else (hi[:, None] - nodes) / (2 * half[:, None])
        integrand = hat[None] / (1 + 1j * w[:, None, None] * np.exp(nodes)[None])
        out[:, valid] += np.einsum("ikq,q->ik", integrand, g) * half[None, :]
    return out


def _second_difference(n: int, du: float) -> np.ndarray:
    d = np.zeros((max(n - 2, 1), n))
    for k in range(n - 2):
        d[k, k:k + 3] = (1.0, -2.0, 1.0)
    return d / du ** 2


def drt(frequency_hz: np.ndarray, z: np.ndarray, *, area_cm2: float | None = None, inductive: bool | None = None,
        points_per_decade: int = POINTS_PER_DECADE, lam: float | None = None) -> DrtResult:
    """The DRT of a spectrum (Z in ohm, Im < 0 capacitive). inductive: fit an L term
    (None: when some points have Im(Z) > 0). lam: a fixed regularisation instead of GCV.
    The spectrum is checked with Lin-KK first; a failing one is deconvolved with a warning."""
    f = np.asarray(frequency_hz, dtype=float)
    z = np.asarray(z, dtype=complex)
    if f.ndim != 1 or f.shape != z.shape:
        raise ValueError("frequency and impedance must be 1-D arrays of equal length")
    good = np.isfinite(f) & np.isfinite(z) & (f > 0)
    if good.sum() < 8:
        raise ValueError(f"a DRT needs at least 8 usable points, the spectrum has {int(good.sum())}")
    f, z = f[good], z[good]
    if area_cm2 is not None and not area_cm2 > 0:
        raise ValueError(f"area_cm2 must be positive, got {area_cm2}")
    if inductive is None:
        inductive = bool(np.any(z.imag > 0))
    kk = lin_kk(f, z)
    warnings = [] if kk.passed else [kk.verdict()]

    tau = tau_grid(f, points_per_decade)
    u = np.log(tau)
    w = 2 * np.pi * f
    scale = float(np.abs(z).max())       # fit in units of |Z|max: lambda is then scale-free
    weight = 1.0 / np.abs(z)
    kern = kernel(f, tau)
    columns = [np.ones(f.size, complex)] + ([1j * w * 1e-6] if inductive else [])   # L in uH: columns of like size
    extra = len(columns)
    a_c = np.column_stack(columns + [kern])
    a = np.concatenate([a_c.real, a_c.imag]) * np.concatenate([weight, weight])[:, None]
    b = np.concatenate([z.real, z.imag]) * np.concatenate([weight, weight]) / scale
    d2 = np.zeros((u.size - 2, extra + u.size))
    d2[:, extra:] = _second_difference(u.size, u[1] - u[0]) * (u[1] - u[0]) ** 2   # per node, unitless

    def solve(lam_value: float) -> tuple[np.ndarray, float, float]:
        """(x, GCV score, rms of the weighted residuals)"""
        stacked = np.concatenate([a, math.sqrt(lam_value) * d2])
        rhs = np.concatenate([b, np.zeros(d2.shape[0])])
        x, _ = nnls(stacked, rhs, maxiter=50 * stacked.shape[1])
        return x, _gcv_score(a, d2, b, x, lam_value), float(np.sqrt(np.mean((a @ x - b) ** 2)))

    if lam is None:
        solved = [solve(v) for v in LAMBDAS]
        scores = np.array([s[1] for s in solved])
        rms = np.array([s[2] for s in solved])
        # GCV's minimum fixes how closely the data can be followed (the noise); GCV is
        # nearly flat over decades of lambda around it, so of the lambdas that follow the
        # data as closely (rms within RMS_TOLERANCE of the GCV choice's), the smoothest
        best = int(np.argmin(scores))
        near = np.flatnonzero((rms <= rms[best] * (1 + RMS_TOLERANCE)) & (LAMBDAS >= LAMBDAS[best]))
        lam = float(LAMBDAS[near.max()])
        gcv = (LAMBDAS.copy(), scores)
    else:
        if not lam > 0:
            raise ValueError(f"lambda must be positive, got {lam}")
        gcv = (np.array([lam]), np.array([solve(lam)[1]]))
    # (the GCV curve is kept for plotting the choice)
    x = solve(lam)[0] * scale
    r_inf = float(x[0])
    inductance = float(x[1] * 1e-6) if inductive else 0.0
    gamma = x[extra:]
    z_fit = a_c @ x
    rel = (z_fit - z) / np.abs(z)
    rms = float(np.sqrt(np.mean(np.concatenate([rel.real, rel.imag]) ** 2)) * 100)
    notes = [f"regularisation lambda {lam:.3g} by generalised cross-validation" if len(gcv[0]) > 1
             else f"regularisation lambda {lam:.3g} as given"]
    if lam in (LAMBDAS[0], LAMBDAS[-1]):
        notes.append("lambda sits at the end of the searched range: the choice may not be a true minimum")
    result = DrtResult(tau, gamma, r_inf, inductance, lam, gcv, [], f, z, z_fit, rms, kk, area_cm2, warnings, notes)
    result.peaks = find_peaks(tau, gamma, area_cm2)
    for p in result.peaks:
        if p.at_edge:
            result.notes.append(f"the peak at {p.f_hz:.3g} Hz lies at the edge of the frequencies measured: the "
                                "process reaches beyond them, its frequency is a bound and its resistance a part")
    return result


def _gcv_score(a: np.ndarray, d2: np.ndarray, b: np.ndarray, x: np.ndarray, lam: float) -> float:
    """n |A x - b|^2 / (n - df)^2; df = trace(A_F (A_F'A_F + lam D_F'D_F)^-1 A_F') over
    the free columns F (x > 0) of the non-negative solution: at the bound the others
    do not move with the data."""
    n = b.size
    free = x > 0
    residual = float(np.sum((a @ x - b) ** 2))
    if not free.any():
        return n * residual / n ** 2
    af, df_ = a[:, free], d2[:, free]
    gram = af.T @ af
    try:
        df = float(np.trace(np.linalg.solve(gram + lam * (df_.T @ df_) + 1e-14 * np.eye(gram.shape[0]), gram)))
    except np.linalg.LinAlgError:
        return math.inf
    return n * residual / max(n - df, 1e-9) ** 2


def find_peaks(tau_s: np.ndarray, gamma: np.ndarray, area_cm2: float | None = None) -> list[DrtPeak]:
    """Peaks of gamma (short to long tau, i.e. high to low frequency), each with the area
    of its part of the distribution, split at the minima between listed maxima. An
    inner maximum holding less than PEAK_MIN_AREA_FRACTION of the whole is a ripple of
    the regularised solution: not listed, its area goes to its neighbour. A maximum on
    the first or last node is a process at or beyond the edge of the frequencies
    measured: split off at the minimum before it, and listed (at_edge, its frequency
    only a bound) when it holds PEAK_MIN_AREA_FRACTION or more."""
    u = np.log(tau_s)
    g = np.asarray(gamma, dtype=float)
    total = float(np.sum(_trapezoid_weights(u) * g))
    if g.max() <= 0 or total <= 0:
        return []
    padded = np.concatenate([[-np.inf], g, [-np.inf]])
    maxima = [k for k in range(g.size) if padded[k + 1] > padded[k] and padded[k + 1] >= padded[k + 2]]
    while True:
        bounds = [0] + [m1 + int(np.argmin(g[m1:m2 + 1])) for m1, m2 in zip(maxima, maxima[1:])] + [g.size - 1]
        areas = [float(np.sum(_trapezoid_weights(u[lo:hi + 1]) * g[lo:hi + 1])) for lo, hi in zip(bounds, bounds[1:])]
        inner = [n for n, k in enumerate(maxima) if 0 < k < g.size - 1]
        small = [n for n in inner if areas[n] < PEAK_MIN_AREA_FRACTION * total]
        if not small:
            break
        maxima.pop(min(small, key=lambda n: areas[n]))
    peaks = []
    for k, r in zip(maxima, areas):
        edge = k in (0, g.size - 1)
        if edge and r < PEAK_MIN_AREA_FRACTION * total:
            continue
        tau_peak = float(math.exp(_vertex(u, g, k)))
        peaks.append(DrtPeak(tau_peak, 1.0 / (2 * math.pi * tau_peak), r,
                             r * area_cm2 if area_cm2 is not None else None, float(g[k]), edge))
    return peaks


def _vertex(u: np.ndarray, g: np.ndarray, k: int) -> float:
    """The maximum's position between nodes: the vertex of the parabola through the
    node and its neighbours (the grid is 0.1 decade; a process rarely sits on a node)."""
    if k == 0 or k == g.size - 1:
        return float(u[k])
    y0, y1, y2 = g[k - 1], g[k], g[k + 1]
    denom = y0 - 2 * y1 + y2
    if denom >= 0:
        return float(u[k])
    shift = 0.5 * (y0 - y2) / denom
    return float(u[k] + np.clip(shift, -0.5, 0.5) * (u[k + 1] - u[k]))
