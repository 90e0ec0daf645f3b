"""An emulated Keysight DAQ970A with a DAQM901A armature multiplexer in slot 1
(channels 101-120, 2-wire), wired as the cell switch of the simulated bench: some of
its channels connect the cell to the SMU, others to the impedance analyser.

Like the real armature card it does not enforce break-before-make in stand-alone
routing (PROTOCOLS.md §6): `ROUT:CLOS` closes whatever it is told, even a second path
onto the cell. The emulator is the bench's witness instead: every routing command is
logged with the state it left (which channels are closed, which paths that connects,
whether the SMU output was on), and any moment at which both paths were closed at once
is recorded as a violation, as is connecting the analyser while the SMU output is on.
Tests fail on either.

Commands: `*IDN?`, `*RST` (opens every channel), `*OPC?`, `:SYST:ERR?`,
`ROUT:CLOS`/`ROUT:OPEN (@list)`, `ROUT:CLOS?`/`ROUT:OPEN? (@list)` (one 1/0 per channel
in list order), `ROUT:CLOS:EXCL (@list)`, long or short forms. A channel that does not
exist queues an error and changes nothing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from instruments.sim.scpi_server import ScpiEmulator

IDN = "Keysight Technologies,DAQ970A,SIM00007,A.03.03-01.00-03.01-00.02-02.00-03-03 SolidStack simulated bench"
SLOT = 1
CHANNELS = range(SLOT * 100 + 1, SLOT * 100 + 21)       # DAQM901A: 20 two-wire channels
# How the simulated bench is wired (4-terminal on both sides: two 2-wire channels each).
SMU_CHANNELS = (101, 102)       # force pair, sense pair
EIS_CHANNELS = (103, 104)       # current pair (Hc/Lc), potential pair (Hp/Lp)

# SCPI long forms the driver might send, mapped to the short forms dispatched on.
_LONG = {"ROUTE": "ROUT", "CLOSE": "CLOS", "EXCLUSIVE": "EXCL"}


@dataclass(frozen=True)
class LogEntry:
    t_s: float                  # the bench clock's time
    command: str
    closed: tuple[int, ...]     # every closed channel after the command
    paths: tuple[str, ...]      # which paths that connects to the cell ("smu", "eis")
    source_on: bool             # the SMU output, as the emulated SMU held it


def parse_channel_list(text: str) -> list[int]:
    """`(@101:103,107)` -> [101, 102, 103, 107]; ValueError for anything else or for a
    channel the card does not have."""
    m = re.fullmatch(r"\(@([0-9:,\s]+)\)", text.strip())
    if m is None:
        raise ValueError(f"not a channel list: {text!r}")
    out: list[int] = []
    for part in m.group(1).split(","):
        first, _, last = part.strip().partition(":")
        lo, hi = int(first), int(last or first)
        if lo not in CHANNELS or hi not in CHANNELS or hi < lo:
            raise ValueError(f"no channel {part.strip()} on the DAQM901A in slot {SLOT}")
        out.extend(range(lo, hi + 1))
    return out


class Daq970aEmulator(ScpiEmulator):
    IDN = IDN
    NO_ERROR = '+0,"No error"'

    def __init__(self, clock, source_on: Callable[[], bool] = lambda: False,
                 paths: dict[str, tuple[int, ...]] | None = None):
        self.clock = clock
        self.source_on = source_on       # reads the emulated SMU's output state
        self.paths = dict(paths or {"smu": SMU_CHANNELS, "eis": EIS_CHANNELS})
        super().__init__()
        self.closed: set[int] = set()
        self.log: list[LogEntry] = []
        self.violations: list[str] = []

    def connected(self) -> tuple[str, ...]:
        """The paths with any channel closed: what touches the cell now (a path half
        closed already does, so it counts)."""
        return tuple(name for name, channels in self.paths.items() if self.closed & set(channels))

    def _record(self, command: str) -> None:
        paths = self.connected()
        entry = LogEntry(self.clock.now(), command, tuple(sorted(self.closed)), paths, bool(self.source_on()))
        self.log.append(entry)
        if "smu" in paths and "eis" in paths:
            self.violations.append(f"t={entry.t_s:g} s: {command!r} left the SMU and the analyser on the cell at once "
                                   f"(closed {', '.join(map(str, entry.closed))})")
        elif "eis" in paths and entry.source_on:
            self.violations.append(f"t={entry.t_s:g} s: {command!r} connected the analyser while the SMU output was on")

    def _dispatch(self, header: str, args: str) -> str | None:
        words = [_LONG.get(w, w) for w in header.lstrip(":").split(":")]
        key = ":".join(words)
        if header == "*RST":
            self.closed.clear()
            self._record("*RST")
        elif header == "*CLS":
            self._errors.clear()
        elif key in ("ROUT:CLOS", "ROUT:OPEN", "ROUT:CLOS:EXCL"):
            channels = parse_channel_list(args)
            if key == "ROUT:OPEN":
                self.closed.difference_update(channels)
            else:
                if key == "ROUT:CLOS:EXCL":
                    self.closed.clear()
                self.closed.update(channels)
            self._record(f"{key} {args}")
        elif key in ("ROUT:CLOS?", "ROUT:OPEN?"):
            channels = parse_channel_list(args)
            closed = [ch in self.closed for ch in channels]
            return ",".join(str(int(c if key == "ROUT:CLOS?" else not c)) for c in closed)
        else:
            self._errors.append(f'-113,"Undefined header; {header}"')
        return None
