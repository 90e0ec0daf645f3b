"""What every emulated cycler shares, whatever protocol it serves: the simulated
channels (SimChannel) on one accelerated clock, the faults a test injects, a channel
that ends its test by itself, a cycler that is down for a while, the record of every
stop that arrived through the interface, and the loopback TCP server itself.

A protocol's emulator subclasses CyclerSim with its commands and gives LoopbackServer
a request handler that reads its framing. Faults, taken by the handler one request at
a time (optionally only requests of one command):
  "drop"    the connection closes instead of the reply;
  "partial" half the reply, then the connection closes;
  "garble"  noise instead of the reply, framed as a reply would be;
  "slow"    the reply comes `slow_s` late.
"""
from __future__ import annotations

import collections
import socketserver
import threading
import time

from instruments.cyclers.base import FINISHED
from instruments.sim.cyclers.channel import SimChannel

FAULTS = ("drop", "partial", "garble", "slow")
POLL_S = 0.05                 # how often a serving thread looks for close()


class CyclerSim:
    """The emulated cycler's state: channels, clock, faults and the stops received."""

    def __init__(self, channels: list[SimChannel], speed: float = 3600.0, slow_s: float = 2.0):
        if not speed > 0:
            raise ValueError(f"speed must be above 0, got {speed!r}")
        self.channels = channels
        self.speed = float(speed)
        self.slow_s = slow_s
        self.stops: list[dict] = []           # {"channel": n (1-based), "t_s", "point", "answer", "wall"}
        self.requests: collections.Counter = collections.Counter()
        self.is_down = False
        self._t0 = time.monotonic()
        self._faults: collections.deque = collections.deque()
        self._lock = threading.Lock()

    # -- the clock --
    def now(self) -> float:
        """Test time of the emulator, s (every channel started at 0)."""
        return (time.monotonic() - self._t0) * self.speed

    def advance(self) -> None:
        t = self.now()
        for channel in self.channels:
            channel.advance(t)

    # -- faults --
    def inject(self, fault: str, count: int = 1, match: str | None = None) -> None:
        """Apply `fault` to the next `count` requests (whose command is `match`, if given)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend([(fault, match)] * count)

    def next_fault(self, command: str) -> str | None:
        with self._lock:
            for k, (fault, match) in enumerate(self._faults):
                if match is None or match == command:
                    del self._faults[k]
                    return fault
        return None

    def end_test(self, number: int, how: str = FINISHED) -> None:
        """Channel `number` (1-based) ends its test by itself."""
        self.advance()
        self.channels[number - 1].halt(how, "ended by the cycler")

    def down(self) -> None:
        self.is_down = True

    def recover(self) -> None:
        self.is_down = False

    def record_stop(self, number: int, channel: SimChannel, answer: str) -> None:
        # wall: s since the emulator started, by which a stop's latency is measured
        self.stops.append({"channel": number, "t_s": channel.t, "point": channel.points, "answer": answer,
                           "wall": time.monotonic() - self._t0})


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class LoopbackServer:
    """Serves `sim` on 127.0.0.1:`port` (0: a free port) with `handler`, a
    socketserver.BaseRequestHandler that finds the emulator as `self.server.sim`."""

    def __init__(self, sim: CyclerSim, handler: type, port: int = 0, name: str = "cycler"):
        self.sim = sim
        self._server = _Server(("127.0.0.1", port), handler)
        self._server.sim = sim  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": POLL_S},
                                        name=f"{name}-{self.port}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)


def send_with_fault(sock, reply: bytes, fault: str | None, sim: CyclerSim, garbled: bytes) -> bool:
    """Send `reply` as `fault` says; False when the connection is to close now."""
    if fault == "drop":
        return False
    if fault == "slow":
        time.sleep(sim.slow_s)
    if fault == "partial":
        sock.sendall(reply[: len(reply) // 2])
        return False
    sock.sendall(garbled if fault == "garble" else reply)
    return True


def step_time(channel: SimChannel, last) -> float:
    """Step time at the logged point `last` (the channel itself has moved on to channel.t)."""
    if last is None:
        return 0.0
    return max(channel.step_time_s - (channel.t - float(last["time_s"])), 0.0)
