"""Equivalent-circuit model of NMC | LPSCl | (Ag-C) | Li full cells (DOMAIN.md, Fig 3f, 5).

State: charge extracted from the cathode q (mAh/cm2) as a fraction s = q / Q of the
accessible capacity Q. Voltage V = OCV(s + delta) + I x R, where delta is a surface
offset that builds up with the C-rate (time constant TAU_SURFACE_S) and stands for
solid diffusion in the cathode: it makes the cut-offs arrive earlier at higher rates.
Its values at the paper's rates are calibrated so a 2.6-4.25 V rate test delivers the
paper's 174.0 / 149.4 / 130.5 / 113.4 mAh/g at 0.1 / 0.2 / 0.33 / 0.5 C.

Ageing is one rule (DOMAIN.md, "impedance growth over cycling"): the cathode's
interfacial (charge-transfer) resistance grows with the square root of the cycles n the
cell has completed (a discharge followed by a charge), as an interphase does whose
growth is limited by transport through itself (parabolic law):

    R_ct(n) = R_CATHODE_OHM_CM2 x (1 + R_GROWTH_PER_SQRT_CYCLE x sqrt(n))

`r_cathode_ohm_cm2(n)` is that rule; the voltage model and the impedance spectrum both
take R_ct from it, and nothing else ages. Capacity fade is not a rule of its own: the
extra I x R_ct at C/3 (0.533 mA/cm2) brings the 4.25 V and 2.6 V cut-offs earlier, so the
capacity delivered falls (80.2 % after 500 C/3 cycles: R_ct ~15 -> ~340 ohm cm2), the
dQ/dV peaks drift apart (Fig 5e), and the spectrum's charge-transfer arc widens and
moves to lower frequency by the same R_ct(n). The bulk electrolyte and the Li | Ag-C
side do not age (that stability is the interlayer's point). A side reaction takes
SIDE_REACTION of the charge, giving a Coulombic efficiency of 99.97 %.

Without an interlayer the Li side grows a dendrite during the first charge: past
~41 mAh/g the cell soft-shorts, the charge goes into the short, and the voltage
stalls near 3.7 V with flicker noise (Fig 3f).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

import cell
from cell import Stack
from instruments.sim.base import SimCell
from instruments.sim.impedance import parallel_r_cpe, warburg_open

Q_INF_MAH_G = 196.0                 # accessible capacity at a vanishing rate, first cycle
RATES_C = np.array([0.1, 0.2, 1 / 3, 0.5])
SURFACE_OFFSET = np.array([0.04945, 0.11053, 0.15560, 0.19318])   # calibrated, see module doc
TAU_SURFACE_S = 300.0
R_CATHODE_OHM_CM2 = 15.0           # charge transfer at the NMC | LPSCl interface, as built
CATHODE_CPE_Q = 1e-3               # F s^(n-1) / cm2: the composite's large interface
CATHODE_CPE_N = 0.85
SIDE_REACTION = 3.0e-4
R_GROWTH_PER_SQRT_CYCLE = 0.98     # calibrated: 80.2 % retention after 500 C/3 cycles
SHORT_AT_MAH_G = 41.0
SHORT_SPREAD = 0.05
SHORT_FLICKER_V = 2e-3
R_INTERLAYER_TRANSPORT_OHM_CM2 = 2.5   # Li through the Ag-C, seen by a reference electrode


# Open-circuit voltage of the cathode (V vs Li) against its charged fraction: an
# NMC-like curve (steep at both ends, ~3.7 V at 20 % charge, a flatter stretch near
# 3.97 V that shows as a second dQ/dV peak), as knots joined by a monotone cubic.
_OCV_S = [0.0, 0.01, 0.03, 0.06, 0.12, 0.30, 0.45, 0.60, 0.70, 0.76, 0.84, 0.90, 0.95, 0.985, 1.0]
_OCV_V = [2.50, 3.20, 3.50, 3.59, 3.64, 3.70, 3.75, 3.86, 3.96, 3.99, 4.05, 4.12, 4.17, 4.235, 4.30]
_OCV = PchipInterpolator(_OCV_S, _OCV_V, extrapolate=True)


def ocv(s: np.ndarray) -> np.ndarray:
    return _OCV(np.clip(s, -0.02, 1.02))


def r_cathode_ohm_cm2(cycles: int) -> float:
    """The cathode's interfacial resistance after `cycles` completed cycles: the one
    ageing rule (module doc)."""
    return R_CATHODE_OHM_CM2 * (1.0 + R_GROWTH_PER_SQRT_CYCLE * np.sqrt(max(cycles, 0)))


def surface_offset(c_rate: float) -> float:
    """Surface offset at a C-rate: interpolated in log(rate), proportional below 0.1 C."""
    if c_rate <= 0:
        return 0.0
    if c_rate < RATES_C[0]:
        return float(SURFACE_OFFSET[0] * c_rate / RATES_C[0])
    slope = (SURFACE_OFFSET[-1] - SURFACE_OFFSET[-2]) / np.log(RATES_C[-1] / RATES_C[-2])
    if c_rate > RATES_C[-1]:
        return float(min(0.45, SURFACE_OFFSET[-1] + slope * np.log(c_rate / RATES_C[-1])))
    return float(np.interp(np.log(c_rate), np.log(RATES_C), SURFACE_OFFSET))


@dataclass(frozen=True)
class FullCellParams:
    area_cm2: float
    active_mass_mg_cm2: float
    one_c_mA_cm2: float
    r_bulk_ohm_cm2: float
    r_anode_ohm_cm2: float
    short_at_mAh_cm2: float       # inf with an interlayer
    has_reference: bool = False

    def r_series_ohm_cm2(self, cycles: int = 0) -> float:
        return self.r_bulk_ohm_cm2 + r_cathode_ohm_cm2(cycles) + self.r_anode_ohm_cm2

    @property
    def q_inf_mAh_cm2(self) -> float:
        return self.active_mass_mg_cm2 * Q_INF_MAH_G / 1000.0


def full_params_for(stack: Stack, rng: np.random.Generator) -> FullCellParams:
    kinds = stack.kinds()
    if "cathode" not in kinds:
        raise ValueError(f"the full-cell model needs a cathode, not {stack.describe()}")
    f = cell.figures(stack)
    r_bulk = 0.0
    anode_interface = None
    layers = [layer for layer in stack.layers if stack.material(layer).kind != "reference"]
    for i, layer in enumerate(layers):
        material = stack.material(layer)
        if material.kind == "electrolyte":
            r_bulk += layer.thickness_um * 1e-4 / ((material.ionic_conductivity_mS_cm or 1.0) * 1e-3)
            anode_interface = stack.material(layers[i + 1])
    bare = anode_interface is not None and anode_interface.kind == "anode"
    r_anode = (anode_interface.interface_asr_ohm_cm2 or 0.0) if anode_interface else 0.0
    short = SHORT_AT_MAH_G * f.active_mass_mg_cm2 / 1000.0 * max(0.5, 1 + SHORT_SPREAD * rng.standard_normal())
    return FullCellParams(stack.area_cm2, f.active_mass_mg_cm2, f.one_c_mA_cm2,
                          r_bulk, r_anode, short if bare else float("inf"), "reference" in kinds)


class FullCell(SimCell):
    def __init__(self, params: FullCellParams, seed: int = 0):
        super().__init__(seed)
        self.params = params
        self.cycles = 0                 # completed discharge-then-charge transitions
        self._q = 0.0                   # mAh/cm2 extracted from the cathode (0 = as built, discharged)
        self._delta = 0.0
        self._charged_total = 0.0       # mAh/cm2 of charge passed, for the dendrite
        self._discharged_since = False
        self.shorted_at: float | None = None

    @property
    def capacity_mAh_cm2(self) -> float:
        return self.params.q_inf_mAh_cm2       # what the cut-offs let the cell reach falls, not this

    @property
    def r_series_ohm_cm2(self) -> float:
        return self.params.r_series_ohm_cm2(self.cycles)

    def set_current(self, t: float, amps: float) -> None:
        with self.lock:
            self._set_current(t, amps)

    def _set_current(self, t: float, amps: float) -> None:
        self._advance(t)
        if amps < 0:
            self._discharged_since = True
        elif amps > 0 and self._discharged_since:
            self.cycles += 1            # ageing is applied between a discharge and the next charge
            self._discharged_since = False
        self._current = amps

    def _trajectory(self, times: np.ndarray) -> dict:
        p = self.params
        i_cm2 = self._current / p.area_cm2                 # A/cm2
        elapsed = times - self._t
        c_rate = abs(i_cm2) * 1e3 / p.one_c_mA_cm2
        target = np.sign(i_cm2) * surface_offset(c_rate)
        effective = i_cm2 * (1.0 - SIDE_REACTION) if i_cm2 > 0 else i_cm2
        q_per_s = effective * 1e3 / 3600.0                  # mAh/cm2 per s into the cathode
        if i_cm2 > 0:
            charge_per_s = i_cm2 * 1e3 / 3600.0
            charged = self._charged_total + charge_per_s * elapsed
            # Past the short, the charge current flows through the dendrite, not the cathode.
            to_short = max((p.short_at_mAh_cm2 - self._charged_total) / charge_per_s, 0.0)
            q = self._q + q_per_s * np.minimum(elapsed, to_short)
        else:
            charged = np.full(times.shape, self._charged_total)
            q = self._q + q_per_s * elapsed
        shorted = charged >= p.short_at_mAh_cm2
        return {"t": times, "q": q, "charged": charged, "shorted": shorted,
                "delta": target + (self._delta - target) * np.exp(-elapsed / TAU_SURFACE_S), "i_cm2": i_cm2}

    def _voltage(self, traj: dict) -> np.ndarray:
        s = traj["q"] / self.capacity_mAh_cm2 + traj["delta"]
        v = ocv(s) + traj["i_cm2"] * self.r_series_ohm_cm2
        if traj["shorted"].any():
            flicker = SHORT_FLICKER_V * self._rng.standard_normal(v.size)
            v = np.where(traj["shorted"], v + flicker, v)
        return v

    def _reference(self, traj: dict) -> np.ndarray:
        """The Li anode against the Li reference: ohmic through its contact and the
        interlayer, negative while Li plates (charge), positive while it strips; flat,
        because the interlayer keeps Li transport ahead of the current (Fig 4d)."""
        n = traj["q"].size
        if not self.params.has_reference:
            return np.full(n, np.nan)
        r = self.params.r_anode_ohm_cm2 + R_INTERLAYER_TRANSPORT_OHM_CM2
        return np.full(n, -traj["i_cm2"] * r)

    def _commit(self, traj: dict, index: int) -> None:
        self._q = float(traj["q"][index])
        self._delta = float(traj["delta"][index])
        self._charged_total = float(traj["charged"][index])
        if self.shorted_at is None and traj["shorted"][index]:
            self.shorted_at = float(traj["t"][int(np.argmax(traj["shorted"]))])

    def impedance(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Complex impedance (ohm): bulk electrolyte, the anode contact's arc, the cathode's
        charge-transfer arc (R_ct of the cycles completed: the ageing rule the voltage
        model uses), and solid diffusion in the cathode."""
        p = self.params
        omega = 2 * np.pi * np.asarray(freqs_hz, dtype=float)
        z = (p.r_bulk_ohm_cm2 + parallel_r_cpe(omega, p.r_anode_ohm_cm2)
             + parallel_r_cpe(omega, r_cathode_ohm_cm2(self.cycles), q=CATHODE_CPE_Q, n=CATHODE_CPE_N)
             + warburg_open(omega, 10.0, 2000.0))
        return z / p.area_cm2
