"""The role interfaces the run engine programs against. A real driver and the
simulated bench's drivers implement the same methods."""
from __future__ import annotations

from typing import Protocol

import numpy as np


class SourceMeter(Protocol):
    """Galvanostat / source-measure unit sourcing current and measuring voltage."""

    name: str

    def identify(self) -> str: ...
    def reset(self) -> None: ...
    def clear_buffer(self) -> None:
        """Empty the reading buffer; reading times restart at 0."""
    def fits(self, duration_s: float, interval_s: float) -> bool:
        """Whether a step's readings fit in the buffer behind those already in it."""
    def set_voltage_limit(self, volts: float) -> None: ...
    def set_current(self, amps: float) -> None: ...
    def output(self, on: bool) -> None: ...
    def start_sampling(self, duration_s: float, interval_s: float) -> None:
        """Sample every interval_s for duration_s into the instrument's buffer."""
    def read_new(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Readings taken since the last call: (time s, current A, voltage V)."""
    def is_sampling(self) -> bool: ...
    def abort(self) -> None: ...
    def safe_off(self) -> None:
        """Current to zero and output off into high impedance. Must not raise on a
        healthy connection; callers on a fault path catch and log."""
