"""Per-cycle figures of a Li plating/stripping run (symmetric and asymmetric cells):
charge moved each way and the polarisation (overpotential) of each half cycle."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.segments import sample_durations, step_bounds

COLUMNS = ["cycle", "plate_mAh", "strip_mAh", "plate_overpotential_mV", "strip_overpotential_mV",
           "plate_end_mV", "strip_end_mV"]


def plate_strip_table(t: np.ndarray, current: np.ndarray, voltage: np.ndarray,
                      step: np.ndarray, cycle: np.ndarray) -> pd.DataFrame:
    """One row per cycle. Positive current plates (charge), negative strips.

    Overpotential is the mean |V| over the half cycle, end is |V| at its last sample,
    both in mV; charge is the integral of |I| dt in mAh, each sample credited over the
    interval segments.sample_durations gives it."""
    t, current, voltage = (np.asarray(a, dtype=float) for a in (t, current, voltage))
    if t.size == 0:
        return pd.DataFrame(columns=COLUMNS)
    starts, ends = step_bounds(step)
    charge = np.abs(current) * sample_durations(t, current, step) / 3.6       # A s -> mAh
    q = np.add.reduceat(charge, starts)
    mean_abs_v = np.add.reduceat(np.abs(voltage), starts) / (ends - starts)
    end_abs_v = np.abs(voltage[ends - 1])
    sign = np.sign(np.add.reduceat(current, starts))
    cyc = np.asarray(cycle)[starts]
    steps = pd.DataFrame({"cycle": cyc, "sign": sign, "q": q, "mean": mean_abs_v * 1e3, "end": end_abs_v * 1e3})
    steps = steps[steps.sign != 0]
    plate = steps[steps.sign > 0].groupby("cycle").agg(plate_mAh=("q", "sum"), plate_overpotential_mV=("mean", "mean"), plate_end_mV=("end", "last"))
    strip = steps[steps.sign < 0].groupby("cycle").agg(strip_mAh=("q", "sum"), strip_overpotential_mV=("mean", "mean"), strip_end_mV=("end", "last"))
    table = plate.join(strip, how="outer").reset_index()
    return table.reindex(columns=COLUMNS)
