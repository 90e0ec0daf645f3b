"""Keysight DAQ970A (or 34980A) multiplexer as the cell switch: it connects the cell
either to the SMU or to the impedance analyser, so EIS between cycles needs no hands.

The armature cards used for 2-wire routing (DAQM901A, 34921A/34922A) do not enforce
break-before-make outside a scan (PROTOCOLS.md §6), so the driver does: `route()` opens
every channel of the other paths, reads back that they are open, and only then closes
the wanted path and reads back that it is closed (`ROUT:CLOS?`), then checks the error
queue. A path is a set of channels (two 2-wire channels for a 4-terminal connection);
the DAQ970A numbers channels `scc` (101), the 34980A `sccc` (1001), with the same
commands, so the channel numbers come from the caller.
"""
from __future__ import annotations

from instruments.connection import Connection, Garbled
from instruments.errors import InstrumentError
from instruments.scpi import ScpiDriver

# The simulated bench's wiring (instruments/sim/daq970a_emulator.py); a real bench gives its
# own as "paths" in the switch's entry of the role assignment.
DEFAULT_PATHS = {"smu": (101, 102), "eis": (103, 104)}
PATH_NAMES = ("smu", "eis")


def check_paths(paths) -> dict[str, tuple[int, ...]]:
    """The wiring as {"smu": channels, "eis": channels}; ValueError, one line, for anything
    else: a path missing, a channel that is not a whole number from 101 to 9999, or a
    channel in both paths (closing it would connect the two instruments)."""
    if not isinstance(paths, dict) or set(paths) != set(PATH_NAMES):
        raise ValueError(f"switch paths must name exactly {' and '.join(PATH_NAMES)}, e.g. "
                         f'{{"smu": [101, 102], "eis": [103, 104]}}')
    out = {}
    for name in PATH_NAMES:
        channels = paths[name]
        if (not isinstance(channels, (list, tuple)) or not channels
                or not all(isinstance(ch, int) and not isinstance(ch, bool) and 101 <= ch <= 9999 for ch in channels)):
            raise ValueError(f"switch path {name!r} must be a list of channel numbers (101..9999), got {channels!r:.60}")
        out[name] = tuple(channels)
    shared = sorted(set(out["smu"]) & set(out["eis"]))
    if shared:
        raise ValueError(f"switch channel(s) {', '.join(map(str, shared))} are in both paths: "
                         "closing them would connect the SMU and the analyser")
    return out


def channel_list(channels) -> str:
    return "(@" + ",".join(str(int(ch)) for ch in channels) + ")"


def _states(expected: int):
    def parse(reply: str) -> list[bool]:
        parts = [p.strip() for p in reply.strip().split(",")]
        if len(parts) != expected or any(p not in ("0", "1") for p in parts):
            raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected {expected} of 1/0")
        return [p == "1" for p in parts]
    return parse


class KeysightDAQ970A(ScpiDriver):
    MODEL = "DAQ970A"

    def __init__(self, connection: Connection, name: str = "Cell switch (Keysight DAQ970A)",
                 paths: dict[str, tuple[int, ...]] | None = None):
        super().__init__(connection, name)
        self.paths = check_paths(DEFAULT_PATHS if paths is None else paths)
        self.routed: str | None = None        # the path last verified closed

    def reset(self) -> None:
        """*RST opens every channel: the cell is connected to nothing."""
        self._write("*RST")
        self.routed = None
        self.check_errors("*RST")

    def open(self, channels) -> None:
        self._write(f"ROUT:OPEN {channel_list(channels)}")

    def close(self, channels) -> None:
        self._write(f"ROUT:CLOS {channel_list(channels)}")

    def closed(self, channels) -> list[bool]:
        """Whether each channel is closed, in the order given."""
        channels = list(channels)
        return self.connection.query(f"ROUT:CLOS? {channel_list(channels)}", _states(len(channels)))

    def route(self, path: str) -> None:
        """Connect the cell to `path` ("smu" or "eis") and nothing else: break, verify,
        make, verify. InstrumentError if a read-back disagrees (the target path is then
        left open, so the cell is never on two instruments at once)."""
        if path not in self.paths:
            raise ValueError(f"{self.name}: no path {path!r}; it switches {', '.join(self.paths)}")
        others = sorted({ch for name, chs in self.paths.items() if name != path for ch in chs})
        self.open(others)
        self.check_errors(f"ROUT:OPEN {channel_list(others)}")
        still = [ch for ch, c in zip(others, self.closed(others)) if c]
        if still:
            raise InstrumentError(self.name, f"ROUT:OPEN {channel_list(others)}",
                                  f"channels {', '.join(map(str, still))} still read closed; {path} not connected")
        target = self.paths[path]
        self.routed = None
        self.close(target)
        # Errors first: an instrument that refused the list would not answer a query about it.
        self.check_errors(f"ROUT:CLOS {channel_list(target)}")
        missing = [ch for ch, c in zip(target, self.closed(target)) if not c]
        if missing:
            self.open(target)
            raise InstrumentError(self.name, f"ROUT:CLOS {channel_list(target)}",
                                  f"channels {', '.join(map(str, missing))} did not close; {path} not connected")
        self.routed = path

    def check_errors(self, context: str) -> None:
        reply = self.connection.query("SYST:ERR?")
        code = reply.split(",", 1)[0].strip()
        if code not in ("0", "+0"):
            raise InstrumentError(self.name, context, f"instrument reported {reply}")
