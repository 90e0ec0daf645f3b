"""Equivalent-circuit fitting of impedance spectra, with the circuit-string syntax of
impedance.py (`R0-p(R1,CPE1)-p(R2-Wo1,C2)`: `-` in series, `p(a,b)` in parallel) and
its parameter names (`R0`, `CPE1_0`, `CPE1_1`, `Wo1_0`, `Wo1_1`), so fits compare
one to one. Our own scipy least_squares fitter: impedance.py 1.7.1 breaks on NumPy 2.

A fit reports 1-sigma errors (from the Jacobian at the optimum, scaled by the residual
variance as curve_fit does), area-specific resistances (ohm cm2), per-interface values
for symmetric cells (half the interfacial resistance), and a quality verdict that
compares the fit residuals with a Lin-KK (Kramers-Kronig) test of the data itself.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

# element type -> units of its parameters (CPE: Q, n; Wo/Ws: Z0, tau). An element with one
# parameter names it like itself (R1); with more, as impedance.py does (CPE1_0, CPE1_1).
ELEMENTS: dict[str, tuple[str, ...]] = {
    "R": ("ohm",),
    "C": ("F",),
    "L": ("H",),
    "CPE": ("ohm^-1 s^n", "1"),
    "W": ("ohm s^-1/2",),
    "Wo": ("ohm", "s"),
    "Ws": ("ohm", "s"),
}
_NAME = re.compile(r"(CPE|Wo|Ws|W|R|C|L)(\d+)")

# What a Li | LPSCl | Li cell shows between 1 MHz and 20 Hz (the station's analyser range):
# the electrolyte's resistance, then one depressed interfacial arc. The bulk arc of a
# sulfide electrolyte lies above 1 MHz, so a second arc is not determined by such data.
DEFAULT_CIRCUIT = "R0-p(R1,CPE1)"


class CircuitError(ValueError):
    """A circuit string that cannot be parsed, with the position and what was expected."""


# -- circuit strings --
@dataclass(frozen=True)
class Element:
    name: str
    kind: str
    first: int          # index of its first parameter in the parameter vector

    @property
    def parameter_names(self) -> list[str]:
        n = len(ELEMENTS[self.kind])
        return [self.name] if n == 1 else [f"{self.name}_{k}" for k in range(n)]


@dataclass(frozen=True)
class Node:
    op: str                           # "series" | "parallel" | "element"
    children: tuple["Node", ...] = ()
    element: Element | None = None


class Circuit:
    """A parsed circuit: its elements in order, parameter names and units, and Z(p, f)."""

    def __init__(self, text: str):
        self.text = text.replace(" ", "")
        self.elements: list[Element] = []
        self._pos = 0
        if not self.text:
            raise CircuitError("empty circuit string")
        self.root = self._series()
        if self._pos != len(self.text):
            self._fail("'-', ',' or ')'")
        names = [e.name for e in self.elements]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise CircuitError(f"circuit {text!r} uses element name(s) {', '.join(dup)} more than once")
        self.parameter_names = [p for e in self.elements for p in e.parameter_names]
        self.units = dict(zip(self.parameter_names, (u for e in self.elements for u in ELEMENTS[e.kind])))

    # recursive descent over: series := term ('-' term)*; term := name | 'p(' series (',' series)+ ')'
    def _fail(self, expected: str):
        found = repr(self.text[self._pos]) if self._pos < len(self.text) else "the end"
        raise CircuitError(f"circuit {self.text!r}: expected {expected} at position {self._pos + 1}, found {found}")

    def _series(self) -> Node:
        terms = [self._term()]
        while self.text.startswith("-", self._pos):
            self._pos += 1
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else Node("series", tuple(terms))

    def _term(self) -> Node:
        if self.text.startswith("p(", self._pos):
            self._pos += 2
            branches = [self._series()]
            while self.text.startswith(",", self._pos):
                self._pos += 1
                branches.append(self._series())
            if not self.text.startswith(")", self._pos):
                self._fail("',' or ')'")
            self._pos += 1
            if len(branches) < 2:
                raise CircuitError(f"circuit {self.text!r}: p(...) needs at least two branches")
            return Node("parallel", tuple(branches))
        match = re.compile(r"[A-Za-z]+\d*").match(self.text, self._pos)
        if not match:
            self._fail("an element such as R1, C1, CPE1, W1, Wo1, Ws1, L1 or p(")
        name = match.group(0)
        if not _NAME.fullmatch(name):
            raise CircuitError(f"circuit {self.text!r}: unknown element {name!r} at position {self._pos + 1}; "
                               "use R, C, L, CPE, W, Wo or Ws followed by a number")
        self._pos = match.end()
        kind = _NAME.fullmatch(name).group(1)
        element = Element(name, kind, sum(len(ELEMENTS[e.kind]) for e in self.elements))
        self.elements.append(element)
        return Node("element", element=element)

    def impedance(self, p: np.ndarray, frequency_hz: np.ndarray) -> np.ndarray:
        omega = 2 * np.pi * np.asarray(frequency_hz, dtype=float)
        return self._z(self.root, np.asarray(p, dtype=float), omega)

    def _z(self, node: Node, p: np.ndarray, w: np.ndarray) -> np.ndarray:
        if node.op == "series":
            return sum(self._z(c, p, w) for c in node.children)
        if node.op == "parallel":
            return 1.0 / sum(1.0 / self._z(c, p, w) for c in node.children)
        e = node.element
        a = p[e.first]
        if e.kind == "R":
            return np.full(w.shape, a, dtype=complex)
        if e.kind == "C":
            return 1.0 / (1j * w * a)
        if e.kind == "L":
            return 1j * w * a
        if e.kind == "CPE":
            return 1.0 / (a * (1j * w) ** p[e.first + 1])
        if e.kind == "W":
            return a * (1 - 1j) / np.sqrt(w)
        s = np.sqrt(1j * w * p[e.first + 1])
        return a / (s * np.tanh(s)) if e.kind == "Wo" else a * np.tanh(s) / s

    def is_exponent(self, k: int) -> bool:
        """True for a CPE exponent (bounded to [0, 1], fitted on a linear scale)."""
        return self.parameter_names[k].startswith("CPE") and self.parameter_names[k].endswith("_1")

    def interface_default(self) -> list[str]:
        """The resistors of the last parallel block that holds one: the lowest-frequency
        arc, which in a Li | SE | Li cell is the Li/electrolyte interface."""
        blocks = [n for n in self.root.children] if self.root.op == "series" else [self.root]
        for node in reversed(blocks):
            if node.op == "parallel":
                rs = [e.name for e in _elements_under(node) if e.kind == "R"]
                if rs:
                    return rs
        return []


def _elements_under(node: Node) -> list[Element]:
    if node.op == "element":
        return [node.element]
    return [e for c in node.children for e in _elements_under(c)]


# -- Kramers-Kronig --
@dataclass(frozen=True)
class KramersKronig:
    n_rc: int                  # RC elements the Lin-KK fit needed
    mu: float                  # 1 - sum|R<0| / sum|R>=0| at that size (Schönleber's criterion)
    residual_rms_pct: float    # of (Z - Z_KK) / |Z|, real and imaginary parts together
    residual_max_pct: float


def lin_kk(frequency_hz: np.ndarray, z: np.ndarray, mu_limit: float = 0.85, max_rc: int = 60) -> KramersKronig:
    """Lin-KK test (Schönleber et al., Electrochim. Acta 131 (2014) 20): a series of RC
    elements with fixed, log-spaced time constants (KK-consistent by construction) is
    fitted linearly; data it cannot follow are not KK-consistent. Of the element counts
    that do not over-fit (mu >= mu_limit: little negative resistance), the one with the
    smallest residual is kept; the first count to dip below mu_limit can come before
    the fit has converged, so it is not taken as the stopping point."""
    w = 2 * np.pi * np.asarray(frequency_hz, dtype=float)
    z = np.asarray(z, dtype=complex)
    weight = np.concatenate([1.0 / np.abs(z)] * 2)
    tried = []
    for m in range(3, max(3, min(max_rc, 2 * w.size // 3)) + 1):
        tau = np.geomspace(1.0 / w.max(), 1.0 / w.min(), m)
        basis = np.concatenate([np.ones((w.size, 1)), 1.0 / (1.0 + 1j * np.outer(w, tau)), 1j * w[:, None]], axis=1)
        a = np.concatenate([basis.real, basis.imag]) * weight[:, None]
        b = np.concatenate([z.real, z.imag]) * weight
        coef, *_ = np.linalg.lstsq(a, b, rcond=None)
        r = coef[1:-1]
        positive = np.abs(r[r >= 0]).sum()
        mu = 1.0 - np.abs(r[r < 0]).sum() / positive if positive > 0 else 0.0
        rel = (a @ coef - b)
        tried.append(KramersKronig(m, float(mu), float(np.sqrt(np.mean(rel ** 2)) * 100), float(np.abs(rel).max() * 100)))
    fair = [k for k in tried if k.mu >= mu_limit] or tried
    return min(fair, key=lambda k: k.residual_rms_pct)


# -- fitting --
@dataclass
class EisFit:
    circuit: str
    parameters: dict[str, float]
    stderr: dict[str, float]
    units: dict[str, str]
    area_cm2: float | None
    area_specific_ohm_cm2: dict[str, float]
    interface_elements: list[str]
    per_interface_ohm_cm2: dict[str, float]      # symmetric cells only: ASR / 2
    frequency_hz: np.ndarray
    z_measured: np.ndarray
    z_fit: np.ndarray
    residual_rms_pct: float
    kk: KramersKronig
    ok: bool
    flags: list[str]
    notes: list[str] = field(default_factory=list)
    # points the analyser flagged (overload, out of range): shown, not fitted
    flagged_frequency_hz: np.ndarray = field(default_factory=lambda: np.zeros(0))
    flagged_z: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=complex))
    flagged_reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "circuit": self.circuit,
            "parameters": self.parameters,
            "stderr": self.stderr,
            "units": self.units,
            "area_cm2": self.area_cm2,
            "area_specific_ohm_cm2": self.area_specific_ohm_cm2,
            "interface_elements": self.interface_elements,
            "per_interface_ohm_cm2": self.per_interface_ohm_cm2,
            "n_points": int(self.frequency_hz.size),
            "fit_residual_rms_pct": self.residual_rms_pct,
            "kk_residual_rms_pct": self.kk.residual_rms_pct,
            "kk_rc_elements": self.kk.n_rc,
            "ok": self.ok,
            "flags": self.flags,
            "notes": self.notes,
            "flagged_points": [{"frequency_hz": float(f), "flag": reason}
                               for f, reason in zip(self.flagged_frequency_hz, self.flagged_reasons)],
        }


def initial_guess(circuit: Circuit, frequency_hz: np.ndarray, z: np.ndarray, spread: float = 1.0) -> np.ndarray:
    """A starting point from the spectrum's shape: the high-frequency intercept for the
    first series resistor, the arc width shared among the other resistive elements, and
    capacitances that put each parallel block's time constant on log-spaced frequencies
    across the measured range (block order = high to low frequency), times `spread`."""
    f = np.asarray(frequency_hz, dtype=float)
    order = np.argsort(f)
    re_lo, re_hi = z.real[order[0]], z.real[order[-1]]
    r_series = max(float(z.real.min()), 1e-12 * max(abs(re_lo), 1.0))
    n_resistive = sum(e.kind in ("R", "Wo", "Ws") for e in circuit.elements) - 1
    share = max((re_lo - r_series) / max(n_resistive, 1), r_series * 0.1, 1e-12)
    blocks = [n for n in (circuit.root.children if circuit.root.op == "series" else (circuit.root,)) if n.op == "parallel"]
    f_block = np.geomspace(f.max(), f.min(), len(blocks) + 2)[1:-1] if blocks else []
    block_of = {e.name: k for k, node in enumerate(blocks) for e in _elements_under(node)}
    p = np.zeros(len(circuit.parameter_names))
    first_r_done = False
    for e in circuit.elements:
        fk = f_block[block_of[e.name]] if e.name in block_of else math.sqrt(f.max() * f.min())
        wk = 2 * np.pi * fk
        if e.kind == "R":
            if not first_r_done and e.name not in block_of:
                p[e.first] = r_series
            else:
                p[e.first] = share
            first_r_done = True
        elif e.kind == "C":
            p[e.first] = spread / (wk * share)
        elif e.kind == "CPE":
            p[e.first], p[e.first + 1] = spread / (wk ** 0.9 * share), 0.9
        elif e.kind == "L":
            im_hi = z.imag[order[-1]]
            p[e.first] = max(im_hi, 1e-3 * abs(re_hi)) / (2 * np.pi * f.max())
        elif e.kind == "W":
            p[e.first] = share * math.sqrt(2 * np.pi * f.min()) * 0.3
        else:  # Wo, Ws
            p[e.first], p[e.first + 1] = share, spread / (2 * np.pi * f.min())
    return p


def fit_circuit(frequency_hz: np.ndarray, z: np.ndarray, circuit: str, guess: dict[str, float] | list[float] | None = None,
                *, area_cm2: float | None = None, symmetric: bool = False, interface: list[str] | None = None,
                weighting: str = "unit", keep_inductive: bool | None = None, rms_floor_pct: float = 0.5,
                kk_limit_pct: float = 2.0, point_flags: list[str | None] | None = None) -> EisFit:
    """Fit `circuit` to a spectrum (Z in ohm, Im negative for capacitive behaviour).

    Points with Im(Z) >= 0 are left out unless the circuit has an inductor (they are the
    cable's inductance, which no R/C/CPE/W network can follow), as impedance.py's
    documented example does. weighting: 'unit' (impedance.py's default, least squares
    on ohm) or 'modulus' (residuals relative to |Z|). Without a guess, several starts
    from initial_guess() are tried and the best kept. point_flags: per point None or what
    the analyser reported (an overload, a reading out of its range); flagged points are
    left out of the fit and kept on the result (flagged_*) to be shown."""
    model = Circuit(circuit)
    f = np.asarray(frequency_hz, dtype=float)
    z = np.asarray(z, dtype=complex)
    if f.shape != z.shape or f.ndim != 1:
        raise ValueError("frequency and impedance must be 1-D arrays of equal length")
    notes = []
    flagged = np.zeros(f.size, dtype=bool)
    if point_flags is not None:
        if len(point_flags) != f.size:
            raise ValueError(f"{len(point_flags)} point flags for {f.size} points")
        flagged = np.array([flag is not None for flag in point_flags], dtype=bool)
    flagged_f, flagged_z = f[flagged], z[flagged]
    reasons = [str(flag) for flag in (point_flags or []) if flag is not None]
    if flagged.any():
        counts = {reason: reasons.count(reason) for reason in sorted(set(reasons))}
        notes.append(f"{int(flagged.sum())} point(s) the analyser flagged left out of the fit ("
                     + ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in counts.items()) + ")")
        f, z = f[~flagged], z[~flagged]
    if keep_inductive is None:
        keep_inductive = any(e.kind == "L" for e in model.elements)
    if not keep_inductive:
        keep = z.imag < 0
        if (~keep).any():
            notes.append(f"{int((~keep).sum())} point(s) with Im(Z) >= 0 left out (no inductor in the circuit)")
        f, z = f[keep], z[keep]
    n = len(model.parameter_names)
    if f.size <= n:
        raise ValueError(f"{f.size} usable points cannot determine the {n} parameters of {circuit}")
    if weighting not in ("unit", "modulus"):
        raise ValueError(f"weighting must be 'unit' or 'modulus', got {weighting!r}")
    weight = np.ones(f.size) if weighting == "unit" else 1.0 / np.abs(z)
    exponent = np.array([model.is_exponent(k) for k in range(n)])

    def residuals(p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            d = (model.impedance(p, f) - z) * weight
        out = np.concatenate([d.real, d.imag])
        return np.where(np.isfinite(out), out, 1e30)

    # The same problem curve_fit poses for impedance.py (parameters on their own scale,
    # bounds [0, inf), CPE exponents [0, 1], trust-region reflective, ftol 1e-13), so a
    # fit from the same guess lands where impedance.py's does.
    bounds = (np.zeros(n), np.where(exponent, 1.0, np.inf))
    if guess is None:
        start = _global_start(model, f, z, residuals, exponent)
    else:
        start = _guess_vector(model, guess)
    best = least_squares(residuals, np.where(exponent, np.clip(start, 1e-6, 1.0), start), bounds=bounds,
                         method="trf", ftol=1e-13, max_nfev=2000 * n)
    p = best.x
    # 1-sigma errors as curve_fit gives them: (J^T J)^-1 s^2, s^2 the residual variance
    dof = 2 * f.size - n
    s2 = 2 * best.cost / dof
    _, sv, vt = np.linalg.svd(best.jac, full_matrices=False)
    sv_inv = np.where(sv > sv[0] * 1e-15, 1.0 / sv, np.inf)
    with np.errstate(invalid="ignore"):   # an undetermined parameter (inf x 0) is NaN, then flagged below
        cov = (vt.T * sv_inv ** 2) @ vt * s2
        err = np.sqrt(np.abs(np.diag(cov)))
    names = model.parameter_names
    params = {k: float(v) for k, v in zip(names, p)}
    stderr = {k: float(v) for k, v in zip(names, err)}

    z_fit = model.impedance(p, f)
    rel = (z_fit - z) / np.abs(z)
    rms = float(np.sqrt(np.mean(np.concatenate([rel.real, rel.imag]) ** 2)) * 100)
    kk = lin_kk(f, z)
    flags = []
    if not best.success:
        flags.append(f"the fit did not converge: {best.message}")
    # A right circuit leaves residuals near the noise floor, which the Lin-KK fit of the
    # same points measures; well above it, the circuit misses a feature of the spectrum.
    limit = max(rms_floor_pct, 3.0 * kk.residual_rms_pct)
    if rms > limit:
        flags.append(f"fit residuals {rms:.2f} % rms exceed {limit:.2f} % (3x the {kk.residual_rms_pct:.2f} % the "
                     "data's own Lin-KK fit reaches): the circuit does not describe this spectrum")
    if kk.residual_rms_pct > kk_limit_pct:
        flags.append(f"the spectrum fails the Kramers-Kronig test ({kk.residual_rms_pct:.2f} % rms > "
                     f"{kk_limit_pct:g} %): the cell drifted or the data are noisy")
    for k, name in enumerate(names):
        if not np.isfinite(err[k]) or err[k] > abs(p[k]):
            flags.append(f"{name} is not determined by the data (1-sigma {err[k]:.3g} > value {p[k]:.3g})")

    asr, per_interface, chosen = {}, {}, []
    if area_cm2 is not None:
        if not area_cm2 > 0:
            raise ValueError(f"area_cm2 must be positive, got {area_cm2}")
        asr = {k: v * area_cm2 for k, v in params.items() if model.units[k] == "ohm"}
    if symmetric:
        chosen = list(interface) if interface else model.interface_default()
        unknown = [c for c in chosen if c not in params or model.units[c] != "ohm"]
        if unknown:
            raise ValueError(f"interface element(s) {', '.join(unknown)} are not resistances of {circuit}")
        # two identical Li | electrolyte interfaces in series: each carries half
        per_interface = {k: params[k] * (area_cm2 or 1.0) / 2.0 for k in chosen}
        if area_cm2 is None:
            notes.append("no area given: per-interface values are in ohm, not ohm cm2")
    return EisFit(model.text, params, stderr, model.units, area_cm2, asr, chosen, per_interface, f, z, z_fit, rms,
                  kk, not flags, flags, notes, flagged_f, flagged_z, reasons)


def _global_start(model: Circuit, f: np.ndarray, z: np.ndarray, residuals, exponent: np.ndarray) -> np.ndarray:
    """Best of several starts from initial_guess(), each fitted on log scales (values
    spanning nF to ohm are then equally easy to move), for the final fit to polish."""
    def on_log(x: np.ndarray) -> np.ndarray:
        return residuals(np.where(exponent, x, np.exp(x)))

    lower = np.where(exponent, 0.0, -690.0)          # exp(+-690) stays inside float range
    upper = np.where(exponent, 1.0, 690.0)
    best = None
    for spread in (1.0, 0.1, 10.0, 0.01, 100.0):
        p0 = initial_guess(model, f, z, spread)
        x0 = np.where(exponent, np.clip(p0, 1e-6, 1.0), np.log(np.maximum(p0, 1e-300)))
        result = least_squares(on_log, x0, bounds=(lower, upper), method="trf", x_scale="jac", ftol=1e-6,
                               max_nfev=100 * len(x0))
        if best is None or result.cost < best.cost:
            best = result
    return np.where(exponent, best.x, np.exp(best.x))


def _guess_vector(model: Circuit, guess: dict[str, float] | list[float]) -> np.ndarray:
    names = model.parameter_names
    if isinstance(guess, dict):
        missing = [n for n in names if n not in guess]
        extra = [n for n in guess if n not in names]
        if missing or extra:
            raise ValueError(f"initial guess for {model.text} needs {', '.join(names)}"
                             + (f"; missing {', '.join(missing)}" if missing else "")
                             + (f"; unknown {', '.join(extra)}" if extra else ""))
        values = [guess[n] for n in names]
    else:
        values = list(guess)
        if len(values) != len(names):
            raise ValueError(f"initial guess for {model.text} needs {len(names)} values ({', '.join(names)}), got {len(values)}")
    p = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError("initial guesses must be positive numbers")
    return p
