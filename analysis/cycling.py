"""Per-cycle figures of a cycling run (DOMAIN.md, "Formulas the analysis needs"):
charge and discharge capacity (mAh, mAh/g, mAh/cm2), energy (Wh, Wh/kg, Wh/L),
average voltages, Coulombic efficiency under an explicit convention, capacity
retention and a rate-capability table.

Everything is a handful of vectorised passes over the sample arrays (np.bincount by
cycle and direction), so a 10 M-sample run summarises in well under a second.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import counters
from analysis.segments import current_direction, derive_cycles, half_cycle_labels, sample_durations, segment_starts

# convention -> (direction of the half cycle that opens a cycle, CE numerator, CE denominator)
CE_CONVENTIONS = {
    # cathode-limited full cell: charge, then discharge; CE = Q_dis(n) / Q_chg(n)
    "discharge/charge": (+1, "discharge", "charge"),
    # anode half cell or Li-stripping-first cell: discharge, then charge; CE = Q_chg(n) / Q_dis(n)
    "charge/discharge": (-1, "charge", "discharge"),
}

CYCLE_COLUMNS = [
    "cycle", "charge_mAh", "discharge_mAh", "charge_mAh_g", "discharge_mAh_g", "charge_mAh_cm2",
    "discharge_mAh_cm2", "ce", "retention", "charge_Wh", "discharge_Wh", "charge_Wh_kg", "discharge_Wh_kg",
    "charge_Wh_L", "discharge_Wh_L", "charge_V_avg", "discharge_V_avg", "charge_current_mA",
    "discharge_current_mA", "charge_time_s", "discharge_time_s",
]
RATE_COLUMNS = ["first_cycle", "last_cycle", "n_cycles", "current_mA", "current_mA_cm2", "c_rate",
                "capacity_mAh", "capacity_mAh_g", "capacity_mAh_cm2"]


@dataclass(frozen=True)
class CellBasis:
    """What a file or a build tells about the cell, to turn mAh and Wh into specific
    figures. None is unknown (never 0 or 1.0 in its place): the columns that need it are
    NaN in the table and left out of to_dict()."""
    active_mass_mg: float | None = None      # cathode (or working electrode) active material
    area_cm2: float | None = None
    stack_mass_mg: float | None = None       # whole stack, for Wh/kg
    stack_thickness_um: float | None = None  # whole stack, for Wh/L (with area_cm2)
    one_c_mA: float | None = None            # 1C current, for C-rates in the rate table

    def __post_init__(self) -> None:
        for name in ("active_mass_mg", "area_cm2", "stack_mass_mg", "stack_thickness_um", "one_c_mA"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")

    def missing(self) -> dict[str, str]:
        """Unknown figure -> 'area unknown: no mAh/cm² or mA/cm²' (which columns it
        withholds), for a note; a caller adds how to give it."""
        out = {}
        for name, label, withheld in (("active_mass_mg", "active mass", "mAh/g"),
                                      ("area_cm2", "area", "mAh/cm², mA/cm² or Wh/L"),
                                      ("stack_mass_mg", "stack mass", "Wh/kg"),
                                      ("stack_thickness_um", "stack thickness", "Wh/L")):
            if getattr(self, name) is None:
                out[name] = f"{label} unknown: no {withheld}"
        return out


@dataclass
class CyclingSummary:
    cycles: pd.DataFrame
    ce_convention: str
    average_ce: float            # mean CE over cycles ce_from_cycle..N with both halves
    ce_from_cycle: int
    retention: float             # delivered capacity of the last cycle / reference cycle
    reference_cycle: int
    rate_table: pd.DataFrame
    basis: CellBasis
    notes: list[str] = field(default_factory=list)
    dqdv_peaks: list[dict] | None = None     # filled by a caller that asks for dQ/dV (dqdv.py)
    warnings: list[str] = field(default_factory=list)
    # per cycle: the reference (counter or vendor table) against the integrated current (counters.compare)
    counter_check: pd.DataFrame | None = None

    @property
    def delivered(self) -> str:
        """The half cycle whose capacity the cell delivers (CE numerator)."""
        return CE_CONVENTIONS[self.ce_convention][1]

    def to_dict(self) -> dict:
        """JSON-ready: NaN becomes None; columns the basis cannot fill are left out."""
        unknown = set()
        if self.basis.active_mass_mg is None:
            unknown |= {"charge_mAh_g", "discharge_mAh_g", "capacity_mAh_g"}
        if self.basis.area_cm2 is None:
            unknown |= {"charge_mAh_cm2", "discharge_mAh_cm2", "current_mA_cm2", "capacity_mAh_cm2"}
        if self.basis.stack_mass_mg is None:
            unknown |= {"charge_Wh_kg", "discharge_Wh_kg"}
        if self.basis.stack_thickness_um is None or self.basis.area_cm2 is None:
            unknown |= {"charge_Wh_L", "discharge_Wh_L"}
        if self.basis.one_c_mA is None:
            unknown |= {"c_rate"}
        return {
            "cycles": _records(self.cycles, unknown),
            "average_ce": _json_float(self.average_ce),
            "retention": _json_float(self.retention),
            "ce_convention": self.ce_convention,
            "ce_average_from_cycle": self.ce_from_cycle,
            "retention_reference_cycle": self.reference_cycle,
            "rate_table": _records(self.rate_table, unknown),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            **({"counter_check": _records(self.counter_check, set())} if self.counter_check is not None else {}),
            **({"dqdv_peaks": self.dqdv_peaks} if self.dqdv_peaks is not None else {}),
        }


def _json_float(value) -> float | int | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return int(value) if isinstance(value, (int, np.integer)) else float(value)


def _records(frame: pd.DataFrame, drop: set[str]) -> list[dict]:
    columns = [c for c in frame.columns if c not in drop]
    return [{c: _json_float(v) for c, v in zip(columns, row)} for row in frame[columns].itertuples(index=False)]


def label_cycles(current: np.ndarray, cycle: np.ndarray | None = None, ce_convention: str = "discharge/charge",
                 min_current_a: float = 0.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(cycle, direction, notes) per sample. The given cycle column is used unless it is
    missing or constant over several charge/discharge pairs (a cycler that logs cycle 1
    throughout, as in a rate test), in which case cycles follow the convention."""
    if ce_convention not in CE_CONVENTIONS:
        raise ValueError(f"unknown CE convention {ce_convention!r}; use one of {', '.join(CE_CONVENTIONS)}")
    current = np.asarray(current, dtype=float)
    notes = []
    if cycle is not None:
        cycle = np.asarray(cycle)
        if cycle.shape != current.shape:
            raise ValueError(f"cycle has {cycle.size} values for {current.size} samples")
        if cycle.size == 0 or cycle.min() != cycle.max():
            return cycle, current_direction(current, min_current_a), notes
    direction, half = half_cycle_labels(current, min_current_a)
    if cycle is not None:
        if half.max() < 2:
            return cycle, direction, notes
        notes.append("the cycle column is constant; cycles were numbered from the current's sign changes")
    else:
        notes.append("no cycle column; cycles were numbered from the current's sign changes")
    return derive_cycles(direction, half, CE_CONVENTIONS[ce_convention][0]), direction, notes


def cycle_summary(t: np.ndarray, current: np.ndarray, voltage: np.ndarray, cycle: np.ndarray | None = None, *,
                  basis: CellBasis = CellBasis(), ce_convention: str = "discharge/charge",
                  reference_cycle: int | None = None, ce_from_cycle: int = 2, min_current_a: float = 0.0,
                  rate_tolerance: float = 0.05, step: np.ndarray | None = None, dq_Ah: np.ndarray | None = None,
                  counter: str = "", reference: pd.DataFrame | None = None, reference_source: str = "",
                  counter_segments: list[list[float]] | None = None) -> CyclingSummary:
    """Per-cycle table of a run. Current in A, positive = charge (BDF); time in s;
    voltage in V. Capacity is the integral of |I| dt, energy of V |I| dt, each sample's
    current credited over the interval segments.sample_durations gives it (the file's
    `step` marks segments too) at the mean voltage of that interval.

    Where the instrument counted the charge itself, that count is the reference: `dq_Ah`
    per sample (the counter named `counter`), the same counter kept per segment by an import
    (`counter_segments`: counters.counter_segments), or a per-cycle `reference` table (cycle,
    charge_mAh, discharge_mAh: a stored counter table or the vendor's cycle table, named
    by `reference_source`). The capacities (and CE, retention) then use it; a note says
    which was used and how far the integrated current is from it, a warning above 0.5 %.
    Segments over which the counter saw no charge pass count as rest, whatever the current
    column says (an EIS step's mean AC current: counters.idle_samples).

    reference_cycle (default: the first with a delivered capacity) is the base of
    retention; average CE runs over cycles ce_from_cycle..N that have both halves."""
    t = np.asarray(t, dtype=float)
    current = np.asarray(current, dtype=float)
    voltage = np.asarray(voltage, dtype=float)
    if not (t.shape == current.shape == voltage.shape):
        raise ValueError(f"t, current and voltage differ in length ({t.size}, {current.size}, {voltage.size})")
    dt = sample_durations(t, current, step, min_current_a)
    if t.size and dt.min() < 0:
        k = int(np.argmin(dt))
        raise ValueError(f"time goes backwards at sample {k} ({t[k - 1]:g} s -> {t[k]:g} s)")
    labels = current
    moved = dq_Ah
    if counter_segments is not None:
        moved = np.zeros(t.size)
        moved[[int(seg[0]) for seg in counter_segments if 0 <= int(seg[0]) < t.size]] = 1.0
    if moved is not None:
        # where the counter saw no charge pass the cell rested, whatever the current column
        # says (an EIS step's mean AC current): such segments must not open half cycles
        labels = np.where(counters.idle_samples(current, step, moved), 0.0, current)
    cyc, direction, notes = label_cycles(labels, cycle, ce_convention, min_current_a)
    warnings: list[str] = []
    if t.size == 0:
        return CyclingSummary(pd.DataFrame(columns=CYCLE_COLUMNS), ce_convention, math.nan, ce_from_cycle,
                              math.nan, reference_cycle or 1, pd.DataFrame(columns=RATE_COLUMNS), basis, notes)

    first = int(cyc.min())
    n = int(cyc.max()) - first + 1
    # bin = 2 x cycle + (1 if discharging): one bincount per figure for all cycles at once
    bins = np.subtract(cyc, first, dtype=np.intp)
    bins *= 2
    bins += direction < 0
    charge_as = np.where(direction != 0, np.abs(current), 0.0)  # a rest passes no charge
    charge_as *= dt                                             # A s per sample
    # the voltage over a sample's interval: the mean of its two ends (trapezoid rule); a
    # segment's first sample takes its own, the one before was under another current
    energy = np.empty_like(voltage)
    energy[0] = 2.0 * voltage[0]
    np.add(voltage[1:], voltage[:-1], out=energy[1:])
    opens = segment_starts(t.size, current, step, min_current_a)
    energy[opens] = 2.0 * voltage[opens]
    energy *= charge_as
    energy *= 0.5                                               # V A s per sample
    q = np.bincount(bins, weights=charge_as, minlength=2 * n).reshape(n, 2) / 3.6       # mAh
    e = np.bincount(bins, weights=energy, minlength=2 * n).reshape(n, 2) / 3600.0        # Wh
    if min_current_a > 0:
        dt = np.where(direction != 0, dt, 0.0)
    busy = np.bincount(bins, weights=dt, minlength=2 * n).reshape(n, 2)                 # s under current
    if min_current_a == 0:
        # rest samples (I == 0) fall in the charge bin with no charge: take their time out
        busy[:, 0] -= np.bincount(bins, weights=dt * (direction == 0), minlength=2 * n).reshape(n, 2)[:, 0]
    present = busy.sum(axis=1) > 0            # a cycle of nothing but rest has no figures
    numbers = np.arange(first, first + n)[present]
    if numbers.size == 0:
        notes.append("no current flowed in this record (rest only): there are no cycles to summarise")
        return CyclingSummary(pd.DataFrame(columns=CYCLE_COLUMNS), ce_convention, math.nan, ce_from_cycle,
                              math.nan, reference_cycle or 1, pd.DataFrame(columns=RATE_COLUMNS), basis, notes)
    q, e, busy = q[present], e[present], busy[present]
    with np.errstate(divide="ignore", invalid="ignore"):
        # a half cycle that never happened is NaN, not 0 (an unfinished last cycle)
        q = np.where(busy > 0, q, np.nan)
        e = np.where(busy > 0, e, np.nan)
        v_avg = e * 1000.0 / q
        i_avg = q * 3600.0 / busy                              # mA
    check = None
    if counter_segments is not None:
        # an imported run's counter, kept per segment: summed over the cycles numbered here
        reference = counters.segment_reference(counter_segments, cyc)
        reference_source = f"the instrument's counter {counter}".rstrip()
    elif reference is not None and dq_Ah is None and (cycle is None or not np.array_equal(cyc, cycle)):
        # the table counts the file's cycles; these were numbered here, so they do not match
        notes.append(f"{reference_source} counts the file's cycles, which were renumbered here: "
                     "the capacities are the integrated current")
        reference = None
    if dq_Ah is not None or reference is not None:
        q, check = _use_reference(q, numbers, cyc, dq_Ah, counter, reference, reference_source, notes, warnings)
    table = pd.DataFrame({"cycle": numbers, "charge_mAh": q[:, 0], "discharge_mAh": q[:, 1]})
    mass_g = basis.active_mass_mg / 1000.0 if basis.active_mass_mg else math.nan
    area = basis.area_cm2 or math.nan
    stack_kg = basis.stack_mass_mg * 1e-6 if basis.stack_mass_mg else math.nan
    volume_l = area * basis.stack_thickness_um * 1e-7 if basis.stack_thickness_um else math.nan  # cm2 x um -> L
    for k, name in enumerate(("charge", "discharge")):
        table[f"{name}_mAh_g"] = q[:, k] / mass_g
        table[f"{name}_mAh_cm2"] = q[:, k] / area
    _, numerator, denominator = CE_CONVENTIONS[ce_convention]
    with np.errstate(divide="ignore", invalid="ignore"):
        table["ce"] = table[f"{numerator}_mAh"] / table[f"{denominator}_mAh"]
    delivered = table[f"{numerator}_mAh"].to_numpy()
    if reference_cycle is None:
        has = np.flatnonzero(np.isfinite(delivered) & (delivered > 0))
        reference_cycle = int(numbers[has[0]]) if has.size else int(numbers[0])
    ref_rows = np.flatnonzero(numbers == reference_cycle)
    ref_q = delivered[ref_rows[0]] if ref_rows.size else math.nan
    if not ref_rows.size or not ref_q > 0:
        notes.append(f"reference cycle {reference_cycle} has no {numerator} capacity: retention is undefined")
        ref_q = math.nan
    table["retention"] = delivered / ref_q
    for k, name in enumerate(("charge", "discharge")):
        table[f"{name}_Wh"] = e[:, k]
        table[f"{name}_Wh_kg"] = e[:, k] / stack_kg
        table[f"{name}_Wh_L"] = e[:, k] / volume_l
    for k, name in enumerate(("charge", "discharge")):
        table[f"{name}_V_avg"] = v_avg[:, k]
    for k, name in enumerate(("charge", "discharge")):
        table[f"{name}_current_mA"] = i_avg[:, k]
    for k, name in enumerate(("charge", "discharge")):
        table[f"{name}_time_s"] = np.where(busy[:, k] > 0, busy[:, k], np.nan)
    table = table[CYCLE_COLUMNS]

    ce = table["ce"].to_numpy()
    use = (numbers >= ce_from_cycle) & np.isfinite(ce)
    average_ce = float(ce[use].mean()) if use.any() else math.nan
    finite = np.flatnonzero(np.isfinite(table["retention"].to_numpy()))
    retention = float(table["retention"].iloc[finite[-1]]) if finite.size else math.nan
    rates = rate_table(table, numerator, basis, rate_tolerance)
    return CyclingSummary(table, ce_convention, average_ce, ce_from_cycle, retention, reference_cycle, rates,
                          basis, notes, warnings=warnings, counter_check=check)


def _use_reference(q: np.ndarray, numbers: np.ndarray, cyc: np.ndarray, dq_Ah: np.ndarray | None, counter: str,
                   reference: pd.DataFrame | None, source: str, notes: list[str],
                   warnings: list[str]) -> tuple[np.ndarray, pd.DataFrame | None]:
    """q (mAh per cycle and half, NaN for a half that never ran) with the reference's
    figures put in for the cycles it has, and the comparison; the note and any warning
    go on `notes` and `warnings`."""
    if dq_Ah is not None:
        dq_Ah = np.asarray(dq_Ah, dtype=float)
        if dq_Ah.shape != cyc.shape:
            raise ValueError(f"dq_Ah has {dq_Ah.size} values for {cyc.size} samples")
        reference = counters.per_cycle(dq_Ah, cyc)
        source = f"the instrument's counter {counter}".rstrip()
    integrated = pd.DataFrame({"cycle": numbers, "charge_mAh": np.nan_to_num(q[:, 0]),
                               "discharge_mAh": np.nan_to_num(q[:, 1])})
    reference = reference[reference["cycle"].isin(numbers)]
    if reference.empty:
        notes.append(f"{source} has none of these cycles: the capacities are the integrated current")
        return q, None
    check = counters.compare(reference.reset_index(drop=True), integrated)
    note, warning = counters.describe(source, check)
    notes.append(note)
    if warning:
        warnings.append(warning)
    rows = np.searchsorted(numbers, check["cycle"].to_numpy())
    out = q.copy()
    for k, way in enumerate(("charge", "discharge")):
        ref = check[f"{way}_mAh_counter"].to_numpy(float)
        # a half the current never ran stays NaN unless the counter saw charge pass in it
        out[rows, k] = np.where(np.isnan(q[rows, k]) & ~(ref > 0), np.nan, ref)
    return out, check


def rate_table(cycles: pd.DataFrame, delivered: str, basis: CellBasis, tolerance: float = 0.05) -> pd.DataFrame:
    """Capacity per current group: consecutive cycles whose delivered-half mean current
    stays within `tolerance` (relative) of the group's first cycle form one group."""
    current = cycles[f"{delivered}_current_mA"].to_numpy()
    capacity = cycles[f"{delivered}_mAh"].to_numpy()
    numbers = cycles["cycle"].to_numpy()
    rows = []
    group: list[int] = []
    for k in np.flatnonzero(np.isfinite(current) & (current > 0)):
        if group and abs(current[k] / current[group[0]] - 1.0) > tolerance:
            rows.append(group)
            group = []
        group.append(int(k))
    if group:
        rows.append(group)
    area = basis.area_cm2 or math.nan
    mass_g = basis.active_mass_mg / 1000.0 if basis.active_mass_mg else math.nan
    one_c = basis.one_c_mA or math.nan
    out = []
    for g in rows:
        i_ma = float(np.mean(current[g]))
        q = float(np.mean(capacity[g]))
        out.append((int(numbers[g[0]]), int(numbers[g[-1]]), len(g), i_ma, i_ma / area, i_ma / one_c,
                    q, q / mass_g, q / area))
    return pd.DataFrame(out, columns=RATE_COLUMNS)
