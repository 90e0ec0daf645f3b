"""Impedance over a run: every spectrum of a run fitted with the same circuit
(analysis.eis.fit_circuit), as one table per spectrum with its cycle and time, each
resistance with its 1-sigma error, per interface for a symmetric cell, and each
spectrum's Kramers-Kronig verdict (analysis.kramers_kronig). A spectrum that fails KK
is fitted all the same, with the warning on its row.

Speed: consecutive spectra of a run differ little, so each fit starts from the one
before (warm start: a single local least-squares polish instead of the multi-start
search fit_circuit does without a guess). A warm fit that comes out worse than a cold
one would (flags raised, or residuals more than WARM_TOLERANCE times the previous
spectrum's) is redone cold, so the warm start changes the speed, not the answer. The
first spectrum (cold) is fitted from initial_guess() once, and by the multi-start
search only when that fit is flagged.
Points an analyser flagged (overload, out of range: the spectrum's `flags`) are left
out of the fit and of the KK test, and kept on the fit to be shown (fit_circuit's
point_flags).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.eis import Circuit, EisFit, fit_circuit, initial_guess
from analysis.kramers_kronig import KramersKronig, lin_kk

WARM_TOLERANCE = 2.0


@dataclass
class SpectrumFit:
    spectrum: int
    cycle: int | None
    t_s: float
    fit: EisFit
    kk: KramersKronig
    warm: bool                  # True: started from the previous spectrum's fit
    n_flagged: int = 0          # points the analyser flagged, left out

    @property
    def warnings(self) -> list[str]:
        return ([] if self.kk.passed else [self.kk.verdict()]) + [f for f in self.fit.flags
                                                                   if "Kramers-Kronig" not in f]


@dataclass
class EisRunResult:
    circuit: str
    resistors: list[str]        # the circuit's resistances, in order
    interface_elements: list[str]
    area_cm2: float | None
    symmetric: bool
    fits: list[SpectrumFit]
    notes: list[str] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """One row per spectrum: spectrum, cycle, t_s, each resistance and its 1 sigma in
        ohm (and ohm cm2 with an area; per interface for a symmetric cell), fit
        residuals, KK verdict."""
        rows = []
        for s in self.fits:
            row = {"spectrum": s.spectrum, "cycle": s.cycle, "t_s": s.t_s}
            for name in self.resistors:
                row[f"{name}_ohm"] = s.fit.parameters[name]
                row[f"{name}_sigma_ohm"] = s.fit.stderr[name]
                if self.area_cm2 is not None:
                    row[f"{name}_ohm_cm2"] = s.fit.parameters[name] * self.area_cm2
                    row[f"{name}_sigma_ohm_cm2"] = s.fit.stderr[name] * self.area_cm2
            for name in s.fit.per_interface_ohm_cm2:
                scale = (self.area_cm2 or 1.0) / 2.0
                row[f"{name}_per_interface"] = s.fit.parameters[name] * scale
                row[f"{name}_per_interface_sigma"] = s.fit.stderr[name] * scale
            row.update({"fit_residual_rms_pct": s.fit.residual_rms_pct, "kk_passed": s.kk.passed,
                        "kk_systematic_rms_pct": s.kk.systematic_rms_pct, "fit_ok": s.fit.ok, "warm_start": s.warm})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        unit = "ohm_cm2" if self.area_cm2 is not None else "ohm"
        return {
            "circuit": self.circuit,
            "area_cm2": self.area_cm2,
            "symmetric": self.symmetric,
            "interface_elements": self.interface_elements,
            "per_interface_unit": unit if self.symmetric else None,
            "spectra": [{
                "spectrum": s.spectrum, "cycle": s.cycle, "t_s": s.t_s,
                "resistances_ohm": {n: s.fit.parameters[n] for n in self.resistors},
                "sigma_ohm": {n: s.fit.stderr[n] for n in self.resistors},
                **({"resistances_ohm_cm2": {n: s.fit.parameters[n] * self.area_cm2 for n in self.resistors},
                    "sigma_ohm_cm2": {n: s.fit.stderr[n] * self.area_cm2 for n in self.resistors}}
                   if self.area_cm2 is not None else {}),
                "per_interface": dict(s.fit.per_interface_ohm_cm2),
                "per_interface_sigma": {n: s.fit.stderr[n] * (self.area_cm2 or 1.0) / 2.0
                                        for n in s.fit.per_interface_ohm_cm2},
                "parameters": s.fit.parameters, "stderr": s.fit.stderr,
                "fit_residual_rms_pct": s.fit.residual_rms_pct, "fit_ok": s.fit.ok,
                "n_points": int(s.fit.frequency_hz.size), "n_flagged": s.n_flagged,
                "kk": s.kk.to_dict(), "warnings": s.warnings, "notes": list(s.fit.notes),
            } for s in self.fits],
            "notes": list(self.notes),
        }


def usable_points(spectrum: dict) -> tuple[np.ndarray, np.ndarray, list | None, np.ndarray]:
    """(frequency, Z, per-point flags for fit_circuit, mask of the points fitted): points
    an analyser flagged (`flags`: None for a good reading, else what it reported) are
    kept for fit_circuit to show, and not fitted; non-finite points are dropped."""
    f = np.asarray(spectrum["freq_hz"], dtype=float)
    z = np.asarray(spectrum["z"], dtype=complex)
    finite = np.isfinite(f) & np.isfinite(z)
    flags = spectrum.get("flags")
    if flags is None:
        return f[finite], z[finite], None, np.ones(int(finite.sum()), bool)
    flags = [flag for flag, ok in zip(flags, finite) if ok]
    return f[finite], z[finite], flags, np.array([flag is None for flag in flags], dtype=bool)


def fit_run(spectra: list[dict], circuit: str, *, area_cm2: float | None = None, symmetric: bool = False,
            interface: list[str] | None = None, warm_start: bool = True,
            progress: Callable[[float, str], None] | None = None) -> EisRunResult:
    """Fit `circuit` to every spectrum (dicts as Notebook.spectra gives them: spectrum,
    cycle, t_s, freq_hz, z and optionally flags), in the order measured."""
    if not spectra:
        raise ValueError("no impedance spectra to fit")
    model = Circuit(circuit)
    resistors = [e.name for e in model.elements if e.kind == "R"]
    fits: list[SpectrumFit] = []
    skipped: list[str] = []
    previous: EisFit | None = None
    ordered = sorted(spectra, key=lambda s: (s["t_s"], s["spectrum"]))
    for n, spectrum in enumerate(ordered):
        if progress is not None:
            progress(n / len(ordered), f"fitting spectrum {spectrum['spectrum']} ({n + 1} of {len(ordered)})")
        f, z, point_flags, good = usable_points(spectrum)
        n_flagged = int((~good).sum())

        def fit(guess):
            return fit_circuit(f, z, circuit, guess, area_cm2=area_cm2, symmetric=symmetric, interface=interface,
                               point_flags=point_flags)

        if int(good.sum()) <= len(model.parameter_names):
            # too few readings left (an overload over most of the sweep): named, not fitted
            skipped.append(f"spectrum {spectrum['spectrum']} not fitted: {int(good.sum())} usable point(s) cannot "
                           f"determine the {len(model.parameter_names)} parameters of {model.text}")
            continue
        result, warm = None, False
        if warm_start and previous is not None:
            try:
                result, warm = fit(previous.parameters), True
            except ValueError:
                result = None           # e.g. a parameter at exactly zero: no warm start, fit cold
            if result is not None and _worse(result, previous):
                cold = _cold_fit(fit, model, f, z, point_flags)
                result, warm = (cold, False) if cold.residual_rms_pct <= result.residual_rms_pct else (result, True)
        if result is None:
            result = _cold_fit(fit, model, f, z, point_flags)
        cycle = spectrum.get("cycle")
        fits.append(SpectrumFit(int(spectrum["spectrum"]), int(cycle) if cycle is not None else None,
                                float(spectrum["t_s"]), result, lin_kk(f[good], z[good]), warm, n_flagged))
        previous = result
    if not fits:
        raise ValueError("no spectrum could be fitted: " + "; ".join(skipped))
    notes = list(skipped)
    failing = [s.spectrum for s in fits if not s.kk.passed]
    if failing:
        notes.append(f"spectra {', '.join(map(str, failing))} fail the Kramers-Kronig test: fitted, with a warning")
    chosen = list(interface) if interface else model.interface_default()
    return EisRunResult(model.text, resistors, chosen, area_cm2, symmetric, fits, notes)


def _cold_fit(fit, model: Circuit, f: np.ndarray, z: np.ndarray, point_flags: list | None) -> EisFit:
    """A fit from the spectrum's shape alone: one local fit from initial_guess(), and
    only if that one is flagged (not converged, residuals above the noise the KK test
    measures, a parameter undetermined) fit_circuit's multi-start search, keeping the
    better. The single start lands where the search does on a well-described spectrum,
    in a fortieth of the time."""
    good = np.array([flag is None for flag in point_flags], bool) if point_flags is not None else np.ones(f.size, bool)
    try:
        quick = fit(list(initial_guess(model, f[good], z[good])))
    except ValueError:
        quick = None            # a start at zero (a degenerate spectrum): the search decides
    if quick is not None and quick.ok:
        return quick
    full = fit(None)
    return full if quick is None or full.residual_rms_pct <= quick.residual_rms_pct else quick


def _worse(fit: EisFit, previous: EisFit) -> bool:
    """A warm fit to refit cold: it raised flags the previous spectrum's fit did not, or
    its residuals grew by more than WARM_TOLERANCE."""
    new_flags = {f.split(" ")[0] for f in fit.flags} - {f.split(" ")[0] for f in previous.flags}
    floor = max(previous.residual_rms_pct, 0.05)
    return bool(new_flags) or not math.isfinite(fit.residual_rms_pct) or fit.residual_rms_pct > WARM_TOLERANCE * floor
