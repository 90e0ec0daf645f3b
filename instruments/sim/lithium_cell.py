"""Equivalent-circuit model of Li | (interlayer) | LPSCl | (interlayer) | Li cells.

Voltage under a current I (A) over area A (cm2), with area-specific resistances in
ohm cm2:  V = I/A * (R_bulk + sum R_int) + slow polarisation + noise, where the slow
term (interphase/concentration build-up, time constant tau_slow) gives the rising
plating/stripping profile. A bare Li|LPSCl interface grows dendrites: once the charge
passed reaches a seeded critical value the cell hard-shorts and the voltage follows
I/A * (R_cell || R_short). The critical charge is set so the paper's asymmetric cell
(one bare interface, 0.16 mA/cm2, 1 h/1 h) shorts near 9.5 h.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cell import Stack
from instruments.sim.base import SimCell
from instruments.sim.impedance import parallel_r_cpe

SHORT_CHARGE_PER_BARE_INTERFACE_MAH_CM2 = 0.16 * 9.5   # paper: asymmetric cell, Fig 3b
SHORT_SPREAD = 0.04                                    # relative 1-sigma between cells
R_SHORT_OHM_CM2 = 0.3
SLOW_FRACTION = 0.35          # slow polarisation as a share of the interfacial resistance
TAU_SLOW_S = 900.0


@dataclass(frozen=True)
class LithiumCellParams:
    area_cm2: float
    r_bulk_ohm_cm2: float
    r_interfaces_ohm_cm2: tuple[float, ...]
    bare_interfaces: int
    short_after_mAh_cm2: float  # inf when no interface is bare

    @property
    def r_total_ohm_cm2(self) -> float:
        return self.r_bulk_ohm_cm2 + sum(self.r_interfaces_ohm_cm2)


def params_for(stack: Stack, rng: np.random.Generator) -> LithiumCellParams:
    """Model parameters for a stack with Li on both sides of the electrolyte."""
    kinds = stack.kinds()
    if "cathode" in kinds or kinds.count("anode") != 2:
        raise ValueError(f"the lithium cell model needs Li on both sides, not {stack.describe()}")
    layers = [layer for layer in stack.layers if stack.material(layer).kind != "reference"]
    r_bulk = 0.0
    for layer in layers:
        material = stack.material(layer)
        if material.kind == "electrolyte":
            sigma_s_cm = (material.ionic_conductivity_mS_cm or 1.0) * 1e-3
            r_bulk += layer.thickness_um * 1e-4 / sigma_s_cm
    # Each Li|electrolyte contact: bare Li, or the interlayer between them.
    interfaces = []
    bare = 0
    electrolyte_at = [i for i, layer in enumerate(layers) if stack.material(layer).kind == "electrolyte"]
    for neighbour in (electrolyte_at[0] - 1, electrolyte_at[-1] + 1):
        material = stack.material(layers[neighbour])
        interfaces.append(material.interface_asr_ohm_cm2 or 0.0)
        bare += material.kind == "anode"
    if bare:
        critical = SHORT_CHARGE_PER_BARE_INTERFACE_MAH_CM2 / bare
        critical *= max(0.5, 1.0 + SHORT_SPREAD * rng.standard_normal())
    else:
        critical = float("inf")
    return LithiumCellParams(stack.area_cm2, r_bulk, tuple(interfaces), bare, critical)


class LithiumCell(SimCell):
    """Li | ... | Li: ohmic + interfacial resistance, slow polarisation, dendrite short."""

    def __init__(self, params: LithiumCellParams, seed: int = 0):
        super().__init__(seed)
        self.params = params
        self._slow = 0.0            # slow polarisation state, in amps (relaxes toward I)
        self._charge = 0.0          # mAh/cm2 passed in either direction
        self.shorted_at: float | None = None

    def _trajectory(self, times: np.ndarray) -> dict:
        elapsed = times - self._t
        i_cm2 = self._current / self.params.area_cm2
        return {
            "t": times,
            "slow": self._current + (self._slow - self._current) * np.exp(-elapsed / TAU_SLOW_S),
            "charge": self._charge + abs(i_cm2) * 1e3 * elapsed / 3600.0,
        }

    def _voltage(self, traj: dict) -> np.ndarray:
        p = self.params
        i_cm2 = self._current / p.area_cm2
        r_int = sum(p.r_interfaces_ohm_cm2)
        v = i_cm2 * (p.r_bulk_ohm_cm2 + r_int) + traj["slow"] / p.area_cm2 * SLOW_FRACTION * r_int
        shorted = traj["charge"] >= p.short_after_mAh_cm2
        if shorted.any():
            r_cell = p.r_total_ohm_cm2
            r_parallel = r_cell * R_SHORT_OHM_CM2 / (r_cell + R_SHORT_OHM_CM2)
            v = np.where(shorted, i_cm2 * r_parallel, v)
        return v

    def _commit(self, traj: dict, index: int) -> None:
        self._slow = float(traj["slow"][index])
        self._charge = float(traj["charge"][index])
        if self.shorted_at is None and self._charge >= self.params.short_after_mAh_cm2:
            first = int(np.argmax(traj["charge"] >= self.params.short_after_mAh_cm2))
            self.shorted_at = float(traj["t"][first])

    def impedance(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Complex impedance (ohm): bulk electrolyte, then one arc per Li contact whose
        diameter is that interface's resistance (6.59 ohm cm2 bare, 0.58 with Ag-C)."""
        p = self.params
        omega = 2 * np.pi * np.asarray(freqs_hz, dtype=float)
        z = p.r_bulk_ohm_cm2 + sum(parallel_r_cpe(omega, r) for r in p.r_interfaces_ohm_cm2)
        if self.shorted_at is not None:
            z = z * R_SHORT_OHM_CM2 / (z + R_SHORT_OHM_CM2)
        return z / p.area_cm2
