"""An emulated Arbin CTI server on 127.0.0.1: the binary console protocol of "ArbinCTI
Protocol v1.1" as PROTOCOLS.md section 3 describes it, one channel per simulated cell
(SimChannel), on the shared accelerated clock (CyclerSim).

What it answers: LOGIN, GET_CHANNELS_INFO (one channel, or -1: one feedback per
channel) and STOP. A channel's readings are those of its last logged point, so a
client's records can be checked against the channel's own log; each channel has one
aux temperature input reading `temperature_c`. `comm_failures` names channels whose
readings carry the CommFailure flag (the server lost their unit). A channel stopped through CTI reads
Finished with the exit condition "Stopped by CTI" (the real words are unknown).

Where the real server's behaviour is unknown this emulator is conservative and says so
where it decides: a message without the CTI header, with a wrong checksum, or anything
but LOGIN before a successful login closes the connection; an unknown command closes
it too; GET_CHANNELS_INFO for a channel that does not exist answers no channel (n = 0);
a STOP from a user the login told it may not control is refused with 0x11, the one
documented refusal that fits.
"""
from __future__ import annotations

import socketserver
import struct

from instruments.cyclers import arbin
from instruments.cyclers.base import FAULT, FINISHED, IDLE, PAUSED, RUNNING, STOPPED
from instruments.sim.cyclers.base import CyclerSim, LoopbackServer, send_with_fault, step_time
from instruments.sim.cyclers.channel import SimChannel

_STATUS = {PAUSED: 18, FINISHED: 15, STOPPED: 15, FAULT: 14, IDLE: 0}
STOPPED_EXIT = "Stopped by CTI"
MAX_REQUEST = 4096


class ArbinEmulator(CyclerSim):
    serial = "SIM-ARBIN-1"
    version = 1

    def __init__(self, channels: list[SimChannel], speed: float = 3600.0, slow_s: float = 2.0,
                 users: dict[str, str] | None = None, allow_control: bool = True, temperature_c: float = 25.0):
        super().__init__(channels, speed, slow_s)
        self.users = {"admin": "000000"} if users is None else dict(users)
        self.allow_control = allow_control
        self.temperature_c = temperature_c
        self.comm_failures: set[int] = set()    # channels (1-based) whose unit the server lost

    # -- the commands (arguments in, feedback arguments out) --
    def login(self, args: bytes) -> tuple[bool, bytes]:
        user, password = arbin.ascii_field(args[:32]), arbin.ascii_field(args[32:64])
        ok = self.users.get(user) == password and len(args) == 64
        body = arbin.LOGIN_BODY.pack(1 if ok else 2, bytes([127, 0, 0, 1]), self.serial.encode("ascii"),
                                     b"SolidStack emulator", "emulated Arbin".encode("utf-16-le"), b"", b"", b"",
                                     b"", b"", 0, self.version, int(self.allow_control), len(self.channels), 1, 0)
        return ok, body

    def channel_info(self, args: bytes) -> list[bytes]:
        """One feedback's arguments per channel asked (none for a channel that does not exist)."""
        only, _, _, _ = struct.unpack_from("<hhI32s", args)
        self.advance()
        numbers = range(len(self.channels)) if only == -1 else [only] if 0 <= only < len(self.channels) else []
        if not numbers:
            return [struct.pack("<I", 0)]
        return [struct.pack("<I", 1) + self._channel_block(k) for k in numbers]

    def _channel_block(self, k: int) -> bytes:
        ch = self.channels[k]
        with ch.lock:
            n = ch.points
            last = ch.records(n, 1)[0] if n else None
            running = ch.state == RUNNING
            current = float(last["current_a"]) if last is not None and running else 0.0
            status = (2 if current > 0 else 3 if current < 0 else 4) if running else _STATUS[ch.state]
            if running and last is None:
                status = 21                                 # Start: the test has no reading yet
            step, cycle = (int(last["step"]), int(last["cycle"])) if last is not None else (0, 0)
            kind = "Charge" if current > 0 else "Discharge" if current < 0 else "Rest"
            exit_condition = STOPPED_EXIT if ch.state == STOPPED else ch.end_reason or "N/A"
            counts = [0] * 14
            counts[1] = 1                                   # one aux temperature
            block = arbin.CHANNEL.pack(
                k, status, int(k + 1 in self.comm_failures),
                f"{ch.protocol_name or 'schedule'}.sdx".encode("utf-16-le"),
                f"{ch.protocol_name or 'test'}-{ch.test_id}".encode("utf-16-le"), exit_condition.encode("ascii"),
                f"[{cycle}] {step}: Step_{step}, {kind}".encode("ascii"), ch.barcode.encode("utf-16-le"), b"", b"",
                k, float(last["time_s"]) if last is not None else 0.0, step_time(ch, last),
                float(last["voltage_v"]) if last is not None else 0.0, current, 0.0,
                float(last["charge_ah"]) if last is not None else 0.0,
                float(last["discharge_ah"]) if last is not None else 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, *counts)
            return block + arbin.AUX_PAIR.pack(self.temperature_c, 0.0)

    def stop(self, args: bytes, may_control: bool) -> bytes:
        wire, _, _ = struct.unpack_from("<IB101s", args)
        if not 0 <= wire < len(self.channels):
            return arbin.STOP_BODY.pack(wire, 0x10, b"")
        ch = self.channels[wire]
        if not may_control:
            self.record_stop(wire + 1, ch, "refused: no control rights")
            return arbin.STOP_BODY.pack(wire, 0x11, b"")
        self.advance()
        ch.halt(STOPPED, STOPPED_EXIT)
        self.record_stop(wire + 1, ch, "stopped")
        return arbin.STOP_BODY.pack(wire, 0, b"")


class _Handler(socketserver.BaseRequestHandler):
    def _read(self, n: int, pending: bytearray) -> bytes | None:
        while len(pending) < n:
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return None
            if not chunk:
                return None
            pending += chunk
        out = bytes(pending[:n])
        del pending[:n]
        return out

    def handle(self) -> None:
        sim: ArbinEmulator = self.server.sim  # type: ignore[attr-defined]
        if sim.is_down:
            return
        pending, logged_in = bytearray(), False
        while True:
            header = self._read(arbin.HEADER.size, pending)
            if header is None or sim.is_down:
                return
            magic, length, command, _ = arbin.HEADER.unpack(header)
            total = length + 12                               # a request's dwLen is its length less 12
            if magic != arbin.MAGIC or not arbin.HEADER.size + 2 <= total <= MAX_REQUEST:
                return                                        # conservative: not CTI, close
            rest = self._read(total - arbin.HEADER.size, pending)
            if rest is None:
                return
            message = header + rest
            if arbin.checksum(message[:-2]) != struct.unpack_from("<H", message, total - 2)[0]:
                return                                        # conservative: a bad checksum closes
            args = message[arbin.HEADER.size:-2]
            name = arbin.COMMANDS.get(command, "unknown")
            sim.requests[name] += 1
            if command == arbin.LOGIN:
                logged_in, body = sim.login(args)
                replies = [arbin.feedback(arbin.LOGIN_FEEDBACK, body)]
            elif not logged_in:
                return                                        # conservative: nothing before a login
            elif command == arbin.CHANNEL_INFO and len(args) == 40:
                replies = [arbin.feedback(arbin.CHANNEL_INFO_FEEDBACK, b) for b in sim.channel_info(args)]
            elif command == arbin.STOP and len(args) == 106:
                replies = [arbin.feedback(arbin.STOP_FEEDBACK, sim.stop(args, sim.allow_control))]
            else:
                return                                        # conservative: unknown command closes
            fault = sim.next_fault(name)
            for reply in replies:
                garbled = reply[:arbin.HEADER.size] + bytes(b ^ 0x5A for b in reply[arbin.HEADER.size:])
                if not send_with_fault(self.request, reply, fault, sim, garbled):
                    return


class ArbinServer(LoopbackServer):
    """Serves an ArbinEmulator on 127.0.0.1:`port` (0: a free port) until close()."""

    def __init__(self, emulator: ArbinEmulator, port: int = 0):
        super().__init__(emulator, _Handler, port, "arbin")
        self.emulator = emulator
