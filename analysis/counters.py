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


def stored_reference(provenance: dict) -> tuple[pd.DataFrame | None, str, list[int]]:
    """(per-cycle reference table, what it is, steps the counter saw no charge in) that an
    import stored in a run's provenance: the file's counter ("counter_cycles", named by
    "counter", with "counter_idle_steps") before the vendor's cycle table
    ("vendor_cycles"); (None, "", []) for a run with neither (the station's own runs)."""
    stored = provenance.get("import") or {}
    table = table_from_records(stored.get("counter_cycles"))
    if table is not None:
        return (table, f"the instrument's counter {stored.get('counter', '')}".rstrip(),
                [int(k) for k in stored.get("counter_idle_steps", [])])
    table = table_from_records(stored.get("vendor_cycles"))
    if table is not None:
        return table, "the vendor's cycle table", []
    return None, "", []


def reference_arguments(columns: dict, provenance: dict | None = None) -> dict:
    """cycle_summary's keyword arguments for the counter as reference, from a file's
    columns (a "dq_Ah" array, the counter's name under "counter") or from what an import
    stored in a run's `provenance`; the step column marks segments either way."""
    out = {"step": columns.get("step")}
    if columns.get("dq_Ah") is not None:
        return {**out, "dq_Ah": columns["dq_Ah"], "counter": str(columns.get("counter", ""))}
    reference, source, idle = stored_reference(provenance or {})
    if reference is None:
        return out
    out.update(reference=reference, reference_source=source)
    if idle and columns.get("step") is not None:
        out["idle"] = np.isin(columns["step"], idle)
    return out
