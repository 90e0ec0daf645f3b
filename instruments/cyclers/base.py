"""What every cycler client offers, whatever protocol it speaks: the channel listing,
the record shape of logged points, the live snapshot, the cycler's answer to a stop,
and the one error type naming host, channel and command.

A protocol module (neware.py; later maccor.py, arbin.py) implements CyclerClient and
converts its wire format into these shapes; nothing above it (acquisition.cycler_watch,
the CLI, the GUI) knows which protocol is spoken.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

import numpy as np

# One logged point as the cycler recorded it. Capacities are the cycler's own counters
# (Ah, within the step as most cyclers count them), split by direction so a consumer
# never has to guess the sign convention of a vendor's single `cap` column.
RECORD_DTYPE = np.dtype([
    ("point", "<i8"),          # the cycler's own index of the point within the test (from 1)
    ("time_s", "<f8"),         # test time, s
    ("current_a", "<f8"),      # A, positive = charge
    ("voltage_v", "<f8"),      # V
    ("step", "<i4"),           # the cycler's step number
    ("cycle", "<i4"),          # the cycler's cycle number
    ("charge_ah", "<f8"),      # charge capacity counter, Ah
    ("discharge_ah", "<f8"),   # discharge capacity counter, Ah
    ("temperature_c", "<f8"),  # NaN where the channel has no probe
])

# Channel states, protocol-neutral; each client maps its own words onto these.
RUNNING, PAUSED, FINISHED, STOPPED, FAULT, IDLE, ABSENT = (
    "running", "paused", "finished", "stopped", "fault", "idle", "absent")
STATES = (RUNNING, PAUSED, FINISHED, STOPPED, FAULT, IDLE, ABSENT)
ENDED = (FINISHED, STOPPED, FAULT, IDLE, ABSENT)   # the test no longer runs


def empty_records(n: int = 0) -> np.ndarray:
    out = np.zeros(n, dtype=RECORD_DTYPE)
    out["temperature_c"] = np.nan
    return out


class CyclerError(RuntimeError):
    """A fault talking to a cycler: no answer, a lost connection, a reply that does not
    parse, or a refusal. Its text is one line naming host, channel and command."""

    def __init__(self, host: str, command: str, detail: str, channel: str | None = None):
        self.host, self.command, self.detail, self.channel = host, command, detail, channel
        where = f"{host}" + (f" channel {channel}" if channel else "")
        super().__init__(f"{where}: {detail} (command {command})")


@dataclass(frozen=True)
class ChannelInfo:
    """One channel of a cycler. `key` is what the client needs to address it again
    (opaque to everyone else); `unit` and `channel` are how people name it."""
    key: str
    unit: str
    channel: int
    state: str                 # one of STATES
    test_name: str = ""
    barcode: str = ""          # the cell id the test was started with, if any
    test_id: str = ""          # changes when a new test starts: point indices restart

    @property
    def label(self) -> str:
        return f"unit {self.unit} ch {self.channel}"


@dataclass(frozen=True)
class Snapshot:
    """The channel as the cycler sees it now (a status query, not a logged point)."""
    state: str
    time_s: float
    current_a: float
    voltage_v: float
    step: int | None
    cycle: int | None
    points: int | None = None      # logged points of the test so far, if the query tells
    raw: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StopAnswer:
    accepted: bool
    reply: str                     # the cycler's own words, for the event log


class CyclerClient(Protocol):
    protocol: str                  # "neware", "maccor", "arbin"
    host: str
    port: int
    can_stop: bool                 # False where the interface offers no stop

    connected: bool
    def connect(self) -> None: ...
    def channels(self) -> list[ChannelInfo]: ...
    def states(self, keys: list[str]) -> dict[str, str]:
        """key -> state (one of STATES) of the channels asked, in as few requests as the
        protocol allows: the watcher asks this once per round."""
        ...
    def history(self, key: str, since_point: int = 0) -> Iterator[np.ndarray]:
        """Batches of RECORD_DTYPE of the current test, points after `since_point`."""
        ...
    def latest(self, key: str) -> Snapshot: ...
    def stop(self, key: str) -> StopAnswer: ...
    def close(self) -> None: ...
