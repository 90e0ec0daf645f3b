"""Alarm policy: which detectors watch a run, chosen from what was built, with the
thresholds they run with (defaults per cell type, editable per run, stored in the
run's provenance)."""
from __future__ import annotations

from dataclasses import asdict, fields, replace

import cell
from analysis.shorts import (CoulombicEfficiencyDetector, CoulombicEfficiencySettings, HardShortDetector,
                             HardShortSettings, PressureDriftDetector, PressureDriftSettings, SoftShortDetector,
                             SoftShortSettings, SuddenDropDetector, SuddenDropSettings, VoltageLimitDetector,
                             VoltageLimitSettings)
from cell import Stack


def default_settings(stack: Stack) -> dict:
    """Detector kind -> settings for this cell. Li | Li: a collapse of polarisation is a
    hard short. Full cells: a charge that stops raising the voltage, runs past the
    theoretical capacity or drops abruptly is a soft short. Half cells sit near 0 V by
    design. Every built cell: a voltage far outside its normal window, and pressure drift."""
    kinds = stack.kinds()
    if not kinds:
        # An imported run with no build: its chemistry and voltage window are unknown,
        # but an abrupt drop while charging is suspicious in any cell.
        return {"sudden_drop": SuddenDropSettings()}
    if "cathode" in kinds:
        out = {"soft_short": SoftShortSettings(capacity_mAh=cell.figures(stack).capacity_mAh),
               "sudden_drop": SuddenDropSettings(),
               "ce_drop": CoulombicEfficiencySettings(),
               "voltage_limit": VoltageLimitSettings(2.3, 4.4)}
    elif kinds.count("anode") == 2:
        out = {"hard_short": HardShortSettings(), "voltage_limit": VoltageLimitSettings(-0.5, 0.5)}
    else:
        out = {"voltage_limit": VoltageLimitSettings(-0.2, 2.0)}
    out["pressure_drift"] = PressureDriftSettings()
    return out


DETECTORS = {"hard_short": HardShortDetector, "soft_short": SoftShortDetector, "sudden_drop": SuddenDropDetector,
             "voltage_limit": VoltageLimitDetector, "pressure_drift": PressureDriftDetector,
             "ce_drop": CoulombicEfficiencyDetector}


def settings_for(stack: Stack, overrides: dict | None = None) -> dict:
    """Defaults with the operator's overrides {kind: {threshold: value}} applied; an
    unknown kind or threshold, or an impossible value, is refused by name."""
    settings = default_settings(stack)
    for kind, values in (overrides or {}).items():
        if kind not in settings:
            raise ValueError(f"no {kind!r} detector watches {stack.describe()}; it has {', '.join(settings)}")
        known = {f.name for f in fields(settings[kind])}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown threshold {', '.join(sorted(unknown))} for {kind}; thresholds: {', '.join(sorted(known))}")
        settings[kind] = replace(settings[kind], **values)
    return settings


def detectors_for(stack: Stack, overrides: dict | None = None) -> list:
    return [DETECTORS[kind](s) for kind, s in settings_for(stack, overrides).items()]


def describe(detectors: list) -> dict:
    return {d.kind: asdict(d.settings) for d in detectors}


SETTINGS_CLASSES = {"hard_short": HardShortSettings, "soft_short": SoftShortSettings, "sudden_drop": SuddenDropSettings,
                    "voltage_limit": VoltageLimitSettings, "pressure_drift": PressureDriftSettings,
                    "ce_drop": CoulombicEfficiencySettings}


def detectors_from(stored: dict, overrides: dict | None = None) -> list:
    """Detectors as a run stored them ({kind: settings} from its provenance), with the
    operator's overrides applied, e.g. to tune thresholds on old data."""
    out = []
    for kind, values in (overrides or {}).items():
        if kind not in stored:
            raise ValueError(f"the run has no {kind!r} detector; it had {', '.join(stored) or 'none'}")
    for kind, values in stored.items():
        if kind not in SETTINGS_CLASSES:
            continue   # a detector this version does not know: nothing to replay it with
        merged = {**values, **(overrides or {}).get(kind, {})}
        known = {f.name for f in fields(SETTINGS_CLASSES[kind])}
        unknown = set(merged) - known
        if unknown:
            raise ValueError(f"unknown threshold {', '.join(sorted(unknown))} for {kind}; thresholds: {', '.join(sorted(known))}")
        out.append(DETECTORS[kind](SETTINGS_CLASSES[kind](**merged)))
    return out
