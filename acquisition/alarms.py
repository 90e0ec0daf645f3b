"""Alarm policy: which detectors watch a run, chosen from what was built, and the
settings they run with (stored in the run's provenance)."""
from __future__ import annotations

from dataclasses import asdict

import cell
from analysis.shorts import HardShortDetector, HardShortSettings, SoftShortDetector, SoftShortSettings
from cell import Stack


def detectors_for(stack: Stack) -> list:
    """Li | Li cells: a collapse of polarisation is a hard short. Full cells: a charge
    that stops raising the voltage, or runs past the theoretical capacity, is a soft
    short. Half cells (interlayer lithiation) sit near 0 V by design: no detector."""
    kinds = stack.kinds()
    if "cathode" in kinds:
        return [SoftShortDetector(SoftShortSettings(capacity_mAh=cell.figures(stack).capacity_mAh))]
    if kinds.count("anode") == 2:
        return [HardShortDetector(HardShortSettings())]
    return []


def describe(detectors: list) -> dict:
    return {d.kind: asdict(d.settings) for d in detectors}
