"""Where dQ/dV must peak for the simulated NMC full cell, worked out here from the
model's open-circuit curve (instruments/sim/full_cell.py) and a series resistance
added up by hand from the template's layers, not by the analysis under test.

On charge the cell sits I x R above its OCV and on discharge I x R below it; the surface
offset shifts the charge state, not the voltage at which OCV(s) is flattest, so each
peak of dQ/dV = 1 / (dV/ds) sits at an OCV peak voltage +- I x R."""
from __future__ import annotations

import numpy as np

from instruments.sim.full_cell import R_CATHODE_OHM_CM2, R_GROWTH_PER_CYCLE, ocv

ONE_C_A_CM2 = 9.412 * 0.85 * 0.2 / 1000      # 1.60004 mA/cm2
# full-agc: LPSCl 40 um at 0.6 mS/cm, the cathode composite, and the Li | Ag-C interface
R_SERIES_OHM_CM2 = 40e-4 / 0.6e-3 + R_CATHODE_OHM_CM2 + 0.58


def ocv_peak_voltages() -> np.ndarray:
    """Voltages of the local maxima of dQ/dV of the open-circuit curve, lowest first."""
    s = np.linspace(0.0, 1.0, 200_001)
    v = ocv(s)
    dq_dv = 1.0 / np.gradient(v, s)
    inner = (dq_dv[1:-1] > dq_dv[:-2]) & (dq_dv[1:-1] >= dq_dv[2:])
    return v[1:-1][inner]


def ir_drop_v(c_rate: float, cycle: int) -> float:
    """I x R at `c_rate` in `cycle` (the model ages once per discharge-then-charge)."""
    return c_rate * ONE_C_A_CM2 * R_SERIES_OHM_CM2 * (1 + R_GROWTH_PER_CYCLE * (cycle - 1))
