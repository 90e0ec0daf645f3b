"""The role interfaces the run engine programs against. A real driver and the
simulated bench's drivers implement the same methods."""
from __future__ import annotations

from typing import Protocol

import numpy as np

from instruments.impedance_range import ImpedanceCapability, ImpedanceSweep


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


class ImpedanceAnalyser(Protocol):
    """An analyser in the impedance role (E4990A, IM3590, Solartron 1260): says what it
    can do, and measures one logarithmic sweep with a flag per point."""

    name: str
    CAPABILITY: ImpedanceCapability

    def identify(self) -> str: ...
    def measure(self, f_start_hz: float, f_stop_hz: float, points: int, amplitude: float, dc_bias: float = 0.0,
                mode: str = "potentiostatic") -> ImpedanceSweep:
        """A sweep from f_start to f_stop within CAPABILITY (the caller clips with
        instruments.impedance_range.plan_sweep); amplitude in V rms potentiostatically,
        A rms galvanostatically."""


class CellSwitch(Protocol):
    """Connects the cell to one instrument at a time: the SMU ("smu") or the impedance
    analyser ("eis"). The engine switches the SMU off before it routes to the analyser
    and routes back before the source is enabled again."""

    name: str

    def identify(self) -> str: ...
    def reset(self) -> None:
        """Open every channel: the cell connected to nothing."""
    def route(self, path: str) -> None:
        """Connect the cell to `path` alone: open the other path, read it back open, then
        close this one and read it back closed; raise if either read-back disagrees."""
