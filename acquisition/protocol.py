"""Protocols: what the engine does to a cell, as plain data stored with the run.

A protocol is a `StepList`: a program of JSON-able step specs (constant current, rest,
EIS sweep, stack-pressure change, and loops of those), with currents in mA, mA/cm2 or
C-rate. `expand(stack)` turns it, for one cell, into concrete steps in amps and seconds.
The paper's experiments are presets made by the factories below; an operator's own
protocol is the same structure, edited in the GUI or written as JSON.

EIS inside a protocol: an `eis` step in a cycling loop with `every_cycles: N` runs only in
cycles N, 2N, ... (where it stands in the loop says when: after the rest that follows
the discharge, or the charge). It is potentiostatic (`amplitude_v`, and a DC bias: a
fixed `dc_bias_v`, or `bias_at_rest` for the voltage read just before the sweep) or
galvanostatic (`amplitude_a`, no bias: the cell is at rest). Its frequencies are given
as `points` or as `points_per_decade`, and `time_budget_s` sets the low-frequency end
by time: the sweep runs from the high end down and stops at the lowest frequency at
which it still fits the budget, at POINT_PERIODS periods a point (settling, then
measuring) and at least MIN_POINT_S. Every field added for this is optional, so a
protocol written before it reads as it did.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np

import cell
from cell import Stack
from instruments.impedance_range import GALVANOSTATIC, POTENTIOSTATIC

UNITS = ("mA", "mA/cm2", "C")
KINDS = ("cc", "rest", "eis", "pressure", "temperature", "loop")
EIS_MODES = (POTENTIOSTATIC, GALVANOSTATIC)
# What one impedance point costs: two periods to settle and three to measure, and at least
# 10 ms at high frequency. The engine lets simulated time pass by the same rule.
POINT_PERIODS = 5.0
MIN_POINT_S = 0.01


def point_time_s(freq_hz: np.ndarray) -> np.ndarray:
    """How long each point of a sweep takes, s."""
    return np.maximum(POINT_PERIODS / np.asarray(freq_hz, dtype=float), MIN_POINT_S)


def sweep_plan(spec: dict) -> tuple[float, float, int]:
    """(f_start_hz, f_stop_hz, points) an eis step spec sweeps, in the direction it asks:
    points per decade turned into points, and with a time budget the low-frequency end
    raised to the lowest frequency of the same grid at which the sweep still fits it."""
    f0, f1 = float(spec["f_start_hz"]), float(spec["f_stop_hz"])
    hi, lo = max(f0, f1), min(f0, f1)
    decades = math.log10(hi / lo)
    if spec.get("points_per_decade") is not None:
        n = max(2, round(float(spec["points_per_decade"]) * decades) + 1)
    else:
        n = int(spec["points"])
    budget = spec.get("time_budget_s")
    if budget is not None and n > 1:
        grid = hi * 10.0 ** (-decades / (n - 1) * np.arange(n))   # from the high end down
        fits = int(np.searchsorted(np.cumsum(point_time_s(grid)), float(budget), side="right"))
        if fits < n:
            n, lo = max(fits, 2), float(grid[max(fits, 2) - 1])
    return (hi, lo, n) if f0 >= f1 else (lo, hi, n)


# -- concrete steps, for one cell --
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
    amplitude_v: float           # potentiostatic amplitude, V rms (0 when galvanostatic)
    cycle: int
    dc_bias_v: float = 0.0
    mode: str = POTENTIOSTATIC
    amplitude_a: float = 0.0     # galvanostatic amplitude, A rms
    bias_at_rest: bool = False   # the engine sets dc_bias_v to the voltage read just before


@dataclass(frozen=True)
class PressureStep:
    label: str
    mpa: float
    ramp_mpa_s: float
    cycle: int


@dataclass(frozen=True)
class TemperatureStep:
    label: str
    celsius: float
    tolerance_c: float
    timeout_s: float
    cycle: int


def is_stop_step(step: CurrentStep) -> bool:
    return step.v_min is not None or step.v_max is not None


# -- validation of step specs: every message names the step and the field --
# Bounds on what a protocol may ask for, checked before anything is expanded, so a small
# file cannot describe a run that does not fit in memory or in a lifetime.
MAX_STEPS = 100_000                    # concrete steps after loops are unrolled
MAX_DURATION_S = 3 * 365.25 * 86400.0  # every step to its limit: three years
MAX_FILE_CHARS = 1_000_000             # a protocol file; the presets are under 2,000
MAX_LOOP_DEPTH = 3
MAX_LABEL_CHARS = 80
CURRENT_LIMITS = {"mA": 1e4, "mA/cm2": 1e4, "C": 1e3}   # |current| per unit, far past any SMU here
FIELDS = {                              # what each kind of step may hold, beyond kind and label
    "cc": {"current", "unit", "duration_s", "sample_interval_s", "v_min", "v_max", "q_max_mAh"},
    "rest": {"duration_s", "sample_interval_s"},
    "eis": {"f_start_hz", "f_stop_hz", "points", "amplitude_v", "dc_bias_v", "every_cycles", "mode", "amplitude_a",
            "bias_at_rest", "points_per_decade", "time_budget_s"},
    "pressure": {"mpa", "ramp_mpa_s"},
    "temperature": {"celsius", "tolerance_c", "timeout_s"},
    "loop": {"repeat", "counts_cycles", "steps"},
}


def _show(value) -> str:
    """A bad value in a message: containers by their type (a hostile one may be deep or
    huge), anything else as written, cut short."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 30:
        return "a number too large to use"   # and too long to print
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(spec: dict, key: str, path: str, problems: list, lo: float | None = None, hi: float | None = None,
            required: bool = True, strict_lo: bool = True, integer: bool = False) -> None:
    if key not in spec or spec[key] is None:
        if required:
            problems.append(f"{path}.{key}: missing")
        return
    value = spec[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{path}.{key}: must be a number, got {_show(value)}")
        return
    if not _real(value):
        problems.append(f"{path}.{key}: must be a finite number, got {_show(value)}")
        return
    if integer and not float(value).is_integer():
        problems.append(f"{path}.{key}: must be a whole number, got {value:g}")
        return
    if lo is not None and (value <= lo if strict_lo else value < lo):
        problems.append(f"{path}.{key}: must be {'above' if strict_lo else 'at least'} {lo:g}, got {value:g}")
    if hi is not None and value > hi:
        problems.append(f"{path}.{key}: must be at most {hi:g}, got {value:g}")


def _real(value) -> bool:
    """A finite JSON number (not a bool, not NaN, not an integer past float's range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _finite(spec: dict, key: str) -> float:
    """A field as a float where it is a finite number, else 0: for the size tally, whose
    result counts only once every field has passed."""
    value = spec.get(key)
    return float(value) if _real(value) else 0.0


def _check_specs(specs, path: str, problems: list, depth: int = 0) -> tuple[int, float]:
    """Check a list of step specs; returns how many concrete steps it expands to and
    their total duration (every step to its limit), counted without expanding."""
    if not isinstance(specs, (list, tuple)) or not specs:
        problems.append(f"{path}: needs at least one step" + ("" if isinstance(specs, (list, tuple)) or specs is None
                                                            else f", got {_show(specs)}"))
        return 0, 0.0
    n_steps, duration = 0, 0.0
    for k, spec in enumerate(specs):
        p = f"{path}[{k}]"
        kind = spec.get("kind") if isinstance(spec, dict) else None
        if not isinstance(kind, str) or kind not in KINDS:
            got = _show(kind) if isinstance(spec, dict) else _show(spec)
            problems.append(f"{p}.kind: must be one of {', '.join(KINDS)}, got {got}")
            continue
        unknown = sorted(str(key)[:40] for key in spec if key not in FIELDS[kind] | {"kind", "label"})
        if unknown:
            problems.append(f"{p}: a {kind} step has no field {', '.join(unknown)}")
        label = spec.get("label")
        if label is not None and not (isinstance(label, str) and len(label) <= MAX_LABEL_CHARS):
            problems.append(f"{p}.label: must be text of at most {MAX_LABEL_CHARS} characters, got {_show(label)}")
        if kind == "cc":
            unit = spec.get("unit")
            if not isinstance(unit, str) or unit not in UNITS:
                problems.append(f"{p}.unit: must be one of {', '.join(UNITS)}, got {_show(unit)}")
                _number(spec, "current", p, problems)
            else:
                _number(spec, "current", p, problems, -CURRENT_LIMITS[unit], CURRENT_LIMITS[unit], strict_lo=False)
            if spec.get("current") == 0:
                problems.append(f"{p}.current: a constant-current step needs a current; use a rest step for 0")
            _number(spec, "duration_s", p, problems, 0, 1e6)
            _number(spec, "sample_interval_s", p, problems, 0, 1e4)
            for key in ("v_min", "v_max"):
                _number(spec, key, p, problems, -210, 210, required=False, strict_lo=False)
            _number(spec, "q_max_mAh", p, problems, 0, 1e6, required=False)
            if _real(spec.get("v_min")) and _real(spec.get("v_max")) and spec["v_min"] >= spec["v_max"]:
                problems.append(f"{p}.v_min: must be below v_max")
            n_steps, duration = n_steps + 1, duration + _finite(spec, "duration_s")
        elif kind == "rest":
            _number(spec, "duration_s", p, problems, 0, 1e6)
            _number(spec, "sample_interval_s", p, problems, 0, 1e4)
            n_steps, duration = n_steps + 1, duration + _finite(spec, "duration_s")
        elif kind == "eis":
            _check_eis(spec, p, problems)
            n_steps += 1     # every pass counted: an upper bound when it runs every N cycles
        elif kind == "pressure":
            _number(spec, "mpa", p, problems, 0, 1000, strict_lo=False)
            _number(spec, "ramp_mpa_s", p, problems, 0, 100, strict_lo=False)
            n_steps += 1
        elif kind == "temperature":
            _number(spec, "celsius", p, problems, -40, 150, strict_lo=False)
            _number(spec, "tolerance_c", p, problems, 0, 20, required=False)
            _number(spec, "timeout_s", p, problems, 0, 1e6, required=False)
            n_steps += 1
        elif kind == "loop":
            _number(spec, "repeat", p, problems, 1, 100000, strict_lo=False, integer=True)
            if not isinstance(spec.get("counts_cycles", True), bool):
                problems.append(f"{p}.counts_cycles: must be true or false, got {_show(spec['counts_cycles'])}")
            if depth >= MAX_LOOP_DEPTH:
                problems.append(f"{p}: loops nest at most three deep")
            else:
                inner_steps, inner_s = _check_specs(spec.get("steps"), f"{p}.steps", problems, depth + 1)
                repeat = int(_finite(spec, "repeat"))
                n_steps, duration = n_steps + repeat * inner_steps, duration + repeat * inner_s
    return n_steps, duration


def _check_eis(spec: dict, p: str, problems: list) -> None:
    """An eis step's settings (module doc); whatever is wrong goes to `problems`."""
    before = len(problems)
    _number(spec, "f_start_hz", p, problems, 0, 1e9)
    _number(spec, "f_stop_hz", p, problems, 0, 1e9)
    per_decade = spec.get("points_per_decade") is not None
    if per_decade and spec.get("points") is not None:
        problems.append(f"{p}.points: give points or points_per_decade, not both")
    elif per_decade:
        _number(spec, "points_per_decade", p, problems, 0, 100)
    else:
        _number(spec, "points", p, problems, 2, 1601, strict_lo=False, integer=True)
    mode = spec.get("mode", POTENTIOSTATIC)
    if mode not in EIS_MODES:
        problems.append(f"{p}.mode: must be one of {', '.join(EIS_MODES)}, got {_show(mode)}")
    elif mode == POTENTIOSTATIC:
        _number(spec, "amplitude_v", p, problems, 0, 1)
        if spec.get("amplitude_a") is not None:
            problems.append(f"{p}.amplitude_a: a potentiostatic sweep has its amplitude in V (amplitude_v)")
    else:
        _number(spec, "amplitude_a", p, problems, 0, 1)
        for key in ("amplitude_v", "dc_bias_v"):
            if spec.get(key):
                problems.append(f"{p}.{key}: a galvanostatic sweep has its amplitude in A and no voltage bias")
        if spec.get("bias_at_rest"):
            problems.append(f"{p}.bias_at_rest: a galvanostatic sweep at rest has no bias to set")
    _number(spec, "dc_bias_v", p, problems, -40, 40, required=False, strict_lo=False)
    if not isinstance(spec.get("bias_at_rest", False), bool):
        problems.append(f"{p}.bias_at_rest: must be true or false, got {_show(spec['bias_at_rest'])}")
    elif spec.get("bias_at_rest") and spec.get("dc_bias_v"):
        problems.append(f"{p}.dc_bias_v: set a fixed bias or bias_at_rest, not both")
    _number(spec, "every_cycles", p, problems, 1, 100000, required=False, strict_lo=False, integer=True)
    _number(spec, "time_budget_s", p, problems, 0, 1e6, required=False)
    if len(problems) > before:
        return
    if (per_decade or spec.get("time_budget_s") is not None) and spec["f_start_hz"] == spec["f_stop_hz"]:
        problems.append(f"{p}.f_stop_hz: must differ from f_start_hz to sweep by decades or by a time budget")
        return
    if per_decade:
        decades = abs(math.log10(spec["f_start_hz"] / spec["f_stop_hz"]))
        if round(spec["points_per_decade"] * decades) + 1 > 1601:
            problems.append(f"{p}.points_per_decade: {spec['points_per_decade']:g} a decade over {decades:.3g} "
                            "decades is more than the 1601 points a sweep may have")
            return
    if spec.get("time_budget_s") is not None:
        hi = max(spec["f_start_hz"], spec["f_stop_hz"])
        f_start, f_stop, points = sweep_plan(spec)
        if points == 2 and float(np.sum(point_time_s([f_start, f_stop]))) > spec["time_budget_s"]:
            problems.append(f"{p}.time_budget_s: {spec['time_budget_s']:g} s does not fit two points from "
                            f"{hi:g} Hz")


def _runs_every(specs) -> bool:
    """Whether a step among `specs` (at any depth) runs only every N cycles."""
    return any(spec.get("every_cycles") if spec["kind"] == "eis" else
               spec["kind"] == "loop" and _runs_every(spec["steps"]) for spec in specs)


def _unrolled(specs) -> int:
    """Concrete steps of one pass through `specs`, every step counted."""
    return sum(int(spec["repeat"]) * _unrolled(spec["steps"]) if spec["kind"] == "loop" else 1 for spec in specs)


def _cycles(specs) -> int:
    """How many cycles one pass through `specs` starts."""
    return sum(int(spec["repeat"]) * (spec.get("counts_cycles", True) + _cycles(spec["steps"]))
               for spec in specs if spec["kind"] == "loop")


@dataclass(frozen=True)
class StepList:
    name: str
    program: tuple = field(default_factory=tuple)
    voltage_limit_v: float = 5.0      # the SMU's compliance: never exceeded, whatever the step
    version: int = 1

    def validate(self) -> list[str]:
        problems: list[str] = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append("name: a protocol needs a name" + ("" if isinstance(self.name, str) else
                                                              f", as text, got {_show(self.name)}"))
        limit = self.voltage_limit_v
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            problems.append(f"voltage_limit_v: must be a number, got {_show(limit)}")
        elif not 0.02 <= limit <= 210:   # NaN fails this too
            problems.append(f"voltage_limit_v: must be 0.02 to 210 V, got {limit:g}")
        n_steps, duration = _check_specs(self.program, "steps", problems)
        if not problems:
            if n_steps > MAX_STEPS:
                problems.append(f"steps: the loops unroll to {n_steps:,} steps; a protocol may have at most {MAX_STEPS:,}")
            if duration > MAX_DURATION_S:
                problems.append(f"steps: every step to its limit takes {duration / 86400:,.0f} days; a protocol may "
                                f"last at most {MAX_DURATION_S / 86400:,.0f} days")
        return problems

    def __post_init__(self) -> None:
        problems = self.validate()
        if problems:
            raise ValueError("; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))

    def expand(self, stack: Stack) -> list:
        """Concrete steps for `stack`: currents in A, durations in s, cycles numbered."""
        return list(self.iter_steps(stack))

    def step_count(self) -> int:
        """How many concrete steps expand() gives, counted without expanding them: a
        loop is walked pass by pass only when a step in it runs every N cycles."""
        counter = [0]

        def count(specs) -> int:
            n = 0
            for spec in specs:
                counts = spec.get("counts_cycles", True)
                if spec["kind"] != "loop":
                    every = spec.get("every_cycles") if spec["kind"] == "eis" else None
                    n += not every or max(counter[0], 1) % int(every) == 0
                elif not _runs_every(spec["steps"]):
                    counter[0] += int(spec["repeat"]) * (counts + _cycles(spec["steps"]))
                    n += int(spec["repeat"]) * _unrolled(spec["steps"])
                else:
                    for _ in range(int(spec["repeat"])):
                        counter[0] += counts
                        n += count(spec["steps"])
            return n

        return count(self.program)

    def iter_steps(self, stack: Stack) -> Iterator:
        """expand()'s steps one at a time, for a run that needs only the next one."""
        figures = cell.figures(stack)
        counter = [0]

        def amps(spec: dict, path: str) -> float:
            unit, value = spec["unit"], float(spec["current"])
            if unit == "mA":
                return value * 1e-3
            if unit == "mA/cm2":
                return value * stack.area_cm2 * 1e-3
            if figures.active_mass_mg_cm2 is None:
                raise ValueError(f"{path}: {stack.describe()} has no cathode: C-rates need a full cell")
            return value * figures.one_c_mA * 1e-3

        def walk(specs, path: str) -> Iterator:
            for k, spec in enumerate(specs):
                p = f"{path}[{k}]"
                cycle = max(counter[0], 1)
                kind = spec["kind"]
                if kind == "loop":
                    for _ in range(int(spec["repeat"])):
                        if spec.get("counts_cycles", True):
                            counter[0] += 1
                        yield from walk(spec["steps"], p + ".steps")
                elif kind == "cc":
                    current = amps(spec, p)
                    duration = float(spec["duration_s"])
                    if spec.get("q_max_mAh"):   # at constant current a capacity limit is a time limit
                        duration = min(duration, spec["q_max_mAh"] / (abs(current) * 1e3) * 3600.0)
                    yield CurrentStep(spec.get("label", "charge" if current > 0 else "discharge"), current,
                                      duration, cycle, float(spec["sample_interval_s"]),
                                      spec.get("v_min"), spec.get("v_max"))
                elif kind == "rest":
                    yield CurrentStep(spec.get("label", "rest"), 0.0, float(spec["duration_s"]), cycle,
                                      float(spec["sample_interval_s"]))
                elif kind == "eis":
                    every = spec.get("every_cycles")
                    if every and cycle % int(every):
                        continue
                    f_start, f_stop, points = sweep_plan(spec)
                    yield EisStep(spec.get("label", "eis"), f_start, f_stop, points,
                                  float(spec.get("amplitude_v") or 0.0), cycle, float(spec.get("dc_bias_v") or 0.0),
                                  spec.get("mode", POTENTIOSTATIC), float(spec.get("amplitude_a") or 0.0),
                                  bool(spec.get("bias_at_rest", False)))
                elif kind == "temperature":
                    yield TemperatureStep(spec.get("label", "temperature"), float(spec["celsius"]),
                                          float(spec.get("tolerance_c") or 1.0),
                                          float(spec.get("timeout_s") or 7200.0), cycle)
                elif kind == "pressure":
                    yield PressureStep(spec.get("label", "pressure"), float(spec["mpa"]),
                                       float(spec.get("ramp_mpa_s", 0.0)), cycle)

        yield from walk(self.program, "steps")

    def nominal_duration_s(self, stack: Stack) -> float:
        """Upper bound of the run time: every step to its limit (EIS sweeps not counted)."""
        return sum(getattr(step, "duration_s", 0.0) for step in self.iter_steps(stack))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "StepList":
        """A protocol from its JSON file's text; ValueError with one line naming what is wrong."""
        if len(text) > MAX_FILE_CHARS:
            raise ValueError(f"protocol file is {len(text):,} characters; a protocol file holds at most {MAX_FILE_CHARS:,}")
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError("protocol file nests too deep to read (loops nest at most three deep)") from None
        except ValueError as exc:   # JSONDecodeError, and numbers too long to convert
            raise ValueError(f"protocol file is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or "program" not in data:
            raise ValueError("protocol file must be an object with 'name' and 'program'")
        unknown = set(data) - {"name", "program", "voltage_limit_v", "version"}
        if unknown:
            raise ValueError(f"protocol file has unknown keys: {', '.join(sorted(str(k)[:40] for k in unknown))}")
        name, program = data.get("name", ""), data["program"]
        limit, version = data.get("voltage_limit_v", 5.0), data.get("version", 1)
        if not isinstance(name, str):
            raise ValueError(f"protocol file: name must be text, got {_show(name)}")
        if not isinstance(program, list):
            raise ValueError(f"protocol file: program must be a list of steps, got {_show(program)}")
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise ValueError(f"protocol file: voltage_limit_v must be a number, got {_show(limit)}")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 10 ** 6:
            raise ValueError(f"protocol file: version must be a whole number from 1, got {_show(version)}")
        try:
            limit = float(limit)
        except OverflowError:
            limit = math.inf
        return cls(name=name, program=tuple(program), voltage_limit_v=limit, version=version)


# -- the paper's experiments --
def plate_strip(current_density_mA_cm2: float = 0.16, half_cycle_h: float = 1.0, cycles: int = 50,
                sample_interval_s: float = 1.0) -> StepList:
    """Galvanostatic Li plating/stripping: +j for a half cycle, then -j, N times (Fig 3b)."""
    half = half_cycle_h * 3600.0
    return StepList(f"plate-strip-{current_density_mA_cm2:g}", ({
        "kind": "loop", "repeat": cycles, "counts_cycles": True, "steps": [
            {"kind": "cc", "label": "plate", "current": current_density_mA_cm2, "unit": "mA/cm2",
             "duration_s": half, "sample_interval_s": sample_interval_s},
            {"kind": "cc", "label": "strip", "current": -current_density_mA_cm2, "unit": "mA/cm2",
             "duration_s": half, "sample_interval_s": sample_interval_s}]},), voltage_limit_v=1.0)


# The impedance sweep a cycling run takes every N cycles: the range solid-state cells are
# measured over, 10 points a decade, 10 mV at the rest voltage; the 600 s budget ends it
# near 50 mHz (the analyser in the eis role may clip it further, with a note in the run).
CYCLING_EIS = {"kind": "eis", "label": "eis", "f_start_hz": 1e6, "f_stop_hz": 0.01, "points_per_decade": 10,
               "amplitude_v": 0.01, "bias_at_rest": True, "time_budget_s": 600.0}
# The same sweep driven by current, for an analyser that cannot hold a full cell's ~3.7 V
# (the IM3590's bias stops at 2.5 V): 50 uA at rest, ~10 mV across the aged cell's ~200 ohm.
CYCLING_EIS_GALVANOSTATIC = {**{k: v for k, v in CYCLING_EIS.items() if k not in ("amplitude_v", "bias_at_rest")},
                             "mode": GALVANOSTATIC, "amplitude_a": 50e-6}


def cycling(groups=((1 / 3, 500),), v_min: float = 2.6, v_max: float = 4.25, rest_s: float = 600.0,
            sample_interval_s: float = 30.0, max_step_factor: float = 1.5, title: str = "cycling",
            cycles: int | None = None, eis_every: int | None = None, eis_at: str = "discharge",
            eis_mode: str = POTENTIOSTATIC) -> StepList:
    """Constant-current charge/discharge between cut-offs in (C-rate, cycles) groups; a
    step also ends at max_step_factor x its nominal time. `cycles` sets every group's count.
    `eis_every` N adds an impedance sweep (CYCLING_EIS, or CYCLING_EIS_GALVANOSTATIC with
    `eis_mode` galvanostatic) in cycles N, 2N, ..., at the end of the rest after the
    discharge (`eis_at` "discharge") or after the charge ("charge")."""
    if eis_at not in ("charge", "discharge"):
        raise ValueError(f"eis_at must be 'charge' or 'discharge', got {eis_at!r}")
    if eis_mode not in EIS_MODES:
        raise ValueError(f"eis_mode must be one of {', '.join(EIS_MODES)}, got {eis_mode!r}")
    sweep = CYCLING_EIS if eis_mode == POTENTIOSTATIC else CYCLING_EIS_GALVANOSTATIC
    program = []
    for rate, count in groups:
        limit = max_step_factor * 3600.0 / rate
        rest = [{"kind": "rest", "duration_s": rest_s, "sample_interval_s": sample_interval_s}] if rest_s else []
        eis = [{**sweep, "every_cycles": eis_every}] if eis_every else []
        program.append({"kind": "loop", "repeat": cycles or count, "counts_cycles": True, "steps": [
            {"kind": "cc", "label": "charge", "current": rate, "unit": "C", "duration_s": limit,
             "sample_interval_s": sample_interval_s, "v_max": v_max},
            *rest,
            *(eis if eis_at == "charge" else []),
            {"kind": "cc", "label": "discharge", "current": -rate, "unit": "C", "duration_s": limit,
             "sample_interval_s": sample_interval_s, "v_min": v_min},
            *rest,
            *(eis if eis_at == "discharge" else [])]})
    return StepList(title, tuple(program), voltage_limit_v=5.0)


def gitt(current_density_mA_cm2: float = -0.02, pulse_s: float = 60.0, rest_s: float = 1800.0, pulses: int = 310,
         v_min: float = 0.005, v_max: float = 1.5, pulse_sample_interval_s: float = 1.0,
         rest_sample_interval_s: float = 10.0, cycles: int | None = None) -> StepList:
    """Titration of the interlayer (Fig 4c): short pulses (negative current lithiates the
    bottom electrode) and long rests; 310 x 31 min is the paper's 160 h."""
    return StepList("gitt", ({
        "kind": "loop", "repeat": cycles or pulses, "counts_cycles": True, "steps": [
            {"kind": "cc", "label": "pulse", "current": current_density_mA_cm2, "unit": "mA/cm2",
             "duration_s": pulse_s, "sample_interval_s": pulse_sample_interval_s, "v_min": v_min, "v_max": v_max},
            {"kind": "rest", "duration_s": rest_s, "sample_interval_s": rest_sample_interval_s}]},), voltage_limit_v=5.0)


def eis(f_start_hz: float = 1e6, f_stop_hz: float = 20.0, points: int = 51, amplitude_v: float = 0.01,
        rest_s: float = 600.0, repeats: int = 1, sample_interval_s: float = 10.0, cycles: int | None = None,
        dc_bias_v: float = 0.0) -> StepList:
    """Impedance at rest (Fig 2c): an OCV rest, then a sweep. The default range is what
    the E4990A covers; it stops at 20 Hz."""
    return StepList("eis", ({
        "kind": "loop", "repeat": cycles or repeats, "counts_cycles": True, "steps": [
            {"kind": "rest", "duration_s": rest_s, "sample_interval_s": sample_interval_s},
            {"kind": "eis", "f_start_hz": f_start_hz, "f_stop_hz": f_stop_hz, "points": points,
             "amplitude_v": amplitude_v, "dc_bias_v": dc_bias_v}]},), voltage_limit_v=5.0)


PRESET_FACTORIES = {
    "plate-strip-0.16": (plate_strip, {}),
    "rate-test": (cycling, {"groups": ((0.1, 3), (0.2, 3), (1 / 3, 3), (0.5, 3)), "sample_interval_s": 10.0,
                            "title": "rate-test"}),
    "cycling-c3-500": (cycling, {"groups": ((1 / 3, 500),), "sample_interval_s": 60.0, "title": "cycling-c3-500"}),
    # 20 spectra, at the end of cycles 25, 50, ..., 500, each after the discharge's rest.
    "cycling-c3-500-eis": (cycling, {"groups": ((1 / 3, 500),), "sample_interval_s": 60.0,
                                     "title": "cycling-c3-500-eis", "eis_every": 25}),
    "gitt": (gitt, {}),
    "eis": (eis, {}),
}
PRESETS: dict[str, StepList] = {name: factory(**kwargs) for name, (factory, kwargs) in PRESET_FACTORIES.items()}
AnyProtocol = StepList


def preset(name: str, **overrides) -> StepList:
    """The preset `name`, with its factory's settings overridden (e.g. cycles=3)."""
    if name not in PRESET_FACTORIES:
        raise KeyError(f"unknown protocol {name!r}; presets: {', '.join(PRESET_FACTORIES)}")
    factory, kwargs = PRESET_FACTORIES[name]
    accepted = factory.__code__.co_varnames[: factory.__code__.co_argcount]
    unknown = set(overrides) - set(accepted)
    if unknown:
        raise KeyError(f"protocol {name!r} has no setting {', '.join(sorted(unknown))}")
    return factory(**{**kwargs, **overrides})
