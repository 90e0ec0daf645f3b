"""Run by benchmarks/bench_analysis.py inside .venv-navani (navani needs numpy < 2 and
pandas < 3): time navani's cycle_summary on the run saved in the .npz given, after
putting it in navani's own table shape (not timed). Prints one JSON object."""
from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np
import pandas as pd
from navani import echem


def navani_frame(t, current, voltage) -> pd.DataFrame:
    """navani's columns: 'half cycle' (1-based runs of one current sign), 'state'
    (0 charge, 1 discharge), 'Capacity' (mAh, counted up within each half cycle)."""
    sign = np.sign(current)
    half = np.concatenate(([1], 1 + np.cumsum(sign[1:] != sign[:-1])))
    dq = np.abs(current) * np.diff(t, prepend=0.0) / 3.6
    capacity = pd.Series(dq).groupby(half).cumsum().to_numpy()
    return pd.DataFrame({"Time": t, "Current": current * 1e3, "Voltage": voltage, "half cycle": half,
                         "state": np.where(sign > 0, 0, 1), "Capacity": capacity})


def main() -> None:
    data = np.load(sys.argv[1])
    frame = navani_frame(data["t"], data["current"], data["voltage"])
    times = []
    for _ in range(3):
        copy = frame.copy()
        start = time.perf_counter()
        summary = echem.cycle_summary(copy)
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "cycles": int(len(summary)),
                      "discharge_mAh_cycle_1": float(summary["Discharge Capacity"].iloc[0])}))


if __name__ == "__main__":
    main()
