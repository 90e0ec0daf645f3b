"""Three-electrode cells: anode and cathode potentials against the Li reference
electrode, and their overpotentials per current step and per rate (Fig 4d: the Li
anode stays within 10 mV of the reference at 0.8 mA/cm2 with a Ag-C interlayer).

The stream's `ref` channel is the working electrode against the reference. With the
cathode as working electrode (the usual wiring), E_cathode = ref and, since the cell
voltage is E_cathode - E_anode, E_anode = ref - V_cell.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

STEP_COLUMNS = ["step", "t_start_s", "t_end_s", "direction", "current_mA", "current_mA_cm2", "anode_mean_mV",
                "anode_max_abs_mV", "anode_overpotential_mV", "cathode_mean_V", "cathode_overpotential_mV"]
RATE_COLUMNS = ["direction", "current_mA", "current_mA_cm2", "n_steps", "anode_overpotential_mV",
                "anode_max_abs_mV", "cathode_overpotential_mV"]


@dataclass
class ThreeElectrodeResult:
    potentials: pd.DataFrame      # t_s, anode_V, cathode_V per sample
    steps: pd.DataFrame
    rates: pd.DataFrame
    working: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        def records(frame):
            return [{c: (v if isinstance(v, str) else None if not math.isfinite(v) else int(v) if c in ("step", "n_steps")
                         else float(v)) for c, v in zip(frame.columns, row)} for row in frame.itertuples(index=False)]
        return {"working_electrode": self.working, "steps": records(self.steps), "rates": records(self.rates),
                "notes": self.notes}


def guess_working(ref: np.ndarray, threshold_v: float = 1.0) -> str:
    """Which electrode the reference channel measures, from its level: a Li anode sits
    within millivolts of a Li reference, an NMC cathode at 2.5-4.5 V. 'anode' when the
    median |ref| is below threshold_v, else 'cathode'."""
    ref = np.asarray(ref, dtype=float)
    finite = ref[np.isfinite(ref)]
    if finite.size == 0:
        raise ValueError("the run has no reference-electrode potential (ref channel is empty)")
    return "anode" if float(np.median(np.abs(finite))) < threshold_v else "cathode"


def electrode_potentials(voltage: np.ndarray, ref: np.ndarray, working: str = "cathode") -> tuple[np.ndarray, np.ndarray]:
    """(anode_V, cathode_V) against the reference electrode."""
    voltage, ref = np.asarray(voltage, dtype=float), np.asarray(ref, dtype=float)
    if working == "cathode":
        return ref - voltage, ref
    if working == "anode":
        return ref, ref + voltage
    raise ValueError(f"working electrode must be 'cathode' or 'anode', got {working!r}")


def three_electrode(t: np.ndarray, current: np.ndarray, voltage: np.ndarray, ref: np.ndarray, *,
                    area_cm2: float | None = None, working: str = "cathode", min_current_a: float = 0.0,
                    rate_tolerance: float = 0.05) -> ThreeElectrodeResult:
    """Per constant-current step (runs of equal current within rate_tolerance): mean
    and largest |anode potential|, mean cathode potential, and each electrode's
    overpotential against its potential at the end of the rest before the step (the
    Li anode against 0 V when no rest precedes it). Rates group steps of equal
    direction and current."""
    t, current = np.asarray(t, dtype=float), np.asarray(current, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if np.isnan(ref).all():
        raise ValueError("the run has no reference-electrode potential (ref channel is empty)")
    anode, cathode = electrode_potentials(voltage, ref, working)
    notes = []
    area = area_cm2 or math.nan
    active = np.abs(current) > min_current_a
    # a step ends where the current stops, flips, or changes by more than the tolerance
    change = np.abs(np.diff(current)) > rate_tolerance * np.maximum(np.abs(current[:-1]), min_current_a)
    breaks = np.flatnonzero(change | (np.diff(active.astype(np.int8)) != 0)) + 1
    bounds = np.concatenate(([0], breaks, [t.size]))
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b <= a or not active[a]:
            continue
        i_ma = float(np.mean(current[a:b])) * 1e3
        rested = a > 0 and not active[a - 1]
        anode_rest = anode[a - 1] if rested else 0.0
        cathode_rest = cathode[a - 1] if rested else math.nan
        if not rested and not any("no rest" in n for n in notes):
            notes.append("a step without a rest before it: the anode is referred to 0 V, the cathode overpotential is unknown")
        a_mean = float(np.nanmean(anode[a:b]))
        rows.append((len(rows) + 1, t[a], t[b - 1], "charge" if i_ma > 0 else "discharge", i_ma, i_ma / area,
                     a_mean * 1e3, float(np.nanmax(np.abs(anode[a:b]))) * 1e3, (a_mean - anode_rest) * 1e3,
                     float(np.nanmean(cathode[a:b])), (float(np.nanmean(cathode[a:b])) - cathode_rest) * 1e3))
    steps = pd.DataFrame(rows, columns=STEP_COLUMNS)
    rates = []
    for direction, part in steps.groupby("direction", sort=False):
        order = part.sort_values("current_mA", key=np.abs)
        group = []
        for _, row in order.iterrows():
            if group and abs(row.current_mA / group[0].current_mA - 1) > rate_tolerance:
                rates.append(_rate_row(direction, group))
                group = []
            group.append(row)
        if group:
            rates.append(_rate_row(direction, group))
    potentials = pd.DataFrame({"t_s": t, "anode_V": anode, "cathode_V": cathode})
    return ThreeElectrodeResult(potentials, steps, pd.DataFrame(rates, columns=RATE_COLUMNS), working, notes)


def _rate_row(direction: str, group: list) -> tuple:
    frame = pd.DataFrame(group)
    return (direction, frame.current_mA.mean(), frame.current_mA_cm2.mean(), len(frame),
            frame.anode_overpotential_mV.mean(), frame.anode_max_abs_mV.max(), frame.cathode_overpotential_mV.mean())
