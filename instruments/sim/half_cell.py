"""Model of an interlayer half cell, (Cu |) Ag-C or C | LPSCl | Li, for GITT (Fig 4c).

Li is titrated into the interlayer (thickness L from the build, Li diffusivity D from
the catalog). The interlayer's potential vs Li falls with its lithiation x. During a
current pulse the surface runs ahead of the bulk as semi-infinite diffusion predicts,
Δx_surface(t) = (dx/dt) · 2L·sqrt(t / (π D)), and relaxes back with time constant
0.4 L²/D afterwards. So the Weppner-Huggins analysis of the simulated transients,
D = 4L²/(π τ) · (ΔE_s/ΔE_t)², gives back D: 1.71e-10 cm²/s for Ag-C, 4.21e-11 for C.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cell import Stack
from instruments.sim.base import SimCell
from instruments.sim.impedance import parallel_r_cpe, warburg_open

LAYER_CAPACITY_MAH_G = 300.0     # Li the interlayer takes up (Ag alloying + carbon), per gram
RELAX_FRACTION = 0.4              # relaxation time constant as a share of L^2/D


def layer_potential(x: np.ndarray) -> np.ndarray:
    """Potential of the interlayer vs Li (V) at lithiation x (0 = pristine, 1 = full)."""
    x = np.clip(x, 0.0, 1.2)
    return np.maximum(0.02 + 0.25 * (1.0 - x) + 0.5 * np.exp(-x / 0.08), 0.0)


@dataclass(frozen=True)
class HalfCellParams:
    area_cm2: float
    thickness_cm: float
    diffusivity_cm2_s: float
    capacity_mAh_cm2: float
    r_bulk_ohm_cm2: float
    r_interfaces_ohm_cm2: tuple[float, float]   # interlayer contact, Li contact

    @property
    def r_series_ohm_cm2(self) -> float:
        return self.r_bulk_ohm_cm2 + sum(self.r_interfaces_ohm_cm2)


def half_params_for(stack: Stack) -> HalfCellParams:
    layers = [layer for layer in stack.layers if stack.material(layer).kind != "reference"]
    kinds = [stack.material(layer).kind for layer in layers]
    if "cathode" in kinds or kinds.count("anode") != 1 or "interlayer" not in kinds:
        raise ValueError(f"the half-cell model needs an interlayer against one Li foil, not {stack.describe()}")
    inter = next(layer for layer in layers if stack.material(layer).kind == "interlayer")
    material = stack.material(inter)
    if not material.li_diffusivity_cm2_s:
        raise ValueError(f"material {material.key} has no li_diffusivity_cm2_s in the catalog")
    r_bulk = sum(layer.thickness_um * 1e-4 / ((stack.material(layer).ionic_conductivity_mS_cm or 1.0) * 1e-3)
                 for layer in layers if stack.material(layer).kind == "electrolyte")
    li = stack.catalog.get_material("Li")
    return HalfCellParams(stack.area_cm2, inter.thickness_um * 1e-4, material.li_diffusivity_cm2_s,
                          inter.areal_mass_mg_cm2 * LAYER_CAPACITY_MAH_G / 1000.0, r_bulk,
                          (material.interface_asr_ohm_cm2 or 0.0, li.interface_asr_ohm_cm2 or 0.0))


class HalfCell(SimCell):
    def __init__(self, params: HalfCellParams, seed: int = 0):
        super().__init__(seed)
        self.params = params
        self._x = 0.0                   # bulk lithiation
        self._segment_start = 0.0       # when the present current began
        self._excess_at_start = 0.0     # surface minus bulk lithiation then

    @property
    def tau_relax_s(self) -> float:
        p = self.params
        return RELAX_FRACTION * p.thickness_cm ** 2 / p.diffusivity_cm2_s

    def set_current(self, t: float, amps: float) -> None:
        with self.lock:
            self._set_current(t, amps)

    def _set_current(self, t: float, amps: float) -> None:
        self._advance(t)
        if amps != self._current:
            self._excess_at_start = float(self._excess(np.array([t]))[0])
            self._segment_start = t
        self._current = amps

    def _x_rate(self) -> float:
        """dx/dt (1/s): negative current lithiates the interlayer."""
        p = self.params
        return -(self._current / p.area_cm2) * 1e3 / 3600.0 / p.capacity_mAh_cm2

    def _excess(self, times: np.ndarray) -> np.ndarray:
        p = self.params
        since = np.maximum(times - self._segment_start, 0.0)
        carried = self._excess_at_start * np.exp(-since / self.tau_relax_s)
        rate = self._x_rate()
        if rate == 0.0:
            return carried
        ahead = 2.0 * p.thickness_cm * np.sqrt(since / (np.pi * p.diffusivity_cm2_s)) - since
        return carried + rate * np.maximum(ahead, 0.0)

    def _trajectory(self, times: np.ndarray) -> dict:
        return {"x": self._x + self._x_rate() * (times - self._t), "excess": self._excess(times)}

    def _voltage(self, traj: dict) -> np.ndarray:
        i_cm2 = self._current / self.params.area_cm2
        return layer_potential(traj["x"] + traj["excess"]) + i_cm2 * self.params.r_series_ohm_cm2

    def _commit(self, traj: dict, index: int) -> None:
        self._x = float(traj["x"][index])

    @property
    def lithiation(self) -> float:
        return self._x

    def impedance(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Complex impedance (ohm): bulk, the two contacts' arcs, and Li diffusion in the
        interlayer (finite-space Warburg with its corner at L^2/D)."""
        p = self.params
        omega = 2 * np.pi * np.asarray(freqs_hz, dtype=float)
        z = p.r_bulk_ohm_cm2 + sum(parallel_r_cpe(omega, r) for r in p.r_interfaces_ohm_cm2)
        z = z + warburg_open(omega, 5.0, p.thickness_cm ** 2 / p.diffusivity_cm2_s)
        return z / p.area_cm2
