"""What an impedance analyser can do, and fitting a requested sweep to it.

Every analyser driver states its `ImpedanceCapability` (frequency span, amplitude and
DC-bias ranges, most points in one sweep). A protocol asks for the range a paper used
(1 MHz to 0.1 Hz, say); `plan_sweep` clips the frequency span to what the analyser in
the impedance role covers, keeping the requested points per decade, and says what it
changed in one line: the engine records that line as an event and in the run's
provenance, and sends only the clipped sweep. What cannot be clipped without changing
the experiment (an amplitude or a DC bias the analyser cannot apply, a span it does not
reach at all) is refused with one line naming the analyser and the limit.

A measured sweep comes back as an `ImpedanceSweep`: frequencies, complex impedance and
a per-point flag (None for a good reading, else `OVERLOAD` or `OUT_OF_RANGE`, as the
analyser reported it), which the notebook stores in spectrum_points.flag."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from instruments.errors import LimitError

OVERLOAD = "overload"            # an input saturated: the reading is distorted
OUT_OF_RANGE = "out_of_range"    # outside the range's guaranteed accuracy span
FLAGS = (OVERLOAD, OUT_OF_RANGE)

POTENTIOSTATIC = "potentiostatic"   # amplitude in V rms, bias in V
GALVANOSTATIC = "galvanostatic"     # amplitude in A rms, bias in A
MODES = (POTENTIOSTATIC, GALVANOSTATIC)


@dataclass(frozen=True)
class ImpedanceCapability:
    """An analyser's limits. Ranges are (low, high) inclusive; a mode it cannot drive has
    None for its ranges."""
    model: str
    f_min_hz: float
    f_max_hz: float
    amplitude_v: tuple[float, float] | None
    bias_v: tuple[float, float] | None
    max_points: int
    amplitude_a: tuple[float, float] | None = None
    bias_a: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def ranges(self, mode: str) -> tuple[tuple[float, float] | None, tuple[float, float] | None, str]:
        """(amplitude range, bias range, unit) of a drive mode."""
        if mode == POTENTIOSTATIC:
            return self.amplitude_v, self.bias_v, "V"
        if mode == GALVANOSTATIC:
            return self.amplitude_a, self.bias_a, "A"
        raise ValueError(f"EIS mode must be {' or '.join(MODES)}, got {mode!r}")


@dataclass(frozen=True)
class SweepPlan:
    f_start_hz: float
    f_stop_hz: float
    points: int
    note: str | None        # what was clipped, one line; None when sent as asked

    @property
    def clipped(self) -> bool:
        return self.note is not None


class ImpedanceSweep(NamedTuple):
    freq_hz: np.ndarray
    z: np.ndarray                  # complex ohm, Im < 0 for capacitive points
    flags: list[str | None]        # per point: None = good, else OVERLOAD / OUT_OF_RANGE


def hz(value: float) -> str:
    """A frequency as people write it: 10 µHz, 0.1 Hz, 200 kHz, 120 MHz."""
    for above, scale, unit in ((1e6, 1e6, "MHz"), (1e3, 1e3, "kHz"), (0.1, 1.0, "Hz"), (1e-4, 1e-3, "mHz")):
        if abs(value) >= above:
            return f"{value / scale:.4g} {unit}"
    return f"{value / 1e-6:.4g} µHz"


def check_drive(capability: ImpedanceCapability, amplitude: float, dc_bias: float = 0.0,
                mode: str = POTENTIOSTATIC) -> None:
    """LimitError, one line, unless the analyser can apply this amplitude and bias."""
    amplitude_range, bias_range, unit = capability.ranges(mode)
    if amplitude_range is None:
        raise LimitError(f"the {capability.model} cannot measure {mode}ally (no {unit} drive)")
    lo, hi = amplitude_range
    if not lo <= amplitude <= hi:
        raise LimitError(f"the {capability.model}'s amplitude range is {lo:g}..{hi:g} {unit} rms; "
                         f"{amplitude:g} {unit} was asked")
    if dc_bias:
        if bias_range is None:
            raise LimitError(f"the {capability.model} has no DC bias in {unit}; {dc_bias:g} {unit} was asked")
        lo, hi = bias_range
        if not lo <= dc_bias <= hi:
            raise LimitError(f"the {capability.model}'s DC bias range is {lo:g}..{hi:g} {unit}; "
                             f"{dc_bias:g} {unit} was asked")


def check_span(capability: ImpedanceCapability, name: str, f_start_hz: float, f_stop_hz: float, points: int,
               max_points: int | None = None) -> tuple[float, float]:
    """LimitError unless the analyser `name` can sweep this span in `points` points (at
    most `max_points`: default its capability's); the span, low to high."""
    lo, hi = sorted((f_start_hz, f_stop_hz))
    if lo < capability.f_min_hz or hi > capability.f_max_hz:
        raise LimitError(f"{name}: {hz(lo)} to {hz(hi)} is beyond its {hz(capability.f_min_hz)} to "
                         f"{hz(capability.f_max_hz)}")
    limit = capability.max_points if max_points is None else max_points
    if not 2 <= points <= limit:
        raise LimitError(f"{name}: {points} points is outside 2..{capability.max_points}")
    return lo, hi


def plan_sweep(capability: ImpedanceCapability, f_start_hz: float, f_stop_hz: float, points: int,
               amplitude: float, dc_bias: float = 0.0, mode: str = POTENTIOSTATIC) -> SweepPlan:
    """The sweep to send: the span clipped to the analyser's, in the direction asked, with
    as many points per decade as were asked (and at most capability.max_points)."""
    check_drive(capability, amplitude, dc_bias, mode)
    if not (f_start_hz > 0 and f_stop_hz > 0 and f_start_hz != f_stop_hz and points >= 2):
        raise LimitError(f"a sweep needs two different positive frequencies and 2 or more points; got "
                         f"{f_start_hz:g} to {f_stop_hz:g} Hz, {points} points")
    lo, hi = sorted((f_start_hz, f_stop_hz))
    c_lo, c_hi = max(lo, capability.f_min_hz), min(hi, capability.f_max_hz)
    span = f"{hz(capability.f_min_hz)} to {hz(capability.f_max_hz)}"
    if c_lo >= c_hi:
        raise LimitError(f"the {capability.model} covers {span}: none of the sweep asked "
                         f"({hz(f_start_hz)} to {hz(f_stop_hz)}) lies in it")
    n = points
    if (c_lo, c_hi) != (lo, hi):
        per_decade = (points - 1) / math.log10(hi / lo)
        n = max(2, round(per_decade * math.log10(c_hi / c_lo)) + 1)
    n = min(n, capability.max_points)
    start, stop = (c_hi, c_lo) if f_start_hz > f_stop_hz else (c_lo, c_hi)
    if (start, stop, n) == (f_start_hz, f_stop_hz, points):
        return SweepPlan(start, stop, n, None)
    parts = []
    if (c_lo, c_hi) != (lo, hi):
        parts.append(f"clipped to {hz(start)} to {hz(stop)}, {n} points")
    elif n != points:
        parts.append(f"cut to {n} points, the most it sweeps at once")
    note = (f"the {capability.model} covers {span}: the sweep asked, {hz(f_start_hz)} to {hz(f_stop_hz)} in "
            f"{points} points, was " + "; ".join(parts))
    return SweepPlan(start, stop, n, note)


def step_drive(step) -> tuple[float, float, str]:
    """(amplitude, DC bias, mode) of an EIS step (acquisition.protocol.EisStep): volts
    potentiostatically, amps galvanostatically (no DC bias then: the step gives none in A)."""
    mode = getattr(step, "mode", POTENTIOSTATIC)
    if mode == GALVANOSTATIC:
        return step.amplitude_a, 0.0, mode
    return step.amplitude_v, step.dc_bias_v, mode


def plan_step(capability: ImpedanceCapability, step) -> SweepPlan:
    """plan_sweep for an EIS step."""
    amplitude, bias, mode = step_drive(step)
    return plan_sweep(capability, step.f_start_hz, step.f_stop_hz, step.points, amplitude, bias, mode)


def check_rest_bias(capability: ImpedanceCapability, step, window: tuple[float, float] | None) -> None:
    """LimitError when `step` biases its sweep at the rest voltage (potentiostatically) and
    the cell's whole rest `window` (V) lies beyond the analyser's DC bias: every such sweep
    would be skipped, so the run is refused before it starts."""
    if not getattr(step, "bias_at_rest", False) or getattr(step, "mode", POTENTIOSTATIC) != POTENTIOSTATIC:
        return
    bias = capability.ranges(POTENTIOSTATIC)[1]
    if window is None or bias is None or (window[1] >= bias[0] and window[0] <= bias[1]):
        return
    raise LimitError(f"its sweeps are biased at the rest voltage, which lies between {window[0]:g} and "
                     f"{window[1]:g} V in this protocol, beyond the {capability.model}'s DC bias of "
                     f"{bias[0]:g}..{bias[1]:g} V: every sweep would be skipped. Sweep galvanostatically "
                     "(no DC bias), or use an analyser whose bias reaches it")


def clip_notes(capability: ImpedanceCapability, steps) -> list[str]:
    """The clipping notes of the distinct sweeps among `steps` (EIS steps; others are
    skipped), in order; LimitError, one line naming the step, for a sweep the analyser
    cannot make at all (nor, biased at rest, at the rest voltages the protocol gives)."""
    notes, seen = [], set()
    # where the cell rests, at the widest: between the lower cut-off of the last discharge
    # and the upper cut-off of the last charge (it relaxes up from the one, down from the other)
    low = high = None
    for index, step in enumerate(steps):
        if not hasattr(step, "f_start_hz"):
            current = getattr(step, "current_a", 0.0)
            if current < 0 and getattr(step, "v_min", None) is not None:
                low = step.v_min
            elif current > 0 and getattr(step, "v_max", None) is not None:
                high = step.v_max
            continue
        try:
            check_rest_bias(capability, step, (low, high) if low is not None and high is not None else None)
        except LimitError as exc:
            raise LimitError(f"step {index} ({step.label}): {exc}") from None
        key = (step.f_start_hz, step.f_stop_hz, step.points, *step_drive(step))
        if key in seen:
            continue
        seen.add(key)
        try:
            plan = plan_step(capability, step)
        except LimitError as exc:
            raise LimitError(f"step {index} ({step.label}): {exc}") from None
        if plan.note is not None:
            notes.append(plan.note)
    return notes
