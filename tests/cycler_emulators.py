"""Emulated cyclers served on 127.0.0.1 for the cycler tests (client, watcher, CLI)."""
from __future__ import annotations

from contextlib import contextmanager

from acquisition.cycler_sim import parse_cells, sim_channels
from instruments.sim.cyclers.neware_emulator import NewareEmulator, NewareServer

PAPER_CELLS = "asym-agc,sym-agc,full-bare,full-agc"     # channels 1 and 3 short (bare Li interfaces)


@contextmanager
def neware(cells: str = PAPER_CELLS, speed: float = 20000.0, interval: float = 10.0, seed: int = 0,
           frozen_at: float | None = None):
    """A NewareServer (its .emulator, .port) with one channel per cell, logging every
    `interval` s of test time at `speed` x real time."""
    emulator = NewareEmulator(sim_channels(parse_cells(cells), seed=seed, sample_interval_s=interval), speed=speed)
    emulator.freeze(frozen_at)
    server = NewareServer(emulator)
    try:
        yield server
    finally:
        server.close()
