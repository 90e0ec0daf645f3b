"""Li diffusivity from a galvanostatic intermittent titration (GITT) by Weppner and
Huggins: for a current pulse of duration tau (tau << L^2 / D) into a layer of
thickness L,

    D = 4 L^2 / (pi tau) * (dE_s / dE_t)^2

dE_s is the change of the relaxed voltage from the rest before the pulse to the rest
after it; dE_t is the voltage change during the pulse without the IR drop, taken from
a straight-line fit of E against sqrt(t) over the pulse (the Weppner-Huggins regime),
so the ohmic step at switch-on does not enter it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PULSE_COLUMNS = ["pulse", "t_s", "tau_s", "lithiation_time_s", "current_mA", "charge_mAh", "E_before_V",
                 "E_after_V", "dEs_V", "dEt_V", "ir_drop_V", "D_cm2_s"]


@dataclass
class GittResult:
    pulses: pd.DataFrame
    thickness_um: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        rows = []
        for row in self.pulses.itertuples(index=False):
            rows.append({c: (None if isinstance(v, float) and not math.isfinite(v) else
                             int(v) if c == "pulse" else float(v)) for c, v in zip(PULSE_COLUMNS, row)})
        return {"thickness_um": self.thickness_um, "pulses": rows, "notes": self.notes}


def gitt(t: np.ndarray, current: np.ndarray, voltage: np.ndarray, thickness_um: float, *,
         lithiation_sign: int = -1, min_current_a: float = 0.0, fit_window: tuple[float, float] = (0.1, 1.0)) -> GittResult:
    """One row per pulse that has a rest before and after it. t in s, current in A
    (positive = charge), voltage in V; thickness_um is the layer Li diffuses through.

    lithiation_sign: the sign of the current that lithiates the layer (-1 for a
    working electrode reduced by a negative current, as in a Ag-C | LPSCl | Li half
    cell); lithiation_time_s adds up the pulse time in that direction. fit_window is the
    part of each pulse (fractions of tau) the sqrt(t) line is fitted over."""
    if not thickness_um > 0:
        raise ValueError(f"thickness_um must be positive, got {thickness_um}")
    t, current, voltage = (np.asarray(a, dtype=float) for a in (t, current, voltage))
    active = np.abs(current) > min_current_a
    edges = np.flatnonzero(np.diff(active.astype(np.int8))) + 1
    bounds = np.concatenate(([0], edges, [t.size]))
    runs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    notes = []
    rows = []
    lithiation_s = 0.0
    charge_mah = 0.0
    length_cm = thickness_um * 1e-4
    for k, (a, b) in enumerate(runs):
        if not active[a]:
            continue
        if a == 0 or k + 1 >= len(runs):
            notes.append(f"pulse at t = {t[a]:g} s has no rest {'before' if a == 0 else 'after'} it: skipped")
            continue
        t0 = t[a - 1]                             # last rest sample: the current starts after it
        tau = t[b - 1] - t0
        i_mean = float(np.mean(current[a:b]))
        if np.sign(i_mean) == lithiation_sign:
            lithiation_s += tau
        charge_mah += float(np.sum(current[a:b] * np.diff(t[a - 1:b]))) / 3.6
        rest_end = runs[k + 1][1] - 1
        e_before, e_after = voltage[a - 1], voltage[rest_end]
        root = np.sqrt(t[a:b] - t0)
        window = (root >= math.sqrt(fit_window[0] * tau)) & (root <= math.sqrt(fit_window[1] * tau) + 1e-12)
        if window.sum() >= 3:
            slope, intercept = np.polyfit(root[window], voltage[a:b][window], 1)
            de_t = slope * math.sqrt(tau)
            ir = intercept - e_before
        else:
            notes.append(f"pulse at t = {t0:g} s has under 3 samples in the fit window: dE_t from end points")
            de_t = voltage[b - 1] - voltage[a]
            ir = voltage[a] - e_before
        de_s = e_after - e_before
        d = 4.0 * length_cm ** 2 / (math.pi * tau) * (de_s / de_t) ** 2 if de_t != 0 else math.nan
        rows.append((len(rows) + 1, t0, tau, lithiation_s, i_mean * 1e3, charge_mah, e_before, e_after, de_s,
                     de_t, ir, d))
    return GittResult(pd.DataFrame(rows, columns=PULSE_COLUMNS), thickness_um, notes)
