"""Emulated cyclers built from names, for `main.py cycler-sim`, tests and demos: each
channel a template's simulated cell running a protocol preset (expanded here, since the
emulators in instruments/sim may not import acquisition)."""
from __future__ import annotations

from dataclasses import dataclass

import cell
from acquisition.protocol import PRESET_FACTORIES, preset
from instruments.sim.cyclers.channel import SimChannel, default_protocol


@dataclass(frozen=True)
class CellSpec:
    template: str
    protocol: str | None = None        # a preset name; None: the paper's experiment for the cell


def parse_cells(text: str) -> list[CellSpec]:
    """"TEMPLATE[:PROTOCOL],..." -> specs; ValueError naming the unknown template or preset."""
    specs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        template, _, protocol = item.partition(":")
        if template not in cell.template_names():
            raise ValueError(f"unknown template {template!r} in --cells; choose from {', '.join(cell.template_names())}")
        if protocol and protocol not in PRESET_FACTORIES:
            raise ValueError(f"unknown protocol {protocol!r} for {template} in --cells; presets: "
                             f"{', '.join(PRESET_FACTORIES)}")
        specs.append(CellSpec(template, protocol or None))
    if not specs:
        raise ValueError("--cells names no cell: give TEMPLATE[:PROTOCOL],...")
    return specs


def sim_channels(specs: list[CellSpec], seed: int = 0, sample_interval_s: float | None = None) -> list[SimChannel]:
    """One simulated channel per spec; channel n (from 1) gets seed + n - 1 and the
    barcode SIM-<n>-<template>."""
    channels = []
    for n, spec in enumerate(specs, start=1):
        stack = cell.from_template(spec.template)
        name = spec.protocol or default_protocol(stack)
        channels.append(SimChannel(stack, preset(name).iter_steps(stack), name, seed=seed + n - 1,
                                   barcode=f"SIM-{n}-{spec.template}", test_id=100 + n,
                                   sample_interval_s=sample_interval_s))
    return channels
