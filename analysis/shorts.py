"""Streaming short-circuit detectors, evaluated on every sample as it arrives (live in
the run engine, and offline over a finished run with the same code).

Hard short (DOMAIN.md): in a Li cell under constant current the polarisation collapses
toward 0 V and then follows I x R_short. The detector tracks the apparent resistance
|V/I| of settled samples and trips when it falls below a fraction of its own baseline
for several consecutive samples. Samples just after a current change are skipped, so
the sign flip between plating and stripping never trips it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np


def current_changed(previous: float, now: float) -> bool:
    """A new current step (beyond a part in a thousand): detectors restart their judging."""
    return abs(now - previous) > max(1e-9, 1e-3 * abs(previous))


@dataclass(frozen=True)
class HardShortSettings:
    collapse_fraction: float = 0.25   # trip below this share of the baseline |V/I|
    hold_samples: int = 5             # consecutive collapsed samples needed
    settle_s: float = 30.0            # skip samples this long after a current change
    min_current_a: float = 1e-7       # |I| below this is rest: nothing to judge
    baseline_samples: int = 20        # settled samples before the detector arms
    baseline_weight: float = 0.02     # exponential-average weight of each new sample

    def __post_init__(self) -> None:
        if not 0 < self.collapse_fraction < 1:
            raise ValueError(f"collapse_fraction must be between 0 and 1, got {self.collapse_fraction}")
        if self.hold_samples < 1 or self.baseline_samples < 1:
            raise ValueError("hold_samples and baseline_samples must be at least 1")
        if self.settle_s < 0 or self.min_current_a < 0 or not 0 < self.baseline_weight <= 1:
            raise ValueError("settle_s and min_current_a must be >= 0, baseline_weight in (0, 1]")


@dataclass(frozen=True)
class Trip:
    kind: str
    index: int          # sample index (in the stream) where the collapse began
    t_s: float          # its time
    detected_index: int
    message: str
    evidence: dict


class HardShortDetector:
    kind = "hard_short"

    def __init__(self, settings: HardShortSettings = HardShortSettings()):
        self.settings = settings
        self._seen = 0
        self._last_current = 0.0
        self._settle_until = -np.inf
        self._baseline = 0.0
        self._n_baseline = 0
        self._below = 0
        self._first_below = (0, 0.0, 0.0)

    def update(self, t: np.ndarray, current: np.ndarray, voltage: np.ndarray) -> Trip | None:
        """Feed the next samples; return the first trip among them, if any."""
        s = self.settings
        offset = self._seen
        self._seen += len(t)
        for k in range(len(t)):
            i, v, tk = float(current[k]), float(voltage[k]), float(t[k])
            if current_changed(self._last_current, i):
                self._last_current = i
                self._settle_until = tk + s.settle_s
                self._below = 0
            if abs(i) < s.min_current_a or tk < self._settle_until:
                continue
            r = abs(v / i)
            if self._n_baseline >= s.baseline_samples and r < s.collapse_fraction * self._baseline:
                if self._below == 0:
                    self._first_below = (offset + k, tk, r)
                self._below += 1
                if self._below >= s.hold_samples:
                    return self._trip(offset + k, r)
                continue
            self._below = 0
            if self._n_baseline == 0:
                self._baseline = r
            else:
                self._baseline += s.baseline_weight * (r - self._baseline)
            self._n_baseline += 1
        return None

    def _trip(self, detected_index: int, r_now: float) -> Trip:
        index, t_s, r_first = self._first_below
        evidence = {
            "baseline_ohm": self._baseline,
            "apparent_ohm_at_onset": r_first,
            "apparent_ohm_at_trip": r_now,
            "ratio": r_now / self._baseline,
            "settings": asdict(self.settings),
        }
        message = (f"hard short: cell resistance fell from {self._baseline:.3g} ohm to {r_now:.3g} ohm "
                   f"({r_now / self._baseline:.0%} of baseline) at t = {t_s / 3600:.2f} h")
        return Trip(self.kind, index, t_s, detected_index, message, evidence)


@dataclass(frozen=True)
class SoftShortSettings:
    """Soft short during a constant-current charge of a full cell: the voltage stops
    rising while charge keeps flowing, or the charge passes the theoretical capacity."""
    capacity_mAh: float                 # the cell's theoretical capacity (from the build)
    window_fraction: float = 0.03       # judge the rise over this share of the capacity
    min_rise_v: float = 0.005           # a healthy NMC cell rises >= 18 mV per 3 % of charge
    overcharge_fraction: float = 1.10   # charge beyond 110 % of theoretical in one step
    settle_s: float = 120.0
    min_current_a: float = 1e-7
    fluctuation_v: float = 0.001        # a fall of more than this between samples while charging ...
    fluctuation_count: int = 5          # ... this many times within the last 20 samples: flickering

    def __post_init__(self) -> None:
        if not self.capacity_mAh > 0:
            raise ValueError(f"capacity_mAh must be above 0, got {self.capacity_mAh}")
        if self.fluctuation_v <= 0 or not 1 <= self.fluctuation_count <= 20:
            raise ValueError("fluctuation_v must be above 0 and fluctuation_count 1 to 20")
        if not 0 < self.window_fraction < 1 or self.min_rise_v <= 0 or self.overcharge_fraction <= 1:
            raise ValueError("window_fraction in (0, 1), min_rise_v > 0 and overcharge_fraction > 1 are required")


class SoftShortDetector:
    kind = "soft_short"

    def __init__(self, settings: SoftShortSettings):
        self.settings = settings
        self._seen = 0
        self._current = 0.0
        self._t_prev = 0.0
        self._step_start = 0.0
        self._step_charge = 0.0          # mAh passed in this charge step
        self._ref = None                 # (charge mAh, voltage, t, index) at the window start
        self._falls: deque[bool] = deque(maxlen=20)
        self._last_v: float | None = None

    def update(self, t: np.ndarray, current: np.ndarray, voltage: np.ndarray) -> Trip | None:
        s = self.settings
        window = s.window_fraction * s.capacity_mAh
        offset = self._seen
        self._seen += len(t)
        for k in range(len(t)):
            i, v, tk = float(current[k]), float(voltage[k]), float(t[k])
            if current_changed(self._current, i):
                self._current, self._step_start, self._step_charge, self._ref = i, self._t_prev, 0.0, None
                self._falls.clear()
                self._last_v = None
            dt = tk - self._t_prev
            self._t_prev = tk
            if i < s.min_current_a:      # only constant-current charge is judged
                continue
            self._step_charge += i * dt / 3.6
            if self._step_charge > s.overcharge_fraction * s.capacity_mAh:
                return Trip(self.kind, offset + k, tk, offset + k,
                            f"soft short: {self._step_charge:.3g} mAh charged in one step, beyond "
                            f"{s.overcharge_fraction:.0%} of the theoretical {s.capacity_mAh:.3g} mAh",
                            {"criterion": "overcharge", "charge_mAh": self._step_charge, "settings": asdict(s)})
            if tk - self._step_start < s.settle_s:
                self._last_v = v
                continue
            # Flicker: a charging cell's voltage does not keep falling back; a dendrite that
            # touches and burns through makes it jump down again and again.
            self._falls.append(self._last_v is not None and self._last_v - v > s.fluctuation_v)
            self._last_v = v
            if sum(self._falls) >= s.fluctuation_count:
                return Trip(self.kind, offset + k, tk, offset + k,
                            f"soft short: the voltage fell back {sum(self._falls)} times in 20 samples while charging "
                            f"(at {v:.3f} V, t = {tk / 3600:.2f} h)",
                            {"criterion": "fluctuation", "falls": int(sum(self._falls)), "voltage_v": v,
                             "settings": asdict(s)})
            if self._ref is None:
                self._ref = (self._step_charge, v, tk, offset + k)
                continue
            q0, v0, t0, k0 = self._ref
            if self._step_charge - q0 >= window:
                rise = v - v0
                if rise < s.min_rise_v:
                    return Trip(self.kind, k0, t0, offset + k,
                                f"soft short: voltage rose {rise * 1e3:+.1f} mV while {self._step_charge - q0:.3g} mAh "
                                f"were charged (at {v:.3f} V, t = {tk / 3600:.2f} h)",
                                {"criterion": "no_rise", "rise_v": rise, "charge_mAh": self._step_charge - q0,
                                 "voltage_v": v, "settings": asdict(s)})
                self._ref = (self._step_charge, v, tk, offset + k)
        return None


@dataclass(frozen=True)
class VoltageLimitSettings:
    """A limit breach: the cell voltage outside the window a healthy run stays in."""
    v_min: float
    v_max: float
    hold_samples: int = 2

    def __post_init__(self) -> None:
        if not self.v_min < self.v_max or self.hold_samples < 1:
            raise ValueError("v_min must be below v_max and hold_samples at least 1")


class VoltageLimitDetector:
    kind = "voltage_limit"

    def __init__(self, settings: VoltageLimitSettings):
        self.settings = settings
        self._seen = 0
        self._outside = 0

    def update(self, t: np.ndarray, current: np.ndarray, voltage: np.ndarray) -> Trip | None:
        s = self.settings
        offset = self._seen
        self._seen += len(t)
        outside = (np.asarray(voltage) < s.v_min) | (np.asarray(voltage) > s.v_max)
        for k in range(len(t)):
            self._outside = self._outside + 1 if outside[k] else 0
            if self._outside >= s.hold_samples:
                first = offset + k - s.hold_samples + 1
                v = float(voltage[k])
                return Trip(self.kind, first, float(t[k - s.hold_samples + 1]) if k >= s.hold_samples - 1 else float(t[0]),
                            offset + k, f"voltage limit: {v:.4g} V is outside {s.v_min:g}..{s.v_max:g} V",
                            {"voltage_v": v, "settings": asdict(s)})
        return None


@dataclass(frozen=True)
class SuddenDropSettings:
    """Soft short: during a constant-current charge the voltage falls abruptly."""
    drop_v: float = 0.05
    settle_s: float = 60.0
    min_current_a: float = 1e-7

    def __post_init__(self) -> None:
        if self.drop_v <= 0 or self.settle_s < 0:
            raise ValueError("drop_v must be above 0 and settle_s at least 0")


class SuddenDropDetector:
    kind = "sudden_drop"

    def __init__(self, settings: SuddenDropSettings = SuddenDropSettings()):
        self.settings = settings
        self._seen = 0
        self._current = 0.0
        self._step_start = -np.inf
        self._previous: float | None = None

    def update(self, t: np.ndarray, current: np.ndarray, voltage: np.ndarray) -> Trip | None:
        s = self.settings
        offset = self._seen
        self._seen += len(t)
        for k in range(len(t)):
            i, v, tk = float(current[k]), float(voltage[k]), float(t[k])
            if current_changed(self._current, i):
                self._current, self._step_start, self._previous = i, tk, None
            if i < s.min_current_a or tk - self._step_start < s.settle_s:
                self._previous = v
                continue
            if self._previous is not None and self._previous - v > s.drop_v:
                return Trip(self.kind, offset + k, tk, offset + k,
                            f"soft short: voltage dropped {(self._previous - v) * 1e3:.0f} mV in one sample during "
                            f"charge (to {v:.3f} V at t = {tk / 3600:.2f} h)",
                            {"criterion": "sudden_drop", "drop_v": self._previous - v, "voltage_v": v,
                             "settings": asdict(s)})
            self._previous = v
        return None


@dataclass(frozen=True)
class PressureDriftSettings:
    """The fixture no longer holds the stack pressure set-point."""
    tolerance_mpa: float = 0.5
    hold_readings: int = 3

    def __post_init__(self) -> None:
        if self.tolerance_mpa <= 0 or self.hold_readings < 1:
            raise ValueError("tolerance_mpa must be above 0 and hold_readings at least 1")


class PressureDriftDetector:
    """Fed pressure readings (one per batch) and the set-point they should hold."""
    kind = "pressure_drift"

    def __init__(self, settings: PressureDriftSettings = PressureDriftSettings()):
        self.settings = settings
        self._off = 0

    def update_pressure(self, t_s: float, index: int, pressure_mpa: float, setpoint_mpa: float) -> Trip | None:
        s = self.settings
        self._off = self._off + 1 if abs(pressure_mpa - setpoint_mpa) > s.tolerance_mpa else 0
        if self._off >= s.hold_readings:
            return Trip(self.kind, index, t_s, index,
                        f"pressure drift: {pressure_mpa:.2f} MPa against a set-point of {setpoint_mpa:g} MPa",
                        {"pressure_mpa": pressure_mpa, "setpoint_mpa": setpoint_mpa, "settings": asdict(s)})
        return None


@dataclass(frozen=True)
class CoulombicEfficiencySettings:
    """Soft short or side reactions: a cycle's Coulombic efficiency (discharge over
    charge, cathode-limited cells) falls below a floor."""
    min_ce: float = 0.97
    from_cycle: int = 2              # the first cycle's CE is low by nature (formation)

    def __post_init__(self) -> None:
        if not 0 < self.min_ce < 1 or self.from_cycle < 1:
            raise ValueError("min_ce must be between 0 and 1 and from_cycle at least 1")


class CoulombicEfficiencyDetector:
    """Fed each finished cycle's charge and discharge (mAh) by the run engine."""
    kind = "ce_drop"

    def __init__(self, settings: CoulombicEfficiencySettings = CoulombicEfficiencySettings()):
        self.settings = settings

    def update_cycle(self, cycle: int, charge_mah: float, discharge_mah: float, t_s: float, index: int,
                     rate_changed: bool = False) -> Trip | None:
        """rate_changed: the cycle ran at another current than the one before; its CE is
        not judged (the first cycle at a new rate starts from another state of charge)."""
        s = self.settings
        if cycle < s.from_cycle or charge_mah <= 0 or rate_changed:
            return None
        ce = discharge_mah / charge_mah
        if ce < s.min_ce:
            return Trip(self.kind, index, t_s, index,
                        f"soft short: Coulombic efficiency of cycle {cycle} fell to {ce:.2%} "
                        f"({discharge_mah:.4g} of {charge_mah:.4g} mAh came back)",
                        {"criterion": "ce", "cycle": cycle, "ce": ce, "settings": asdict(s)})
        return None
