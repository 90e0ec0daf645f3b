"""The instrument's own charge counter as the reference for capacities, and the check of
integrated current against it.

Cyclers count charge in hardware (EC-Lab `dq/mA.h` and `(Q-Qo)/mA.h`, Arbin
`Charge_Capacity`/`Discharge_Capacity`, Neware's step capacity, ...). Readers turn
whatever form the file has into `dq_Ah`, the signed charge since the previous sample
(+ = charge; notebook.formats.counters); here it is summed per cycle (or a vendor's
cycle table is taken as it is), compared with the integral of the current, and described:
which figure was used and how far the other strays. Plain numpy and pandas.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.segments import sample_durations, segment_starts

TOLERANCE = 0.005      # above 0.5 % the counter and the integrated current disagree: warn
CYCLE_COLUMNS = ["cycle", "charge_mAh", "discharge_mAh"]


def per_cycle(charge_ah: np.ndarray, cycle: np.ndarray) -> pd.DataFrame:
    """Charge and discharge (mAh) per cycle from signed charge per sample: what went in
    (+) and what came out (-), each summed over the cycle's samples."""
    charge_ah = np.asarray(charge_ah, dtype=float)
    cycle = np.asarray(cycle, dtype=np.int64)
    if charge_ah.shape != cycle.shape:
        raise ValueError(f"charge has {charge_ah.size} values for {cycle.size} cycle numbers")
    if cycle.size == 0:
        return pd.DataFrame(columns=CYCLE_COLUMNS)
    numbers, index = np.unique(cycle, return_inverse=True)
    q_in = np.bincount(index, weights=np.where(charge_ah > 0, charge_ah, 0.0), minlength=numbers.size)
    q_out = np.bincount(index, weights=np.where(charge_ah < 0, -charge_ah, 0.0), minlength=numbers.size)
    return pd.DataFrame({"cycle": numbers, "charge_mAh": q_in * 1e3, "discharge_mAh": q_out * 1e3})


def table_from_records(records: list[dict] | pd.DataFrame | None) -> pd.DataFrame | None:
    """A per-cycle table (cycle, charge_mAh, discharge_mAh) from stored records (the
    run's provenance) or a vendor table; None when there is nothing usable."""
    if records is None:
        return None
    frame = pd.DataFrame(records)
    if frame.empty or not set(CYCLE_COLUMNS) <= set(frame.columns):
        return None
    frame = frame[CYCLE_COLUMNS].copy()
    frame["cycle"] = frame["cycle"].astype(np.int64)
    return frame


def compare(reference: pd.DataFrame, integrated: pd.DataFrame) -> pd.DataFrame:
    """Per cycle of the reference: both figures each way and their relative difference
    (integrated / reference - 1; NaN where the reference passed no charge that way)."""
    both = reference.merge(integrated, on="cycle", how="left", suffixes=("_counter", "_integrated"))
    for way in ("charge", "discharge"):
        ref, ours = both[f"{way}_mAh_counter"].to_numpy(float), both[f"{way}_mAh_integrated"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            both[f"{way}_diff"] = np.where(ref > 0, ours / ref - 1.0, np.nan)
    return both


def differences(check: pd.DataFrame, min_share: float = 0.01) -> np.ndarray:
    """Per cycle of `check` (compare()), the larger |relative difference| of its two
    halves, leaving out halves that passed under `min_share` of the largest half (a stray
    microamp-hour in an EIS step would otherwise dominate); NaN where none is left."""
    if check.empty:
        return np.zeros(0)
    top = max(float(np.nanmax(check[f"{w}_mAh_counter"].to_numpy(float))) for w in ("charge", "discharge"))
    out = np.full(len(check), np.nan)
    for way in ("charge", "discharge"):
        ref = check[f"{way}_mAh_counter"].to_numpy(float)
        diff = np.abs(check[f"{way}_diff"].to_numpy(float))
        diff[~(ref >= min_share * top)] = np.nan
        out = np.fmax(out, diff)
    return out


def worst_difference(check: pd.DataFrame) -> float:
    """The largest of differences(check); NaN when nothing was compared."""
    diff = differences(check)
    return float(np.nanmax(diff)) if np.isfinite(diff).any() else math.nan


def _percent(fraction: float) -> str:
    return "0.01" if fraction * 100 < 0.01 else f"{fraction * 100:.2g}"


def describe(source: str, check: pd.DataFrame, tolerance: float = TOLERANCE) -> tuple[str, str | None]:
    """(note, warning or None): which figure was used, and how far the integrated
    current strays from it (a warning above `tolerance`, naming the cycles)."""
    worst = worst_difference(check)
    if not math.isfinite(worst):
        return f"charge from {source}; no cycle passed enough charge to check the integrated current against it", None
    if worst <= tolerance:
        return f"charge from {source}; integrated current agrees within {_percent(worst)} %", None
    cycles = ", ".join(str(c) for c in check["cycle"].to_numpy()[np.nan_to_num(differences(check)) > tolerance][:8])
    return (f"charge from {source}; integrated current differs by up to {_percent(worst)} %",
            f"the integrated current differs from {source} by up to {_percent(worst)} % (over {tolerance * 100:g} %)"
            f" in cycle(s) {cycles}; the capacities use {source}")


def counter_segments(current: np.ndarray, step: np.ndarray | None, dq_ah: np.ndarray) -> list[list[float]]:
    """[first sample, Ah in, Ah out] for each segment (segments.segment_starts: a step, or a
    run of one current direction) in which the counter moved: what an import keeps of a
    counter. A half cycle never splits a segment, so the analysis sums these per cycle
    however it numbers cycles (segment_reference)."""
    dq_ah = np.asarray(dq_ah, dtype=float)
    if dq_ah.size == 0:
        return []
    starts = np.flatnonzero(segment_starts(dq_ah.size, current, step))
    q_in = np.add.reduceat(np.clip(dq_ah, 0.0, None), starts)
    q_out = np.add.reduceat(np.clip(-dq_ah, 0.0, None), starts)
    return [[int(first), float(a), float(b)] for first, a, b in zip(starts, q_in, q_out) if a or b]


def segment_reference(segments: list[list[float]], cycle: np.ndarray) -> pd.DataFrame:
    """Per-cycle charge and discharge (mAh) from counter_segments, each segment in the cycle
    its first sample is in."""
    cycle = np.asarray(cycle, dtype=np.int64)
    firsts = np.asarray([int(seg[0]) for seg in segments], dtype=np.int64)
    if firsts.size and (firsts.min() < 0 or firsts.max() >= cycle.size):
        raise ValueError("the stored counter does not fit this run's samples (they changed since the import)")
    of = cycle[firsts]
    numbers, index = np.unique(of, return_inverse=True)
    q_in = np.bincount(index, weights=[float(seg[1]) for seg in segments], minlength=numbers.size)
    q_out = np.bincount(index, weights=[float(seg[2]) for seg in segments], minlength=numbers.size)
    return pd.DataFrame({"cycle": numbers, "charge_mAh": q_in * 1e3, "discharge_mAh": q_out * 1e3})


def idle_samples(current: np.ndarray, step: np.ndarray | None, moved: np.ndarray) -> np.ndarray:
    """True at samples of segments through which current is recorded but the counter saw no
    charge pass at all (EIS steps, whose current column holds a mean AC current): rest.
    `moved` is the counter per sample (dq_Ah), or True at the first sample of each segment
    the counter moved in (counter_segments). A whole segment, never a single sample: a
    counter that moves in coarse steps (Landt's 0.1 mAh) reads no change at most samples
    that did pass charge."""
    current = np.asarray(current, dtype=float)
    n = current.size
    if n == 0:
        return np.zeros(0, dtype=bool)
    starts = np.flatnonzero(segment_starts(n, current, step))
    which = np.repeat(np.arange(starts.size), np.diff(np.append(starts, n)))
    counted = np.bincount(which, weights=np.abs(np.asarray(moved, dtype=float)), minlength=starts.size)
    flowing = np.bincount(which, weights=np.abs(current), minlength=starts.size)
    return ((counted == 0) & (flowing > 0))[which]


def reference_arguments(columns: dict, provenance: dict | None = None) -> dict:
    """cycle_summary's keyword arguments for the instrument's counter as the reference:
    a file's own "dq_Ah" (named by "counter"), or the counter an import kept per segment in
    a run's `provenance`, or else the vendor's cycle table; the step column marks segments
    either way. Only the step for a run with none of them."""
    out = {"step": columns.get("step")}
    if columns.get("dq_Ah") is not None:
        return {**out, "dq_Ah": columns["dq_Ah"], "counter": str(columns.get("counter", ""))}
    stored = (provenance or {}).get("import") or {}
    if stored.get("counter_segments") is not None:
        return {**out, "counter_segments": stored["counter_segments"], "counter": str(stored.get("counter", ""))}
    table = table_from_records(stored.get("vendor_cycles"))
    if table is not None:
        out.update(reference=table, reference_source="the vendor's cycle table")
    return out


def import_check(t: np.ndarray, current: np.ndarray, step: np.ndarray, cycle: np.ndarray,
                 dq_ah: np.ndarray | None, counter: str,
                 vendor: pd.DataFrame | None) -> tuple[dict, str | None]:
    """(what an import keeps in the run's provenance, warning or None). With the file's
    counter: "counter_segments" (the counter per segment, from which the analysis rebuilds
    it) and "counter_check" (per cycle of the file, both figures each way and the integrated
    current's relative difference); with only a vendor cycle table, "counter_check" against
    that. Segments the counter never moved in are rest here (idle_samples)."""
    if len(t) == 0 or (dq_ah is None and vendor is None):
        return {}, None
    current = np.asarray(current, dtype=float)
    charge = current * sample_durations(t, current, step) / 3600.0
    out: dict = {}
    if dq_ah is not None:
        charge[idle_samples(current, step, dq_ah)] = 0.0
        reference = per_cycle(dq_ah, cycle)
        out["counter_segments"] = counter_segments(current, step, dq_ah)
        source = f"the instrument's counter {counter}".rstrip()
    else:
        reference = table_from_records(vendor)
        if reference is None:
            return {}, None
        source = "the vendor's cycle table"
    check = compare(reference, per_cycle(charge, cycle))
    out["counter_check"] = check.to_dict("records")
    out["counter_source"] = source
    return out, describe(source, check)[1]
