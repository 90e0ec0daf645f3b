"""Our client of Maccor's MacNet interface: JSON-RPC 2.0 over TCP to the cycler PC,
port 57570 by default. It speaks the MacNet JSON messages as Maccor's MacNet help
describes them (the copy BatteryDataAlliance/pymacnet ships, docs/macnet_from_maccor_help.pdf;
facts in /work/shared/PROTOCOLS.md section 2): "jsonrpc": "2.0", "method": "MacNet",
FClass/FNum pairs (1,2) general information, (4,1) status of several channels, (4,7)
status and readings of one channel, and (6,5) reset. It does not speak MacNet's
native binary protocol (UDP 57550, TCP 57560).

What must be enabled on the Maccor side: MacNet's JSON-RPC port (57570 unless changed),
set with the other MacNet ports in System.ini, section [Misc_Options], then a restart
of the tester software; the cycler PC's firewall must let the station's address reach
that TCP port.

What MacNet does not offer, and what this client does instead:
- No stop command. The client stops a channel with Reset (6,5), which ends the running
  test (the data file stays on the cycler); the channel then reads Reset (stopped) or
  Available. Suspend (6,3) would leave the test half-alive, which a watcher cannot
  tell from a pause the operator made.
- No download of logged points. (4,7) gives the present readings with LastRecNum, the
  number of the test's last data record; `history` turns each new reading (a new
  LastRecNum or TestTime) into the next point, numbered 1, 2, 3 ... as first seen
  (readings.py); records logged between two polls are never seen (`missed` counts
  them). The whole test is in the cycler's data file, for an import afterwards.
- No test name, barcode or temperature. ChannelInfo names the test by its start
  (TesterTime less TestTime, to the minute); temperature is NaN.

Wire facts handled here: channels are 0-based on the wire and 1-based for people;
requests have no terminator and replies end in CRLF; keys are case-sensitive; a refused
request gets a JSON-RPC error object; Current is read as a magnitude and signed by the
reading's mode RF1 (2 = discharge), since a discharging channel may report it unsigned
(inferred; a negative Current is kept as it is).
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Iterator

import numpy as np

from instruments.cyclers.base import (ABSENT, FAULT, FINISHED, IDLE, PAUSED, RUNNING, STOPPED, ChannelInfo,
                                      CyclerError, Snapshot, StopAnswer, empty_records)
from instruments.cyclers.link import LinkedClient, show
from instruments.cyclers.readings import ReadingCounter

DEFAULT_PORT = 57570
STATUS_PAGE = 128            # (4,1) answers at most 128 channels at once

# Stat: 0 Available, 1 Selected, 2 Active, 3 Suspended, 4 Completed, 5 Problem, 6 Not/Avl,
# 7 Reset, 8 Start, 9 PWR Fail, 10 No Cntllr, 11 ShutDown, 12 Starting, 13 Blocked,
# 14 Waiting, 15 FRA, 16 Rem Maint.
_STATES = {0: IDLE, 1: IDLE, 2: RUNNING, 3: PAUSED, 4: FINISHED, 5: FAULT, 6: ABSENT, 7: STOPPED, 8: RUNNING,
           9: FAULT, 10: ABSENT, 11: FAULT, 12: RUNNING, 13: ABSENT, 14: RUNNING, 15: RUNNING, 16: ABSENT}
RF1_CHARGE, RF1_DISCHARGE = 1, 2
_READINGS = ("RF1", "Stat", "LastRecNum", "Cycle", "Step", "TestTime", "Capacity", "Current", "Voltage")


def _frame(data: bytes) -> int | None:
    if data.lstrip()[:1] not in (b"", b"{"):
        raise ValueError("the reply does not start as a JSON object")
    return len(data) if data.endswith(b"\r\n") else None


class MaccorClient(LinkedClient):
    """One TCP connection to a Maccor tester's MacNet JSON port. One watcher owns a
    client; a lock keeps each request with its reply."""

    protocol = "maccor"
    can_stop = True                  # by Reset: see the module's docstring

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout_s: float = 10.0):
        super().__init__(host, port, timeout_s)
        self._id = 0
        self._channel_count: int | None = None
        self.system_id = ""
        self.missed = 0              # records logged between two polls, never seen
        self._counter = ReadingCounter()
        self._last_record: dict[str, int] = {}

    # -- the connection --
    def _open(self) -> None:
        """Open the connection and read the tester's general information."""
        self._link.open()
        try:
            info = self._call_locked(1, 2, {}, None)
            self._channel_count = self._int(info, "TestChannels", "(1,2)", None)
        except CyclerError as exc:
            self._link.close()
            raise CyclerError(self.name, exc.command, f"{exc.detail}; is this MacNet's JSON port (57570 unless "
                                                      "System.ini [Misc_Options] says otherwise)?") from None
        self.system_id = str(info.get("SystemID", "") or "")

    def _call(self, fclass: int, fnum: int, params: dict, channel: str | None) -> dict:
        with self._lock:
            if not self._link.connected:
                self._open()        # after a dropped connection: reconnect on the next request
            return self._call_locked(fclass, fnum, params, channel)

    def _call_locked(self, fclass: int, fnum: int, params: dict, channel: str | None) -> dict:
        """One MacNet function: the request, its reply, and the checks that the reply is
        a JSON-RPC result answering this function."""
        command = f"({fclass},{fnum})"
        self._id = self._id % 65535 + 1
        request = {"jsonrpc": "2.0", "method": "MacNet", "params": {"FClass": fclass, "FNum": fnum, **params},
                   "id": self._id}
        raw = self._link.exchange(command, json.dumps(request, separators=(",", ":")).encode("ascii"), _frame,
                                  channel, expect="a MacNet JSON-RPC reply")
        try:
            reply = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._link.close()
            raise CyclerError(self.name, command, f"the reply does not parse as JSON ({exc}): {show(raw)}",
                              channel) from None
        if not isinstance(reply, dict) or reply.get("jsonrpc") != "2.0":
            self._link.close()
            raise CyclerError(self.name, command, f"the reply is not JSON-RPC 2.0: {show(raw)}", channel)
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {"message": reply["error"]}
            raise CyclerError(self.name, command, f"MacNet refused it: {error.get('message', error)}", channel)
        result = reply.get("result")
        if reply.get("id") != self._id or not isinstance(result, dict):
            self._link.close()
            raise CyclerError(self.name, command, f"the reply answers another request (id {reply.get('id')!r}, "
                                                  f"not {self._id}): {show(raw)}", channel)
        if (result.get("FClass"), result.get("FNum")) != (fclass, fnum):
            self._link.close()
            raise CyclerError(self.name, command, f"the reply answers ({result.get('FClass')},{result.get('FNum')})"
                                                  f": {show(raw)}", channel)
        return result

    def _int(self, result: dict, field: str, command: str, channel: str | None) -> int:
        value = result.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value != int(value):
            raise CyclerError(self.name, command, f"{field} is {value!r}, not a whole number", channel)
        return int(value)

    # -- addressing --
    def _wire(self, key: str, command: str = "(4,7)") -> int:
        """The 0-based wire channel of a key (the 1-based channel number as text)."""
        try:
            number = int(key)
        except ValueError:
            raise ValueError(f"{key!r} is not a Maccor channel key (its 1-based channel number)") from None
        if self._channel_count is not None and not 1 <= number <= self._channel_count:
            raise CyclerError(self.name, command, f"the tester has channels 1 to {self._channel_count}", key)
        return number - 1

    # -- what the station asks --
    def _statuses(self) -> list[int]:
        """Stat of every channel: (4,1), 128 channels a request."""
        with self._lock:
            if not self._link.connected:
                self._open()
            count = self._channel_count or 0
        out = []
        for first in range(0, count, STATUS_PAGE):
            length = min(STATUS_PAGE, count - first)
            result = self._call(4, 1, {"Chan": first, "Len": length}, None)
            statuses = result.get("Status")
            if not isinstance(statuses, list) or len(statuses) != length or \
                    not all(isinstance(status, dict) for status in statuses):
                raise CyclerError(self.name, "(4,1)", f"asked the status of {length} channels, got "
                                                      f"{show(json.dumps(statuses).encode())}")
            out += [self._int(status, "Stat", "(4,1)", str(first + k + 1)) for k, status in enumerate(statuses)]
        return out

    def channels(self) -> list[ChannelInfo]:
        """Every test channel with its state, and for a channel with a test, the test's
        start as its name (one (4,7) each)."""
        out = []
        for k, stat in enumerate(self._statuses()):
            state, key, name = _STATES.get(stat, FAULT), str(k + 1), ""
            if state not in (IDLE, ABSENT):
                name = _test_start(self._readings(key))
            out.append(ChannelInfo(key, self.system_id or "1", k + 1, state, test_name=name, test_id=name))
        return out

    def states(self, keys: list[str]) -> dict[str, str]:
        """key -> state, from (4,1) over all channels (one request up to 128 channels)."""
        stats = self._statuses()
        return {key: _STATES.get(stats[self._wire(key, "(4,1)")], FAULT) for key in keys}

    def _readings(self, key: str) -> dict:
        result = self._call(4, 7, {"Chan": self._wire(key)}, key)
        for field in _READINGS:
            value = result.get(field)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise CyclerError(self.name, "(4,7)", f"{field} is {value!r}, not a number", key)
        if result.get("Chan") != self._wire(key):
            raise CyclerError(self.name, "(4,7)", f"the reply is for wire channel {result.get('Chan')!r}", key)
        return result

    @staticmethod
    def _signed_current(r: dict) -> float:
        current = float(r["Current"])
        return -abs(current) if r["RF1"] == RF1_DISCHARGE else current

    def latest(self, key: str) -> Snapshot:
        r = self._readings(key)
        return Snapshot(_STATES.get(int(r["Stat"]), FAULT), float(r["TestTime"]), self._signed_current(r),
                        float(r["Voltage"]), int(r["Step"]), int(r["Cycle"]), points=int(r["LastRecNum"]), raw=r)

    def history(self, key: str, since_point: int = 0) -> Iterator[np.ndarray]:
        """At most one record: the present readings, when they are new (MacNet has no
        download; see the module's docstring)."""
        r = self._readings(key)
        record = int(r["LastRecNum"])
        if _STATES.get(int(r["Stat"])) in (IDLE, ABSENT) or record == 0:
            return
        point = self._counter.number(key, (record, float(r["TestTime"])), since_point)
        if point is None:
            return
        before = self._last_record.get(key)
        if before is not None and record > before + 1:
            self.missed += record - before - 1
        self._last_record[key] = record
        current = self._signed_current(r)
        capacity = float(r["Capacity"])
        charging = r["RF1"] == RF1_CHARGE or (r["RF1"] != RF1_DISCHARGE and current > 0)
        discharging = r["RF1"] == RF1_DISCHARGE or (r["RF1"] != RF1_CHARGE and current < 0)
        out = empty_records(1)
        out[0] = (point, float(r["TestTime"]), current, float(r["Voltage"]), int(r["Step"]), int(r["Cycle"]),
                  capacity if charging else 0.0, capacity if discharging else 0.0, np.nan)
        yield out

    def stop(self, key: str) -> StopAnswer:
        """End the channel's test with Reset (6,5): MacNet has no stop."""
        result = self._call(6, 5, {"Chan": self._wire(key, "(6,5)")}, key)
        said = result.get("Result")
        return StopAnswer(said == "OK", f"reset (6,5) Result {said!r}")


def _test_start(r: dict) -> str:
    """'started YYYY-MM-DD HH:MM', the test's start by the tester's clock (never empty:
    an empty test id would read as no test)."""
    try:
        now = datetime.fromisoformat(str(r.get("TesterTime")))
    except ValueError:
        return "started at an unknown time"
    return f"started {now - timedelta(seconds=float(r['TestTime'])):%Y-%m-%d %H:%M}"
