"""Short-circuit analysis of a finished run: the live detectors of analysis/shorts.py
replayed over the whole record in acquisition-sized batches, so the verdict offline
is the one the run engine reached (or would have reached) live. Reports the time to
short, the areal capacity passed before it, and the detector's evidence.

The caller passes the detectors the run engine ran on the cell, with the settings the run
stored (e.g. a hard-short detector for Li | Li cells; for full cells a soft-short one,
which needs the build's theoretical capacity); without them the hard-short detector is
replayed."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
    detectors: list[str] = field(default_factory=list)   # kinds replayed, in the engine's order
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"events": self.events, "detectors": self.detectors, "time_to_short_s": self.time_to_short_s,
                "charge_before_short_mAh": self.charge_before_short_mAh,
                "areal_capacity_mAh_cm2": self.areal_capacity_mAh_cm2, "n_samples": self.n_samples,
                "notes": self.notes}


def short_report(t: np.ndarray, current: np.ndarray, voltage: np.ndarray, *, area_cm2: float | None = None,
                 detectors: Sequence | None = None, settings: HardShortSettings = HardShortSettings(),
                 batch: int = 1000, progress: Callable[[float], None] | None = None) -> ShortReport:
    """Feed the run to fresh detectors (objects with `kind` and `update(t, i, v)`, as in
    analysis/shorts.py; default one HardShortDetector(settings)) `batch` samples at a
    time. As in the run engine, the detectors see each batch in order and the first trip
    ends the run: it is the short. progress(fraction done) is called every few batches
    (a caller may raise from it to stop)."""
    if area_cm2 is not None and not (math.isfinite(area_cm2) and area_cm2 > 0):
        raise ValueError(f"area_cm2 must be positive, got {area_cm2}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1 sample, got {batch}")
    t, current, voltage = (np.asarray(a, dtype=float) for a in (t, current, voltage))
    detectors = [HardShortDetector(settings)] if detectors is None else list(detectors)
    trip = None
    for n, start in enumerate(range(0, t.size if detectors else 0, batch)):
        if progress is not None and n % 50 == 0:
            progress(start / t.size)
        stop = start + batch
        trip = next((trip for d in detectors if (trip := d.update(t[start:stop], current[start:stop],
                                                                   voltage[start:stop]))), None)
        if trip is not None:
            break
    passed = np.abs(current) * sample_durations(t) / 3.6
    notes = [] if detectors else ["no detector applies to this cell: nothing was replayed"]
    if trip is None:
        charge = float(passed.sum())
        events, time_to_short = [], None
        if detectors:
            notes.append("no short found: the charge is that of the whole run")
    else:
        charge = float(passed[:trip.index].sum())
        time_to_short = float(trip.t_s)
        events = [{"t_s": float(trip.t_s), "kind": trip.kind, "sample_index": int(trip.index),
                   "detected_index": int(trip.detected_index), "message": trip.message, "evidence": trip.evidence}]
    areal = charge / area_cm2 if area_cm2 else None
    return ShortReport(events, time_to_short, charge, areal, int(t.size), [d.kind for d in detectors], notes)
