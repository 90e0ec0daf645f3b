"""Protocols: what the engine does to a cell, as plain data stored with the run.

A protocol expands, for a given stack, into current steps (constant current, or zero
current for a rest) with optional voltage cut-offs. Currents are given as mA/cm2 or as
a C-rate of the build's 1C current; the expansion turns them into amps for this cell."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

import cell
from cell import Stack


@dataclass(frozen=True)
class CurrentStep:
    label: str                 # plate, strip, charge, discharge, rest, pulse
    current_a: float           # positive = charge (BDF) / plate on the bottom electrode
    duration_s: float          # the step's length, or its limit when it has a cut-off
    cycle: int
    sample_interval_s: float
    v_min: float | None = None  # end the step at the first reading below
    v_max: float | None = None  # ... or above


@dataclass(frozen=True)
class EisStep:
    label: str
    f_start_hz: float
    f_stop_hz: float
    points: int
    amplitude_v: float
    cycle: int


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


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
        _check(0 < self.current_density_mA_cm2 <= 50, f"current density must be above 0 and at most 50 mA/cm2, got {self.current_density_mA_cm2:g}")
        _check(0 < self.half_cycle_h <= 24, f"half-cycle time must be above 0 and at most 24 h, got {self.half_cycle_h:g}")
        _check(1 <= self.cycles <= 10000, f"cycles must be 1 to 10000, got {self.cycles}")
        _check(0 < self.sample_interval_s <= self.half_cycle_h * 3600,
               f"sample interval must be above 0 and within a half cycle, got {self.sample_interval_s:g} s")

    @property
    def name(self) -> str:
        return f"plate-strip-{self.current_density_mA_cm2:g}"

    def steps(self, stack: Stack) -> list[CurrentStep]:
        amps = self.current_density_mA_cm2 * stack.area_cm2 * 1e-3
        seconds = self.half_cycle_h * 3600.0
        out = []
        for cycle in range(1, self.cycles + 1):
            out.append(CurrentStep("plate", amps, seconds, cycle, self.sample_interval_s))
            out.append(CurrentStep("strip", -amps, seconds, cycle, self.sample_interval_s))
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class Cycling:
    """Constant-current charge/discharge between voltage cut-offs, in groups of
    (C-rate, cycles): a rate test is several groups, long cycling one."""
    groups: tuple[tuple[float, int], ...] = ((1 / 3, 500),)
    v_min: float = 2.6
    v_max: float = 4.25
    rest_s: float = 600.0
    sample_interval_s: float = 30.0
    max_step_factor: float = 1.5     # a step ends at 1.5x its nominal time, cut-off or not
    voltage_limit_v: float = 5.0
    title: str = "cycling"
    kind: str = "cycling"

    def __post_init__(self) -> None:
        _check(len(self.groups) >= 1, "a cycling protocol needs at least one (C-rate, cycles) group")
        for rate, cycles in self.groups:
            _check(0 < rate <= 20, f"C-rate must be above 0 and at most 20, got {rate:g}")
            _check(1 <= cycles <= 10000, f"cycles per group must be 1 to 10000, got {cycles}")
        _check(0 < self.v_min < self.v_max < self.voltage_limit_v,
               f"cut-offs must satisfy 0 < v_min < v_max < voltage limit, got {self.v_min:g}, {self.v_max:g}, {self.voltage_limit_v:g}")
        _check(self.rest_s >= 0 and self.sample_interval_s > 0, "rest must be >= 0 s and the sample interval above 0 s")

    @property
    def name(self) -> str:
        return self.title

    def steps(self, stack: Stack) -> list[CurrentStep]:
        figures = cell.figures(stack)
        _check(figures.active_mass_mg_cm2 is not None, f"{stack.describe()} has no cathode: C-rates need a full cell")
        one_c_a = figures.one_c_mA * 1e-3
        out = []
        cycle = 0
        for rate, cycles in self.groups:
            amps = one_c_a * rate
            limit = self.max_step_factor * 3600.0 / rate
            for _ in range(cycles):
                cycle += 1
                out.append(CurrentStep("charge", amps, limit, cycle, self.sample_interval_s, v_max=self.v_max))
                if self.rest_s:
                    out.append(CurrentStep("rest", 0.0, self.rest_s, cycle, self.sample_interval_s))
                out.append(CurrentStep("discharge", -amps, limit, cycle, self.sample_interval_s, v_min=self.v_min))
                if self.rest_s:
                    out.append(CurrentStep("rest", 0.0, self.rest_s, cycle, self.sample_interval_s))
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class Gitt:
    """Galvanostatic intermittent titration: short current pulses, each followed by a
    long rest, until the voltage reaches a cut-off or a number of pulses is done.
    Negative current lithiates the bottom electrode (the interlayer of a half cell)."""
    current_density_mA_cm2: float = -0.02
    pulse_s: float = 60.0
    rest_s: float = 1800.0
    pulses: int = 310          # 310 x 31 min = the paper's 160 h of lithiation
    v_min: float = 0.005
    v_max: float = 1.5
    pulse_sample_interval_s: float = 1.0
    rest_sample_interval_s: float = 10.0
    voltage_limit_v: float = 5.0
    kind: str = "gitt"

    def __post_init__(self) -> None:
        _check(0 < abs(self.current_density_mA_cm2) <= 50, f"pulse current must be non-zero and at most 50 mA/cm2, got {self.current_density_mA_cm2:g}")
        _check(self.pulse_s > 0 and self.rest_s > 0, "pulse and rest times must be above 0 s")
        _check(1 <= self.pulses <= 100000, f"pulses must be 1 to 100000, got {self.pulses}")
        _check(self.v_min < self.v_max, "v_min must be below v_max")

    @property
    def name(self) -> str:
        return "gitt"

    def steps(self, stack: Stack) -> list[CurrentStep]:
        amps = self.current_density_mA_cm2 * stack.area_cm2 * 1e-3
        out = []
        for pulse in range(1, self.pulses + 1):
            out.append(CurrentStep("pulse", amps, self.pulse_s, pulse, self.pulse_sample_interval_s,
                                   v_min=self.v_min, v_max=self.v_max))
            out.append(CurrentStep("rest", 0.0, self.rest_s, pulse, self.rest_sample_interval_s))
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass(frozen=True)
class Eis:
    """Impedance spectra of the cell at rest: an OCV rest, then a sweep, repeated.
    The default range is what the bench's E4990A covers (it stops at 20 Hz)."""
    f_start_hz: float = 1e6
    f_stop_hz: float = 20.0
    points: int = 51
    amplitude_v: float = 0.01
    rest_s: float = 600.0
    repeats: int = 1
    sample_interval_s: float = 10.0
    voltage_limit_v: float = 5.0
    kind: str = "eis"

    def __post_init__(self) -> None:
        _check(self.f_start_hz > 0 and self.f_stop_hz > 0 and self.f_start_hz != self.f_stop_hz,
               "EIS frequencies must be above 0 Hz and differ")
        _check(2 <= self.points <= 1601, f"EIS points must be 2 to 1601, got {self.points}")
        _check(0 < self.amplitude_v <= 1, f"EIS amplitude must be above 0 and at most 1 V, got {self.amplitude_v:g}")
        _check(1 <= self.repeats <= 10000 and self.rest_s > 0, "repeats must be 1 to 10000 and the rest above 0 s")

    @property
    def name(self) -> str:
        return "eis"

    def steps(self, stack: Stack) -> list:
        out: list = []
        for k in range(1, self.repeats + 1):
            out.append(CurrentStep("rest", 0.0, self.rest_s, k, self.sample_interval_s))
            out.append(EisStep("eis", self.f_start_hz, self.f_stop_hz, self.points, self.amplitude_v, k))
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self))


AnyProtocol = PlateStrip | Cycling | Gitt | Eis

PRESETS: dict[str, AnyProtocol] = {
    "plate-strip-0.16": PlateStrip(),
    "rate-test": Cycling(groups=((0.1, 3), (0.2, 3), (1 / 3, 3), (0.5, 3)), sample_interval_s=10.0, title="rate-test"),
    "cycling-c3-500": Cycling(groups=((1 / 3, 500),), sample_interval_s=60.0, title="cycling-c3-500"),
    "gitt": Gitt(),
    "eis": Eis(),
}


def preset(name: str, **overrides) -> AnyProtocol:
    """The preset `name`, with fields overridden (e.g. cycles=3)."""
    if name not in PRESETS:
        raise KeyError(f"unknown protocol {name!r}; presets: {', '.join(PRESETS)}")
    base = PRESETS[name]
    unknown = set(overrides) - set(asdict(base))
    if unknown:
        raise KeyError(f"protocol {name!r} has no setting {', '.join(sorted(unknown))}")
    return replace(base, **overrides)


def is_stop_step(step: CurrentStep) -> bool:
    return step.v_min is not None or step.v_max is not None
