"""The live cycle tally credits charge by the analysis's rule (segments.sample_durations)
whatever the batches: a sparse rest is not counted at the next step's current, and a
stream that begins late does not count from t = 0."""
from __future__ import annotations

import numpy as np
import pytest

from acquisition.cycle_tally import CycleTally
from notebook import empty_samples


def record(t0: float = 0.0) -> np.ndarray:
    """1 mA for 1 h (10 s readings), a 6900 s rest read every 600 s (its last 300 s
    unread), -0.8 mA for 1 h (10 s readings): 1 mAh in, 0.8 mAh out, cycle 1."""
    parts = [(1e-3, 3600.0, 10.0), (0.0, 6900.0, 600.0), (-0.8e-3, 3600.0, 10.0)]
    t, i, step, start = [], [], [], t0
    for k, (amps, duration, interval) in enumerate(parts):
        n = int(duration // interval)
        t.append(start + interval * np.arange(1, n + 1))
        i.append(np.full(n, amps))
        step.append(np.full(n, k))
        start += duration
    data = empty_samples(sum(map(len, t)))
    data["t"], data["current"], data["step"] = np.concatenate(t), np.concatenate(i), np.concatenate(step)
    data["voltage"], data["cycle"] = 3.7, 1
    return data


@pytest.mark.parametrize("cuts", [(), (360,), (360, 371), (371, 372), (1, 2, 3, 370, 371)])
def test_tally_is_exact_for_any_batches(cuts):
    data = record()
    tally = CycleTally()
    for a, b in zip((0, *cuts), (*cuts, data.size)):
        tally.extend(data[a:b])
    figures = tally.figures(1)
    assert figures.charge_mAh == pytest.approx(1.0, rel=1e-12)
    # the old rule gave the first discharge reading the 300 s unread rest plus its own 10 s
    assert figures.discharge_mAh == pytest.approx(0.8, rel=1e-12)


def test_a_stream_that_begins_late_is_not_counted_from_zero():
    data = record(t0=50_000.0)
    tally = CycleTally()
    tally.extend(data[:1])
    tally.extend(data[1:])
    assert tally.figures(1).charge_mAh == pytest.approx(1.0, rel=1e-12)
