"""Streaming short-circuit detectors, evaluated on every sample as it arrives (live in
the run engine, and offline over a finished run with the same code).

Hard short (DOMAIN.md): in a Li cell under constant current the polarisation collapses
toward 0 V and then follows I x R_short. The detector tracks the apparent resistance
|V/I| of settled samples and trips when it falls below a fraction of its own baseline
for several consecutive samples. Samples just after a current change are skipped, so
the sign flip between plating and stripping never trips it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


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
            if abs(i - self._last_current) > max(1e-9, 1e-3 * abs(self._last_current)):
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
