"""`main.py analyze eis --all-spectra` (every spectrum of a run fitted, analysis.eis_run)
and `analyze eis --drt` (analysis.drt, of a file or of one spectrum of a run): each
returns (result with to_dict(), a text table for people) to cli.analyze.handle."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cli.common import CliError


def all_spectra(args, run, area: float | None, symmetric: bool):
    from analysis.eis import CircuitError
    from analysis.eis_run import fit_run
    from gui.analysis_eis_runs import run_circuit     # Qt-free: the analysis view's choice, so both agree
    try:
        result = fit_run(run.spectra, args.circuit or run_circuit(run), area_cm2=area, symmetric=symmetric)
    except CircuitError as exc:
        raise CliError(str(exc)) from None
    result.notes.append(f"{len(result.fits)} spectra of run {run.run_id}")
    if area is None:
        result.notes.append("area unknown: resistances in ohm only; give --area-cm2")
    table = result.table
    shown = ["spectrum", "cycle"] + [c for c in table.columns if c == "t_s" or c.endswith(("_ohm", "_sigma_ohm"))
                                     or "per_interface" in c] + ["kk_passed", "fit_ok"]
    text = table[shown].assign(t_s=table["t_s"] / 3600.0).rename(columns={"t_s": "t_h"})
    lines = [f"{result.circuit} fitted to {len(result.fits)} spectra of run {run.run_id}"
             + (f" (area {area:g} cm2)" if area else ""),
             text.to_string(index=False, float_format=lambda v: f"{v:.4g}")]
    for s in result.fits:
        lines += [f"spectrum {s.spectrum}: {w}" for w in s.warnings]
    return result, "\n".join(lines)


def drt_of(args, columns: dict, area: float | None):
    from analysis.drt import drt
    f = np.asarray(columns["frequency_hz"], dtype=float)
    z = np.asarray(columns["z_ohm"], dtype=complex)
    flags = columns.get("flags")
    if flags is not None:            # points the analyser flagged are not deconvolved
        good = np.array([flag is None for flag in flags], dtype=bool)
        f, z = f[good], z[good]
    result = drt(f, z, area_cm2=area)
    if "spectrum" in columns:
        result.notes.append(f"spectrum {columns['spectrum']} of run {args.run}")
    if area is None:
        result.notes.append("area unknown: peaks in ohm only; give --area-cm2")
    peaks = pd.DataFrame([p.to_dict() for p in result.peaks], columns=["tau_s", "f_hz", "r_ohm", "r_ohm_cm2"])
    if area is None:
        peaks = peaks.drop(columns="r_ohm_cm2")
    text = (f"DRT of {f.size} points: R_inf {result.r_inf_ohm:.4g} ohm, polarisation {result.polarisation_ohm:.4g} ohm, "
            f"lambda {result.lam:.3g} (generalised cross-validation), fit residuals {result.residual_rms_pct:.2f} % rms\n"
            f"{peaks.to_string(index=False, float_format=lambda v: f'{v:.4g}') if len(peaks) else 'no peaks'}\n"
            f"Kramers-Kronig: {result.kk.verdict()}")
    return result, text
