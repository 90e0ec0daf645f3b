"""What the benchmark scripts share: the median wall time of a few repeats, and the JSON
line benchmarks/run_all.py collects (figure, value, unit, baseline, ratio, goal)."""
from __future__ import annotations

import json
import statistics
import time


def median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(figure: str, value: float, unit: str, baseline: float | None = None, goal: str = "") -> None:
    print(json.dumps({"figure": figure, "value": value, "unit": unit, "baseline": baseline,
                      "ratio": None if baseline is None else value / baseline, "goal": goal}))
