"""The impedance-over-run and DRT analyses as the analysis view computes and tabulates
them (Qt-free, like gui.analysis_runs, which hands these two kinds here): every
spectrum of a run fitted (analysis.eis_run), and one spectrum's DRT beside its circuit
fit (analysis.drt, analysis.eis), each with its tables labelled in units."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.drt import DrtResult, drt
from analysis.eis import DEFAULT_CIRCUIT, EisFit, fit_circuit
from analysis.eis_run import EisRunResult, fit_run, usable_points

EIS_RUN_KINDS = {"eis-run": "Impedance over run", "drt": "DRT"}
# a full cell shows two arcs below 1 MHz (Li anode contact, cathode charge transfer);
# a Li | Li cell's two identical interfaces make one arc
TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)"


def run_circuit(run) -> str:
    """The circuit fitted over a run unless the user picks another."""
    return TWO_ARCS if "cathode" in run.stack.kinds() else DEFAULT_CIRCUIT


def default_eis_options(kind: str, run) -> dict:
    if kind == "eis-run":
        return {"circuit": run_circuit(run)}
    return {"spectrum": -1, "circuit": run_circuit(run)}


@dataclass
class DrtPageResult:
    spectrum: int
    cycle: int | None
    t_s: float
    fit: EisFit
    drt: DrtResult
    area_cm2: float | None


def compute_eis(kind: str, run, options: dict, progress) -> EisRunResult | DrtPageResult:
    """The result of `kind` ('eis-run' or 'drt') over the run; ValueError says why not."""
    b = run.basis
    circuit = options.get("circuit") or run_circuit(run)
    if kind == "eis-run":
        result = fit_run(run.spectra, circuit, area_cm2=b.area_cm2, symmetric=b.symmetric,
                         progress=lambda f, text: progress(f, f"{text} of run #{run.run_id}"))
        return result
    if kind == "drt":
        from gui.analysis_runs import pick_spectrum
        number = options.get("spectrum", -1)
        if number != -1 and not any(sp["spectrum"] == number for sp in run.spectra):
            number = -1          # an overlaid run without that sweep: its last one
        spectrum = pick_spectrum(run, number)
        f, z, flags, good = usable_points(spectrum)
        progress(0.1, f"DRT of spectrum {spectrum['spectrum']} of run #{run.run_id}")
        result = drt(f[good], z[good], area_cm2=b.area_cm2)
        progress(0.6, f"fitting {circuit} to spectrum {spectrum['spectrum']} of run #{run.run_id}")
        fit = fit_circuit(f, z, circuit, area_cm2=b.area_cm2, symmetric=b.symmetric, point_flags=flags)
        cycle = spectrum.get("cycle")
        return DrtPageResult(int(spectrum["spectrum"]), int(cycle) if cycle is not None else None,
                             float(spectrum["t_s"]), fit, result, b.area_cm2)
    raise ValueError(f"unknown analysis {kind!r}")


def _summary(rows: list[tuple[str, object, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Quantity", "Value", "Unit"])


def eis_tables(kind: str, result, run) -> dict[str, pd.DataFrame]:
    """The result's tables by name, each column headed 'Name (unit)'."""
    if kind == "eis-run":
        t = result.table
        area = result.area_cm2
        out = {"Spectrum": t["spectrum"], "Cycle": t["cycle"], "Time (h)": t["t_s"] / 3600.0}
        for name in result.resistors:
            if area is not None:
                out[f"{name} (ohm cm²)"] = t[f"{name}_ohm_cm2"]
                out[f"{name} 1σ (ohm cm²)"] = t[f"{name}_sigma_ohm_cm2"]
            else:
                out[f"{name} (ohm)"] = t[f"{name}_ohm"]
                out[f"{name} 1σ (ohm)"] = t[f"{name}_sigma_ohm"]
        unit = "ohm cm²" if area is not None else "ohm"
        for name in (result.interface_elements if result.symmetric else []):
            out[f"{name} per interface ({unit})"] = t[f"{name}_per_interface"]
            out[f"{name} per interface 1σ ({unit})"] = t[f"{name}_per_interface_sigma"]
        out.update({"Fit residuals (% rms)": t["fit_residual_rms_pct"], "KK systematic (% rms)": t["kk_systematic_rms_pct"],
                    "KK": np.where(t["kk_passed"], "pass", "FAIL"), "Fit": np.where(t["fit_ok"], "ok", "BAD")})
        warnings = pd.DataFrame([(s.spectrum, s.cycle, w) for s in result.fits for w in s.warnings],
                                columns=["Spectrum", "Cycle", "Warning"])
        summary = _summary([("Circuit", result.circuit, ""), ("Spectra", len(result.fits), ""),
                            ("Interface elements", ", ".join(result.interface_elements), ""),
                            ("Symmetric cell (per interface = half)", result.symmetric, "")]
                           + [("Note", n, "") for n in result.notes])
        return {"per spectrum": pd.DataFrame({k: np.asarray(v) for k, v in out.items()}), "warnings": warnings,
                "summary": summary}
    d, fit = result.drt, result.fit
    peaks = pd.DataFrame({"τ (s)": [p.tau_s for p in d.peaks], "Frequency (Hz)": [p.f_hz for p in d.peaks],
                          "R (ohm)": [p.r_ohm for p in d.peaks]})
    if result.area_cm2 is not None:
        peaks["R (ohm cm²)"] = [p.r_ohm_cm2 for p in d.peaks]
    names = list(fit.parameters)
    parameters = pd.DataFrame({"Parameter": names, "Value": [fit.parameters[n] for n in names],
                               "1σ": [fit.stderr[n] for n in names], "Unit": [fit.units[n] for n in names]})
    kk = d.kk
    residuals = pd.DataFrame({"Frequency (Hz)": kk.frequency_hz, "KK residual Re (%)": kk.residual_real_pct,
                              "KK residual Im (%)": kk.residual_imag_pct})
    distribution = pd.DataFrame({"τ (s)": d.tau_s, "γ (ohm)": d.gamma_ohm})
    summary = _summary([
        ("Spectrum", result.spectrum, ""), ("Cycle", result.cycle if result.cycle is not None else "", ""),
        ("Measured at", result.t_s / 3600.0, "h"), ("R_inf", d.r_inf_ohm, "ohm"),
        ("Polarisation (area of γ)", d.polarisation_ohm, "ohm"),
        ("λ (generalised cross-validation)", d.lam, ""), ("DRT fit residuals", d.residual_rms_pct, "% rms"),
        ("Kramers-Kronig", "pass" if kk.passed else "FAIL", ""),
        ("KK systematic residuals", kk.systematic_rms_pct, "% rms"), ("KK limit", kk.limit_pct, "% rms"),
        ("Circuit", fit.circuit, ""), ("Circuit fit residuals", fit.residual_rms_pct, "% rms"),
        ("Circuit fit", "ok" if fit.ok else "BAD FIT", ""),
    ] + [("Warning", w, "") for w in d.warnings] + [("Flag", f, "") for f in fit.flags]
        + [("Note", n, "") for n in d.notes + fit.notes])
    return {"peaks": peaks, "circuit fit": parameters, "KK residuals": residuals, "distribution": distribution,
            "summary": summary}


def describe_peak(peak, area: float | None) -> str:
    r = f"{peak.r_ohm_cm2:.3g} ohm cm²" if area is not None and peak.r_ohm_cm2 is not None else f"{peak.r_ohm:.3g} ohm"
    return f"{_si_hz(peak.f_hz)} (τ {peak.tau_s:.3g} s) {r}"


def _si_hz(f: float) -> str:
    if not math.isfinite(f):
        return "? Hz"
    for scale, prefix in ((1e6, "MHz"), (1e3, "kHz"), (1.0, "Hz"), (1e-3, "mHz")):
        if f >= scale:
            return f"{f / scale:.3g} {prefix}"
    return f"{f:.3g} Hz"
