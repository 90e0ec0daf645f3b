"""Protocols: what the engine does to a cell, as plain data that is stored with the run.

A protocol expands, for a given stack, into constant-current steps. The paper's
symmetric plate/strip test is the first preset."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cell import Stack


@dataclass(frozen=True)
class CurrentStep:
    label: str
    current_a: float      # positive = charge / plate on the bottom electrode
    duration_s: float
    cycle: int


@dataclass(frozen=True)
class PlateStrip:
    """Galvanostatic Li plating/stripping: +j for a half cycle, then -j, N times."""
    current_density_mA_cm2: float = 0.16
    half_cycle_h: float = 1.0
    cycles: int = 50
    sample_interval_s: float = 1.0
    voltage_limit_v: float = 1.0
    kind: str = "plate-strip"

    def __post_init__(self) -> None:
        if not 0 < self.current_density_mA_cm2 <= 50:
            raise ValueError(f"current density must be above 0 and at most 50 mA/cm2, got {self.current_density_mA_cm2:g}")
        if not 0 < self.half_cycle_h <= 24:
            raise ValueError(f"half-cycle time must be above 0 and at most 24 h, got {self.half_cycle_h:g}")
        if not 1 <= self.cycles <= 10000:
            raise ValueError(f"cycles must be 1 to 10000, got {self.cycles}")
        if not 0 < self.sample_interval_s <= self.half_cycle_h * 3600:
            raise ValueError(f"sample interval must be above 0 and within a half cycle, got {self.sample_interval_s:g} s")

    @property
    def name(self) -> str:
        return f"plate-strip-{self.current_density_mA_cm2:g}"

    def steps(self, stack: Stack) -> list[CurrentStep]:
        amps = self.current_density_mA_cm2 * stack.area_cm2 * 1e-3
        seconds = self.half_cycle_h * 3600.0
        out = []
        for cycle in range(1, self.cycles + 1):
            out.append(CurrentStep("plate", amps, seconds, cycle))
            out.append(CurrentStep("strip", -amps, seconds, cycle))
        return out

    def total_duration_s(self) -> float:
        return 2 * self.cycles * self.half_cycle_h * 3600.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))


PRESETS = {"plate-strip-0.16": PlateStrip()}


def preset(name: str, **overrides) -> PlateStrip:
    if name not in PRESETS:
        raise KeyError(f"unknown protocol {name!r}; presets: {', '.join(PRESETS)}")
    base = asdict(PRESETS[name])
    base.update(overrides)
    return PlateStrip(**base)
