"""Which model simulates which stack."""
from __future__ import annotations

import numpy as np

from cell import Stack
from instruments.sim.base import SimCell
from instruments.sim.full_cell import FullCell, full_params_for
from instruments.sim.half_cell import HalfCell, half_params_for
from instruments.sim.lithium_cell import LithiumCell, params_for


def sim_cell_for(stack: Stack, seed: int = 0) -> SimCell:
    rng = np.random.default_rng(seed)
    kinds = stack.kinds()
    if "cathode" in kinds:
        return FullCell(full_params_for(stack, rng), seed=seed)
    if kinds.count("anode") == 2:
        return LithiumCell(params_for(stack, rng), seed=seed)
    if kinds.count("anode") == 1 and "interlayer" in kinds:
        return HalfCell(half_params_for(stack), seed=seed)
    raise ValueError(f"the simulated bench has no model for {stack.describe()}")
