"""Charge at import: the charge each imported step passed, and the file's own counter (or
vendor cycle table) against the integrated current, per cycle, for the run's provenance.

The notebook package may not import analysis (tests/test_boundaries.py), so the crediting
rule of analysis.segments.sample_durations is restated here; tests/notebook/
test_charge_check.py holds the two to the same answers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

TOLERANCE = 0.005      # as analysis.counters: above 0.5 % the import warns
MIN_SHARE = 0.01       # halves passing under 1 % of the largest half are not compared


def credited_durations(t: np.ndarray, current: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Seconds each sample's current is credited for (analysis.segments.sample_durations):
    the interval since the previous sample, except that a sample opening a segment (a new
    step, or a new direction: charge, discharge, rest) gets min(that gap, its segment's
    first interval), and the first sample min(t0, that interval)."""
    t = np.asarray(t, dtype=float)
    n = t.size
    if n == 0:
        return np.zeros(0)
    direction = np.sign(np.asarray(current, dtype=float))
    step = np.asarray(step)
    opens = np.ones(n, dtype=bool)
    opens[1:] = (step[1:] != step[:-1]) | (direction[1:] != direction[:-1])
    dt = np.empty(n)
    dt[1:] = np.diff(t)
    dt[0] = max(t[0], 0.0)
    first = np.flatnonzero(opens)
    second = first + 1
    has_own = second < n
    has_own[has_own] &= ~opens[second[has_own]]
    positive = dt[1:][dt[1:] > 0]
    own = np.full(first.size, float(np.median(positive)) if positive.size else 0.0)
    own[has_own] = dt[second[has_own]]
    gap = dt[first]
    dt[first] = np.where(gap < 0, gap, np.minimum(gap, own))
    return dt


def cycle_table(charge_ah: np.ndarray, cycle: np.ndarray) -> pd.DataFrame:
    """cycle, charge_mAh, discharge_mAh from signed charge per sample (+ = charge)."""
    charge_ah = np.asarray(charge_ah, dtype=float)
    numbers, index = np.unique(np.asarray(cycle, dtype=np.int64), return_inverse=True)
    q_in = np.bincount(index, weights=np.clip(charge_ah, 0.0, None), minlength=numbers.size)
    q_out = np.bincount(index, weights=np.clip(-charge_ah, 0.0, None), minlength=numbers.size)
    return pd.DataFrame({"cycle": numbers, "charge_mAh": q_in * 1e3, "discharge_mAh": q_out * 1e3})


def idle_steps(samples: np.ndarray, dq_ah: np.ndarray) -> list[int]:
    """Steps through which current is recorded but the counter saw no charge pass (EIS
    steps, whose current column holds a mean AC current): the analysis of the run treats
    them as rest, as it would with the counter at hand."""
    step = samples["step"]
    numbers, index = np.unique(step, return_inverse=True)
    moved = np.bincount(index, weights=np.abs(dq_ah), minlength=numbers.size)
    flowing = np.bincount(index, weights=np.abs(samples["current"]), minlength=numbers.size)
    return [int(k) for k in numbers[(moved == 0) & (flowing > 0)]]


def import_check(samples: np.ndarray, dq_ah: np.ndarray | None, counter: str,
                 vendor: pd.DataFrame | None) -> tuple[dict, str | None]:
    """(provenance entries, warning or None). With the file's counter: "counter_cycles"
    (its per-cycle table, by the samples' cycle) and "counter_check" (per cycle, the
    integrated current's relative difference from it each way); with only a vendor
    cycle table, "counter_check" against that. Samples over which the counter saw no
    charge pass are rest here, as in the analysis (an EIS step's mean AC current)."""
    if samples.size == 0 or (dq_ah is None and vendor is None):
        return {}, None
    current = samples["current"].astype(float)
    charge = current * credited_durations(samples["t"], current, samples["step"]) / 3600.0
    out = {}
    if dq_ah is not None:
        dq_ah = np.asarray(dq_ah, dtype=float)
        charge[dq_ah == 0.0] = 0.0
        reference = cycle_table(dq_ah, samples["cycle"])
        out["counter_cycles"] = reference.to_dict("records")
        out["counter_idle_steps"] = idle_steps(samples, dq_ah)
        source = f"the instrument's counter {counter}".rstrip()
    else:
        reference = vendor[["cycle", "charge_mAh", "discharge_mAh"]]
        source = "the vendor's cycle table"
    integrated = cycle_table(charge, samples["cycle"])
    both = reference.merge(integrated, on="cycle", how="inner", suffixes=("", "_integrated"))
    top = float(np.nanmax(both[["charge_mAh", "discharge_mAh"]].to_numpy(float), initial=0.0))
    check = {"cycle": both["cycle"].astype(int).tolist()}
    worst, where = 0.0, []
    for way in ("charge", "discharge"):
        ref, ours = both[f"{way}_mAh"].to_numpy(float), both[f"{way}_mAh_integrated"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.where(ref >= MIN_SHARE * top, ours / ref - 1.0, np.nan) if top > 0 else np.full(ref.size, np.nan)
        check[f"{way}_diff"] = [None if not np.isfinite(d) else float(d) for d in diff]
        over = np.abs(np.nan_to_num(diff)) > TOLERANCE
        where += both["cycle"].to_numpy()[over].tolist()
        if np.isfinite(diff).any():
            worst = max(worst, float(np.nanmax(np.abs(diff))))
    out["counter_check"] = [dict(zip(check, row)) for row in zip(*check.values())]
    out["counter_source"] = source
    if not where:
        return out, None
    cycles = ", ".join(str(c) for c in sorted(set(where))[:8])
    return out, (f"the integrated current differs from {source} by up to {worst * 100:.3g} % (over "
                 f"{TOLERANCE * 100:g} %) in cycle(s) {cycles}; capacities are taken from {source}")
