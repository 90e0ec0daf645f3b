"""What the cycler tests (clients, watcher, CLI, GUI, benchmark) share: simulated
channels, a Neware emulator served on 127.0.0.1, and polling a client's history as a
watcher does."""
from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np

from acquisition.cycler_sim import parse_cells, sim_channels
from instruments.sim.cyclers.neware_emulator import NewareEmulator, NewareServer

PAPER_CELLS = "asym-agc,sym-agc,full-bare,full-agc"     # channels 1 and 3 short (bare Li interfaces)


def channels(cells: str, sample_interval_s: float | None = None, seed: int = 0):
    return sim_channels(parse_cells(cells), seed=seed, sample_interval_s=sample_interval_s)


@contextmanager
def neware(cells: str = PAPER_CELLS, speed: float = 20000.0, interval: float = 10.0, seed: int = 0,
           frozen_at: float | None = None):
    """A NewareServer (its .emulator, .port) with one channel per cell, logging every
    `interval` s of test time at `speed` x real time."""
    emulator = NewareEmulator(channels(cells, interval, seed), speed=speed)
    emulator.freeze(frozen_at)
    server = NewareServer(emulator)
    try:
        yield server
    finally:
        server.close()


def poll_history(client, key: str, seconds: float, every_s: float = 0.02, since: int = 0) -> np.ndarray:
    """Every record `history` gives over `seconds`, asking each `every_s`, resuming
    after the last point as a watcher does."""
    got = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for batch in client.history(key, since):
            got.append(batch)
            since = int(batch["point"][-1])
        time.sleep(every_s)
    return np.concatenate(got) if got else np.zeros(0)


def log_rows(sim_channel, records: np.ndarray) -> np.ndarray:
    """The emulator's own logged points at the test times of `records` (each must exist)."""
    log = sim_channel.records(1)
    index = np.searchsorted(log["time_s"], records["time_s"])
    assert np.all(index < log.size) and np.array_equal(log["time_s"][index], records["time_s"]), \
        "a record the emulator never logged"
    return log[index]
