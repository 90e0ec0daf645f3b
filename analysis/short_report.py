"""Short-circuit analysis of a finished run: the live detectors of analysis/shorts.py
replayed over the whole record in acquisition-sized batches, so the verdict offline
is the one the run engine reached (or would have reached) live. Reports the time to
short, the areal capacity passed before it, and the detector's evidence."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from analysis.segments import sample_durations
from analysis.shorts import HardShortDetector, HardShortSettings


@dataclass
class ShortReport:
    events: list[dict]
    time_to_short_s: float | None
    charge_before_short_mAh: float        # integral of |I| dt up to the onset (or the whole run)
    areal_capacity_mAh_cm2: float | None
    n_samples: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"events": self.events, "time_to_short_s": self.time_to_short_s,
                "charge_before_short_mAh": self.charge_before_short_mAh,
                "areal_capacity_mAh_cm2": self.areal_capacity_mAh_cm2, "n_samples": self.n_samples,
                "notes": self.notes}


def short_report(t: np.ndarray, current: np.ndarray, voltage: np.ndarray, *, area_cm2: float | None = None,
                 settings: HardShortSettings = HardShortSettings(), batch: int = 1000) -> ShortReport:
    """Feed the run to a fresh HardShortDetector `batch` samples at a time. The detector
    latches as it does live: the first trip is the short."""
    if area_cm2 is not None and not (math.isfinite(area_cm2) and area_cm2 > 0):
        raise ValueError(f"area_cm2 must be positive, got {area_cm2}")
    t, current, voltage = (np.asarray(a, dtype=float) for a in (t, current, voltage))
    detector = HardShortDetector(settings)
    trip = None
    for start in range(0, t.size, batch):
        stop = start + batch
        trip = detector.update(t[start:stop], current[start:stop], voltage[start:stop])
        if trip is not None:
            break
    passed = np.abs(current) * sample_durations(t) / 3.6
    notes = []
    if trip is None:
        charge = float(passed.sum())
        events, time_to_short = [], None
        notes.append("no short found: the charge is that of the whole run")
    else:
        charge = float(passed[:trip.index].sum())
        time_to_short = float(trip.t_s)
        events = [{"t_s": float(trip.t_s), "kind": trip.kind, "sample_index": int(trip.index),
                   "detected_index": int(trip.detected_index), "message": trip.message, "evidence": trip.evidence}]
    areal = charge / area_cm2 if area_cm2 else None
    return ShortReport(events, time_to_short, charge, areal, int(t.size), notes)
