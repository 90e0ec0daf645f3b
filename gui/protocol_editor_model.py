"""The protocol editor's document: a draft StepList (name, voltage limit, version and a
program of step dicts, loops nesting their own steps) that may be invalid while the
operator works on it, with the edits the editor offers (add, remove, move, wrap in a
loop, take out of a loop, set a field) and StepList's own validation messages mapped
back to the step and field they name. Plain Python, no Qt.

A step is addressed by its path: the indexes from the top of the program down through
loops, e.g. (0, 1) is the second step inside the first loop; people read it as "1.2".
"""
from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass, field

from acquisition.protocol import CYCLING_EIS, PRESETS, StepList, sweep_plan

Path = tuple[int, ...]

NEW_STEPS: dict[str, dict] = {
    "cc": {"kind": "cc", "label": "charge", "current": 0.16, "unit": "mA/cm2", "duration_s": 3600.0,
           "sample_interval_s": 1.0},
    "rest": {"kind": "rest", "duration_s": 600.0, "sample_interval_s": 10.0},
    "eis": {"kind": "eis", "f_start_hz": 1e6, "f_stop_hz": 20.0, "points": 51, "amplitude_v": 0.01},
    # the same kind of step, set to run inside a cycling loop every N cycles
    "eis-every": {**CYCLING_EIS, "every_cycles": 25},
    "pressure": {"kind": "pressure", "mpa": 5.0, "ramp_mpa_s": 0.1},
    "temperature": {"kind": "temperature", "celsius": 60.0, "tolerance_c": 1.0, "timeout_s": 7200.0},
    "loop": {"kind": "loop", "repeat": 10, "counts_cycles": True, "steps": []},
}
KIND_NAMES = {"cc": "Constant current", "rest": "Rest (open circuit)", "eis": "EIS sweep",
              "eis-every": "EIS every N cycles",
              "pressure": "Stack pressure", "temperature": "Temperature", "loop": "Loop"}
UNIT_TEXT = {"mA": "mA", "mA/cm2": "mA/cm²", "C": "C"}


@dataclass(frozen=True)
class Problem:
    path: Path | None       # the step, or None for the protocol's own fields
    field: str | None       # the field named, if any ("steps" on a loop: its contents)
    message: str

    def where(self) -> str:
        if self.path is None:
            return self.field or "protocol"
        step = f"step {path_text(self.path)}" if self.path else "program"
        return f"{step} · {self.field}" if self.field else step


def path_text(path: Path) -> str:
    return ".".join(str(k + 1) for k in path)


_WHERE = re.compile(r"^(?P<where>[\w\[\].]+): (?P<text>.*)$", re.S)


def parse_problem(message: str) -> Problem:
    """StepList.validate's 'steps[0].steps[1].current: must be ...' -> the step (0, 1),
    field 'current'. Messages about the protocol itself ('name: ...') have no path."""
    m = _WHERE.match(message)
    if m is None:
        return Problem(None, None, message)
    where, text = m["where"], m["text"]
    if not where.startswith("steps"):
        return Problem(None, where, text)
    path = tuple(int(k) for k in re.findall(r"\[(\d+)\]", where))
    tail = where.rsplit("]", 1)[1].lstrip(".") if "]" in where else where
    return Problem(path, tail or None, text)


def si_hz(value: float) -> str:
    for factor, prefix in ((1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m")):
        if abs(value) >= factor:
            return f"{value / factor:.4g} {prefix}Hz"    # a budget's cut-off is no round number
    return f"{value:g} Hz"


def seconds_text(seconds) -> str:
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        return "?"
    for size, unit in ((3600.0, "h"), (60.0, "min")):
        if abs(seconds) >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def summary(spec: dict) -> str:
    """One line per step, as the tree shows it."""
    kind = spec.get("kind")
    if kind == "cc":
        parts = [f"{spec.get('current', '?'):+g} {UNIT_TEXT.get(spec.get('unit'), spec.get('unit'))}"
                 if isinstance(spec.get("current"), (int, float)) else "no current",
                 f"up to {seconds_text(spec.get('duration_s'))}"]
        if spec.get("v_min") is not None:
            parts.append(f"stop below {spec['v_min']:g} V")
        if spec.get("v_max") is not None:
            parts.append(f"stop above {spec['v_max']:g} V")
        if spec.get("q_max_mAh"):
            parts.append(f"stop at {spec['q_max_mAh']:g} mAh")
        parts.append(f"a sample every {seconds_text(spec.get('sample_interval_s'))}")
        return ", ".join(parts)
    if kind == "rest":
        return f"{seconds_text(spec.get('duration_s'))} at open circuit, a sample every {seconds_text(spec.get('sample_interval_s'))}"
    if kind == "eis":
        try:
            f_start, f_stop, points = sweep_plan(spec)
            if spec.get("mode") == "galvanostatic":
                drive = f"{spec['amplitude_a'] * 1e6:g} µA at rest"
            else:
                bias = (", at the rest voltage" if spec.get("bias_at_rest") else
                        f", {spec['dc_bias_v']:g} V bias" if spec.get("dc_bias_v") else "")
                drive = f"{spec['amplitude_v'] * 1e3:g} mV{bias}"
            budget = f" (within {seconds_text(spec['time_budget_s'])})" if spec.get("time_budget_s") else ""
            return f"{si_hz(f_start)} → {si_hz(f_stop)}{budget}, {points} points, {drive}"
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return "incomplete sweep"
    if kind == "pressure":
        return f"to {spec.get('mpa', '?')} MPa at {spec.get('ramp_mpa_s', '?')} MPa/s"
    if kind == "temperature":
        return f"to {spec.get('celsius', '?')} °C, wait until within ±{spec.get('tolerance_c', 1)} °C"
    if kind == "loop":
        n = len(spec.get("steps") or [])
        return f"× {spec.get('repeat', '?')}, {n} step{'s' if n != 1 else ''}" + (
            ", each pass a cycle" if spec.get("counts_cycles", True) else "")
    return f"unknown kind {kind!r}"


def title(spec: dict) -> str:
    kind = spec.get("kind")
    name = KIND_NAMES.get(kind, str(kind))
    if kind == "eis" and isinstance(spec.get("every_cycles"), int) and spec["every_cycles"] > 1:
        name = f"EIS every {spec['every_cycles']} cycles"
    label = spec.get("label")
    return f"{name} ({label})" if label and kind != "loop" else name


@dataclass
class ProtocolDraft:
    name: str
    program: list = field(default_factory=list)
    voltage_limit_v: float = 5.0
    version: int = 1
    edited: bool = False          # changed since loaded or saved: the next version

    # -- in and out --
    @classmethod
    def from_steplist(cls, protocol: StepList) -> "ProtocolDraft":
        return cls(protocol.name, _lists(protocol.program), protocol.voltage_limit_v, protocol.version)

    @classmethod
    def from_preset(cls, name: str) -> "ProtocolDraft":
        return cls.from_steplist(PRESETS[name])

    @classmethod
    def from_json(cls, text: str) -> "ProtocolDraft":
        """A protocol file, even one StepList would refuse, as long as it has the shape of
        one: its problems are then shown at their steps to be fixed."""
        try:
            return cls.from_steplist(StepList.from_json(text))
        except ValueError as refused:
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                raise refused from None
            if not isinstance(data, dict) or not isinstance(data.get("program"), list):
                raise refused from None
            limit, version = data.get("voltage_limit_v", 5.0), data.get("version", 1)
            return cls(str(data.get("name", "")), _lists(data["program"]),
                       float(limit) if isinstance(limit, (int, float)) else 5.0,
                       int(version) if isinstance(version, int) else 1)

    def steplist(self) -> StepList:
        """The StepList this draft describes; ValueError (naming steps) while it is invalid."""
        return StepList(self.name, tuple(copy.deepcopy(self.program)), float(self.voltage_limit_v),
                        self.version + (1 if self.edited else 0))

    def to_json(self) -> str:
        return self.steplist().to_json()

    def problems(self) -> list[Problem]:
        # StepList refuses to exist while invalid; its validate() reads only these three
        # fields, so the draft asks it about itself: one set of rules, in acquisition/.
        return [parse_problem(m) for m in StepList.validate(self)]

    # -- steps --
    def get(self, path: Path) -> dict:
        specs, k = self._siblings(path)
        return specs[k]

    def paths(self) -> list[Path]:
        """Every step's path, depth first (the tree's order)."""
        out: list[Path] = []

        def walk(specs, prefix: Path) -> None:
            for k, spec in enumerate(specs):
                out.append(prefix + (k,))
                if spec.get("kind") == "loop" and isinstance(spec.get("steps"), list):
                    walk(spec["steps"], prefix + (k,))

        walk(self.program, ())
        return out

    def add(self, kind: str, after: Path | None = None) -> Path:
        """A new step of `kind`: into a selected loop (at its end), after a selected
        step, or at the end of the program."""
        spec = copy.deepcopy(NEW_STEPS[kind])
        if after is None:
            self.program.append(spec)
            path = (len(self.program) - 1,)
        elif self.get(after).get("kind") == "loop":
            inner = self.get(after).setdefault("steps", [])
            inner.append(spec)
            path = after + (len(inner) - 1,)
        else:
            specs, k = self._siblings(after)
            specs.insert(k + 1, spec)
            path = after[:-1] + (k + 1,)
        self.edited = True
        return path

    def remove(self, path: Path) -> Path | None:
        """Remove a step (a loop with its steps); the path to select next, if any."""
        specs, k = self._siblings(path)
        del specs[k]
        self.edited = True
        if specs:
            return path[:-1] + (min(k, len(specs) - 1),)
        return path[:-1] or None

    def move(self, path: Path, delta: int) -> Path:
        """Up (-1) or down (+1) among the steps of the same level."""
        specs, k = self._siblings(path)
        j = k + delta
        if not 0 <= j < len(specs):
            return path
        specs[k], specs[j] = specs[j], specs[k]
        self.edited = True
        return path[:-1] + (j,)

    def wrap(self, path: Path, repeat: int = 10) -> Path:
        """Put a step inside a new loop in its place; the loop's path."""
        specs, k = self._siblings(path)
        loop = copy.deepcopy(NEW_STEPS["loop"])
        loop["repeat"] = repeat
        loop["steps"] = [specs[k]]
        specs[k] = loop
        self.edited = True
        return path

    def unwrap(self, path: Path) -> Path:
        """Take a step out of its loop, to just after the loop."""
        if len(path) < 2:
            return path
        specs, k = self._siblings(path)
        spec = specs.pop(k)
        outer, j = self._siblings(path[:-1])
        outer.insert(j + 1, spec)
        self.edited = True
        return path[:-2] + (j + 1,)

    def set(self, path: Path, key: str, value) -> None:
        """Set a field; None removes an optional one (a cut-off that is not wanted)."""
        spec = self.get(path)
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
        self.edited = True

    def set_protocol_field(self, key: str, value) -> None:
        setattr(self, key, value)
        self.edited = True

    def _siblings(self, path: Path) -> tuple[list, int]:
        if not path:
            raise IndexError("the empty path is the program, not a step")
        specs = self.program
        for k in path[:-1]:
            specs = specs[k]["steps"]
        if not 0 <= path[-1] < len(specs):
            raise IndexError(f"no step {path_text(path)}")
        return specs, path[-1]


def _lists(program) -> list:
    """A deep copy with every loop's steps as a list (StepList keeps tuples or lists)."""
    out = []
    for spec in program:
        spec = dict(spec) if isinstance(spec, dict) else spec
        if isinstance(spec, dict) and spec.get("kind") == "loop" and isinstance(spec.get("steps"), (list, tuple)):
            spec["steps"] = _lists(spec["steps"])
        out.append(copy.deepcopy(spec))
    return out
