"""Our client of Arbin's CTI (the MITS Pro console's TCP/IP interface for third-party
programs), port 9031 by default. It speaks the message layout of "ArbinCTI Protocol
v1.1" (the document BatteryDataAlliance/pyctiarbin ships; facts in
/work/shared/PROTOCOLS.md section 3), not the obsolete layout of the older "Brief
introduction" document: LOGIN, GET_CHANNELS_INFO and STOP (THIRD_PARTY_STOP_SCHEDULE).

What must be enabled on the Arbin side: the CTI service of MITS Pro, listening on TCP
9031, reachable from the station through the firewall; a CTI user registered in the
CTI server for the station (its name and password go in SOLIDSTACK_ARBIN_USER and
SOLIDSTACK_ARBIN_PASSWORD); and, for the station to stop a channel, control rights for
that user (the login answer's IsAllowToControl: without it `can_stop` is False).

Framing: little-endian and packed. A header (u64 0x11DDDDDDDDDDDDDD, u32 dwLen, u32
command, u32 0), the arguments, then a u16 checksum, the byte sum of all before it.
dwLen differs by direction: a request's is its length less 12, a feedback's is its
whole length. Byte[n] fields are ASCII, char[n] fields UTF-16LE of 2n bytes.
Channels are 0-based on the wire and 1-based for people.

What CTI does not offer, and what this client does instead:
- No download of logged points and no point counter: each new GET_CHANNELS_INFO
  reading (a new test time) becomes the next point, numbered 1, 2, 3 ... as first seen
  (readings.py); a reading is never returned twice. `states` reads every channel's
  info once per round and `history` takes that same reading, so a round costs one
  request per channel.
- No numeric step and cycle: they are read from the text StepAndCycleFormat, taken
  as "[cycle] step: ..." (inferred from the one published example, "[1] 1: Step_A,
  Rest"); -1 where the text does not have that form.
- A reading flagged CommFailure (the server lost the channel's unit) is not taken:
  its values may be stale, and a communication fault must never look like a cell's.
"""
from __future__ import annotations

import os
import re
import struct
from typing import Iterator

import numpy as np

from instruments.cyclers.base import (ABSENT, FAULT, FINISHED, IDLE, PAUSED, RUNNING, STOPPED, ChannelInfo,
                                      CyclerError, Snapshot, StopAnswer, empty_records)
from instruments.cyclers.link import LinkedClient
from instruments.cyclers.readings import ReadingCounter

DEFAULT_PORT = 9031
MAGIC = 0x11DDDDDDDDDDDDDD
HEADER = struct.Struct("<QIII")
MAGIC_BYTES = struct.pack("<Q", MAGIC)

LOGIN, LOGIN_FEEDBACK = 0xEEAB0001, 0xEEBA0001
CHANNEL_INFO, CHANNEL_INFO_FEEDBACK = 0xEEAB0003, 0xEEBA0003
STOP, STOP_FEEDBACK = 0xBB310001, 0xBB130001
NEED_AUX = 0x400             # NeedTypeSet: send the aux readings (temperature) with each channel
COMMANDS = {LOGIN: "LOGIN", CHANNEL_INFO: "GET_CHANNELS_INFO", STOP: "STOP"}

# GET_CHANNELS_INFO feedback, one channel: index, status, comm failure, schedule,
# test name, exit condition, step-and-cycle text, barcode, CAN, SMB, master channel,
# test and step time, 12 readings (V, I, P, charge/discharge Ah and Wh, IR, dV/dt,
# ACR, ACI, ACI phase), then 14 counts (12 aux kinds, BMS, SMB).
CHANNEL = struct.Struct("<IhB400s144s100s64s144s400s400sHdd12f14H")
AUX_PAIR = struct.Struct("<ff")
# LOGIN feedback after the header: result, IP, serial number, note, nickname, location,
# contact, comments, e-mail, phone, then ITAC, version, allow control, channel count,
# user type, picture length.
LOGIN_BODY = struct.Struct("<I4s16s256s2048s2048s2048s2048s128s32sIIIIII")
STOP_BODY = struct.Struct("<iB101s")

_STATES = {0: IDLE, 1: RUNNING, 2: RUNNING, 3: RUNNING, 4: RUNNING, 5: RUNNING, 6: RUNNING, 7: IDLE, 8: FAULT,
           9: RUNNING, 10: RUNNING, 11: RUNNING, 12: RUNNING, 13: IDLE, 14: FAULT, 15: FINISHED, 16: IDLE,
           17: RUNNING, 18: PAUSED, 19: ABSENT, 20: IDLE, 21: RUNNING, 22: RUNNING, 23: RUNNING, 24: RUNNING,
           25: PAUSED, 26: STOPPED, 27: RUNNING, 28: RUNNING, 29: FAULT, 30: RUNNING}
STATUS_START = 21
STOP_RESULTS = {0: "stopped", 0x10: "no such channel", 0x11: "someone is using the monitor window"}
LOGIN_RESULTS = {1: "ok", 2: "refused", 3: "already logged in"}
_STEP_CYCLE = re.compile(r"^\s*\[(\d+)\]\s*(\d+)\s*:")


def checksum(data: bytes) -> int:
    return sum(data) & 0xFFFF


def request(command: int, args: bytes) -> bytes:
    """A whole request: header (dwLen = its length less 12), arguments, checksum."""
    body = HEADER.pack(MAGIC, HEADER.size + len(args) + 2 - 12, command, 0) + args
    return body + struct.pack("<H", checksum(body))


def feedback(command: int, args: bytes) -> bytes:
    """A whole feedback (dwLen = its whole length), as the CTI server sends it."""
    body = HEADER.pack(MAGIC, HEADER.size + len(args) + 2, command, 0) + args
    return body + struct.pack("<H", checksum(body))


def _frame(data: bytes) -> int | None:
    if not MAGIC_BYTES.startswith(data[:8]):
        raise ValueError("the reply does not start with the CTI header")
    if len(data) < HEADER.size:
        return None
    length = HEADER.unpack_from(data)[1]
    if length < HEADER.size + 2:
        raise ValueError(f"the reply gives its length as {length} bytes")
    return length if len(data) >= length else None


def ascii_field(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def wide_field(raw: bytes) -> str:
    return raw.decode("utf-16-le", "replace").split("\0", 1)[0]


def step_and_cycle(text: str) -> tuple[int, int]:
    """(step, cycle) from the StepAndCycleFormat text; -1 each where it has no "[c] s:"."""
    m = _STEP_CYCLE.match(text)
    return (int(m.group(2)), int(m.group(1))) if m else (-1, -1)


class ArbinClient(LinkedClient):
    """One logged-in TCP connection to an Arbin CTI server. One watcher owns a client;
    a lock keeps each request with its feedback."""

    protocol = "arbin"
    can_stop = True                  # until the login says the user may not control

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout_s: float = 10.0,
                 user: str | None = None, password: str | None = None):
        super().__init__(host, port, timeout_s)
        self.user = os.environ.get("SOLIDSTACK_ARBIN_USER", "admin") if user is None else user
        self.password = os.environ.get("SOLIDSTACK_ARBIN_PASSWORD", "000000") if password is None else password
        self.channel_count: int | None = None
        self.serial = ""
        self.version = 0
        self._counter = ReadingCounter()
        self._fresh: dict[str, dict] = {}      # readings taken by states(), for history() to use once

    # -- the connection --
    def _open(self) -> None:
        """Open the connection and log in."""
        self._link.open("LOGIN")
        try:
            args = self.user.encode("ascii").ljust(32, b"\0")[:32] + self.password.encode("ascii").ljust(32, b"\0")[:32]
        except UnicodeEncodeError:
            self._link.close()
            raise CyclerError(self.name, "LOGIN", "the CTI user name and password must be ASCII") from None
        try:
            body = self._exchange_locked(LOGIN, args, LOGIN_FEEDBACK, None)
        except CyclerError as exc:
            self._link.close()
            raise CyclerError(self.name, "LOGIN", f"{exc.detail}; is this Arbin's CTI port (9031)?") from None
        if len(body) < LOGIN_BODY.size:
            self._link.close()
            raise CyclerError(self.name, "LOGIN", f"a login feedback of {len(body)} bytes, not {LOGIN_BODY.size}+")
        fields = LOGIN_BODY.unpack_from(body)
        result, serial, version, allow, count = fields[0], fields[2], fields[11], fields[12], fields[13]
        if result not in (1, 3):
            self._link.close()
            raise CyclerError(self.name, "LOGIN", f"the CTI server {LOGIN_RESULTS.get(result, f'answered {result}')}"
                                                  f" user {self.user!r}; is the user registered in the CTI server?")
        self.serial, self.version, self.channel_count = ascii_field(serial), version, count
        self.can_stop = bool(allow)

    def _exchange(self, command: int, args: bytes, answer: int, channel: str | None) -> bytes:
        with self._lock:
            if not self._link.connected:
                self._open()        # after a dropped connection: log in again on the next request
            return self._exchange_locked(command, args, answer, channel)

    def _exchange_locked(self, command: int, args: bytes, answer: int, channel: str | None) -> bytes:
        """One request and its feedback; returns the feedback's arguments (no header, no
        checksum) once its command code and checksum are checked."""
        name = COMMANDS[command]
        raw = self._link.exchange(name, request(command, args), _frame, channel, expect="an Arbin CTI feedback")
        code = HEADER.unpack_from(raw)[2]
        if checksum(raw[:-2]) != struct.unpack_from("<H", raw, len(raw) - 2)[0]:
            self._link.close()
            raise CyclerError(self.name, name, f"the feedback's checksum does not match its {len(raw)} bytes "
                                               "(garbled reply)", channel)
        if code != answer:
            self._link.close()
            raise CyclerError(self.name, name, f"the feedback has command code {code:#010x}, not {answer:#010x}",
                              channel)
        return raw[HEADER.size:-2]

    # -- addressing --
    def _wire(self, key: str, command: str) -> int:
        try:
            number = int(key)
        except ValueError:
            raise ValueError(f"{key!r} is not an Arbin channel key (its 1-based channel number)") from None
        if self.channel_count is not None and not 1 <= number <= self.channel_count:
            raise CyclerError(self.name, command, f"the cycler has channels 1 to {self.channel_count}", key)
        return number - 1

    # -- what the station asks --
    def _info(self, key: str) -> dict:
        wire = self._wire(key, "GET_CHANNELS_INFO")
        args = struct.pack("<hhI32s", wire, 1, NEED_AUX, b"")
        body = self._exchange(CHANNEL_INFO, args, CHANNEL_INFO_FEEDBACK, key)
        try:
            (n,) = struct.unpack_from("<I", body)
            if n != 1:
                raise CyclerError(self.name, "GET_CHANNELS_INFO", f"the feedback holds {n} channels, not 1", key)
            f = CHANNEL.unpack_from(body, 4)
        except struct.error:
            raise CyclerError(self.name, "GET_CHANNELS_INFO", f"a channel feedback of {len(body)} bytes is too "
                                                              "short", key) from None
        if f[0] != wire:
            raise CyclerError(self.name, "GET_CHANNELS_INFO", f"the feedback is for wire channel {f[0]}", key)
        counts = f[25:39]
        aux = [AUX_PAIR.unpack_from(body, 4 + CHANNEL.size + 8 * k)[0]
               for k in range(min(sum(counts[:2]), (len(body) - 4 - CHANNEL.size) // 8))]
        step, cycle = step_and_cycle(ascii_field(f[6]))
        return {"status": f[1], "comm_failure": f[2], "schedule": wide_field(f[3]), "test_name": wide_field(f[4]),
                "exit_condition": ascii_field(f[5]), "step_and_cycle": ascii_field(f[6]), "barcode": wide_field(f[7]),
                "test_time_s": f[11], "step_time_s": f[12], "voltage_v": f[13], "current_a": f[14],
                "charge_ah": f[16], "discharge_ah": f[17], "step": step, "cycle": cycle,
                "temperature_c": aux[counts[0]] if counts[1] and len(aux) > counts[0] else float("nan")}

    @staticmethod
    def _state(info: dict) -> str:
        # A channel stopped from outside reads Finished; its exit condition tells it was a stop.
        if info["status"] == 15 and "stop" in info["exit_condition"].lower():
            return STOPPED
        return _STATES.get(info["status"], FAULT)

    def channels(self) -> list[ChannelInfo]:
        """Every channel with its state, test name and barcode (one GET_CHANNELS_INFO
        each: one request, one feedback)."""
        with self._lock:
            if not self._link.connected:
                self._open()
        out = []
        for number in range(1, (self.channel_count or 0) + 1):
            i = self._info(str(number))
            out.append(ChannelInfo(str(number), self.serial or "1", number, self._state(i),
                                   test_name=i["test_name"], barcode=i["barcode"], test_id=i["test_name"]))
        return out

    def latest(self, key: str) -> Snapshot:
        i = self._info(key)
        return Snapshot(self._state(i), i["test_time_s"], i["current_a"], i["voltage_v"],
                        None if i["step"] < 0 else i["step"], None if i["cycle"] < 0 else i["cycle"], raw=i)

    def states(self, keys: list[str]) -> dict[str, str]:
        """key -> state: one GET_CHANNELS_INFO per channel (CTI has no cheaper status
        query); the readings are kept for the history() of the same round."""
        self._fresh = {key: self._info(key) for key in keys}
        return {key: self._state(i) for key, i in self._fresh.items()}

    def history(self, key: str, since_point: int = 0) -> Iterator[np.ndarray]:
        """At most one record: the present reading, when it is new (CTI has no
        download; see the module's docstring)."""
        i = self._fresh.pop(key, None) or self._info(key)
        if self._state(i) in (IDLE, ABSENT) or i["status"] == STATUS_START or i["comm_failure"]:
            return                  # no test, a schedule still starting, or a channel the server lost: no fresh reading
        point = self._counter.number(key, i["test_time_s"], since_point)
        if point is None:
            return
        out = empty_records(1)
        out[0] = (point, i["test_time_s"], i["current_a"], i["voltage_v"], i["step"], i["cycle"], i["charge_ah"],
                  i["discharge_ah"], i["temperature_c"])
        yield out

    def stop(self, key: str) -> StopAnswer:
        wire = self._wire(key, "STOP")
        body = self._exchange(STOP, struct.pack("<IB101s", wire, 0, b""), STOP_FEEDBACK, key)
        try:
            channel, result, _ = STOP_BODY.unpack_from(body)
        except struct.error:
            raise CyclerError(self.name, "STOP", f"a stop feedback of {len(body)} bytes is too short", key) from None
        said = STOP_RESULTS.get(result, f"result {result:#04x}")
        return StopAnswer(result == 0 and channel == wire, f"STOP feedback: {said}")
