"""An emulated Maccor tester's MacNet JSON port on 127.0.0.1: JSON-RPC 2.0 as
PROTOCOLS.md section 2 describes it, one test channel per simulated cell (SimChannel),
on the shared accelerated clock (CyclerSim).

What it answers: (1,1) system info, (1,2) general info, (4,1) status of up to 128
channels, (4,7) status and readings of one channel, (6,3) suspend and (6,5) reset
(every reset is recorded in `stops`: it is how a client stops a channel).
The readings of (4,7) are those of the channel's last data record (LastRecNum), so a
client's records can be checked against the channel's own log; Current is sent as a
magnitude with RF1 saying charge (1), discharge (2) or rest (4), as a Maccor may.

Where the real tester's behaviour is unknown this emulator is conservative and says so
where it decides: the field names of (1,1), whose reply the help only calls "version
fields", are placeholders (our client does not ask (1,1)); the JSON-RPC error codes (Maccor documents only the messages, so the
standard JSON-RPC codes are used); a channel or length out of range is refused with
"Illegal value"; a request that is not a JSON object is answered "Parse error" and the
bytes are dropped; other MacNet functions, start among them, are refused with
"Invalid FNum" (start needs procedure files this emulator does not have); Resume (6,4)
is not emulated (a SimChannel does not resume), refused the same way.
"""
from __future__ import annotations

import json
import socketserver
from datetime import datetime, timedelta

from instruments.cyclers.base import FAULT, FINISHED, IDLE, PAUSED, RUNNING, STOPPED
from instruments.sim.cyclers.base import CyclerSim, LoopbackServer, send_with_fault, step_time
from instruments.sim.cyclers.channel import SimChannel

MAX_STATUS = 128
# SimChannel state -> (Stat, RF1, RF2) while no current flows; a running channel's RF1
# follows its current (1 charge, 2 discharge, 4 rest).
_CODES = {PAUSED: (3, 30, 192), FINISHED: (4, 31, 193), STOPPED: (7, 7, 192), FAULT: (5, 29, 194),
          IDLE: (0, 0, 0)}
PARSE_ERROR, INVALID_PARAMS, INVALID_FUNCTION = -32700, -32602, -32601


class MacNetError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class MaccorEmulator(CyclerSim):
    system_id = 1
    system_type = 0

    def __init__(self, channels: list[SimChannel], speed: float = 3600.0, slow_s: float = 2.0,
                 started_utc: datetime | None = None):
        super().__init__(channels, speed, slow_s)
        # the tester's clock when every channel's test began (TesterTime = this + TestTime)
        self.started_utc = started_utc or datetime.now().replace(microsecond=0)

    def reply(self, request) -> dict:
        """The JSON-RPC reply object to one decoded request."""
        rid = request.get("id") if isinstance(request, dict) else None
        try:
            if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or request.get("method") != "MacNet" \
                    or not isinstance(request.get("params"), dict):
                raise MacNetError(INVALID_PARAMS, "Invalid params")
            return {"jsonrpc": "2.0", "result": self.call(request["params"]), "id": rid}
        except MacNetError as exc:
            return {"jsonrpc": "2.0", "error": {"code": exc.code, "message": str(exc)}, "id": rid}

    def call(self, params: dict) -> dict:
        f, n = params.get("FClass"), params.get("FNum")
        if not isinstance(f, int) or not isinstance(n, int):
            raise MacNetError(INVALID_PARAMS, "Invalid params")
        self.requests[f"({f},{n})"] += 1
        handler = getattr(self, f"_f{f}_{n}", None)
        if handler is None:
            raise MacNetError(INVALID_FUNCTION, "Invalid FClass" if f not in (1, 4, 6) else "Invalid FNum")
        self.advance()
        return {"FClass": f, "FNum": n, **handler(params)}

    def _channel(self, params: dict) -> tuple[int, SimChannel]:
        chan = params.get("Chan")
        if not isinstance(chan, int) or isinstance(chan, bool):
            raise MacNetError(INVALID_PARAMS, "Invalid params")
        if not 0 <= chan < len(self.channels):
            raise MacNetError(INVALID_PARAMS, "Illegal value")
        return chan, self.channels[chan]

    @staticmethod
    def _codes(ch: SimChannel, current: float) -> tuple[int, int, int]:
        if ch.state == RUNNING:
            return 2, 1 if current > 0 else 2 if current < 0 else 4, 0
        return _CODES[ch.state]

    # -- the functions --
    def _f1_1(self, params: dict) -> dict:
        return {"MajorVersion": 1, "MinorVersion": 0, "Release": 0, "Build": 0, "SystemType": self.system_type}

    def _f1_2(self, params: dict) -> dict:
        return {"SystemID": self.system_id, "SystemType": self.system_type, "ControllerBoards": 1,
                "TestChannels": len(self.channels), "AuxBoards": 0, "AuxChannels": 0, "SMB1Pos": 0, "SMB3Pos": 0}

    def _f4_1(self, params: dict) -> dict:
        first, length = params.get("Chan"), params.get("Len")
        if not isinstance(first, int) or not isinstance(length, int):
            raise MacNetError(INVALID_PARAMS, "Invalid params")
        if not (0 <= first and 1 <= length <= MAX_STATUS and first + length <= len(self.channels)):
            raise MacNetError(INVALID_PARAMS, "Illegal value")
        out = []
        for ch in self.channels[first: first + length]:
            stat, rf1, rf2 = self._codes(ch, ch.current_a)
            out.append({"RF1": rf1, "RF2": rf2, "Stat": stat})
        return {"Chan": first, "Len": length, "Status": out}

    def _f4_7(self, params: dict) -> dict:
        chan, ch = self._channel(params)
        with ch.lock:
            n = ch.points
            last = ch.records(n, 1)[0] if n else None
            running = ch.state == RUNNING
            current = float(last["current_a"]) if last is not None and running else 0.0
            stat, rf1, rf2 = self._codes(ch, current)
            capacity = float(last["charge_ah"] + last["discharge_ah"]) if last is not None else 0.0
            return {"Chan": chan, "RF1": rf1, "RF2": rf2, "Stat": stat, "LastRecNum": n,
                    "Cycle": int(last["cycle"]) if last is not None else 0,
                    "Step": int(last["step"]) if last is not None else 0,
                    "TestTime": float(last["time_s"]) if last is not None else 0.0,
                    "StepTime": step_time(ch, last), "Capacity": capacity, "Energy": ch.energy_wh,
                    "Current": abs(current), "Voltage": float(last["voltage_v"]) if last is not None else 0.0,
                    "TesterTime": (self.started_utc + timedelta(seconds=float(last["time_s"]) if last is not None
                                                                else 0.0)).strftime("%Y-%m-%dT%H:%M:%S")}

    def _f6_3(self, params: dict) -> dict:
        chan, ch = self._channel(params)
        ok = ch.state == RUNNING
        ch.halt(PAUSED, "suspended through MacNet")
        # Conservative: suspending a channel with no test running is refused, in words (the real text is unknown).
        return {"Chan": chan, "Result": "OK" if ok else "Channel is not active"}

    def _f6_5(self, params: dict) -> dict:
        # Reset ends whatever the channel runs; pymacnet resets Completed channels too, so it is always accepted.
        chan, ch = self._channel(params)
        ch.halt(STOPPED, "reset through MacNet")
        self.record_stop(chan + 1, ch, "OK")
        return {"Chan": chan, "Result": "OK"}


def next_object(pending: bytes) -> tuple[bytes | None, bytes]:
    """(one whole JSON object, the rest) from the bytes received so far; (None, pending)
    while the object is incomplete. MacNet requests carry no terminator, so the end is
    where the outermost brace closes (braces inside strings do not count)."""
    text = pending.lstrip()
    if not text:
        return None, b""
    if text[:1] != b"{":
        return text, b""                  # not JSON: handed on whole, to be refused
    depth, in_string, escaped = 0, False, False
    for k, byte in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:            # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:
            depth += 1
        elif byte == 0x7D:
            depth -= 1
            if depth == 0:
                return text[: k + 1], text[k + 1:]
    return None, text


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sim: MaccorEmulator = self.server.sim  # type: ignore[attr-defined]
        if sim.is_down:
            return
        pending = b""
        while True:
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return
            if not chunk or sim.is_down:
                return
            pending += chunk
            while True:
                raw, pending = next_object(pending)
                if raw is None:
                    break
                try:
                    request = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    request = None
                if request is None:
                    answer = {"jsonrpc": "2.0", "error": {"code": PARSE_ERROR, "message": "Parse error"}, "id": None}
                    command = "parse error"
                else:
                    answer = sim.reply(request)
                    params = request.get("params") if isinstance(request, dict) else None
                    command = f"({params.get('FClass')},{params.get('FNum')})" if isinstance(params, dict) else ""
                reply = json.dumps(answer, separators=(",", ":")).encode("utf-8") + b"\r\n"
                garbled = b'{"jsonrpc":"2.0","res\x00\xff' + reply[12:30][::-1] + b"\r\n"
                if not send_with_fault(self.request, reply, sim.next_fault(command), sim, garbled):
                    return


class MaccorServer(LoopbackServer):
    """Serves a MaccorEmulator on 127.0.0.1:`port` (0: a free port) until close()."""

    def __init__(self, emulator: MaccorEmulator, port: int = 0):
        super().__init__(emulator, _Handler, port, "maccor")
        self.emulator = emulator
