"""Our client of the Neware BTS 7/8 API: XML over TCP to the BTS server PC (port 502 by
default), as described in /work/shared/PROTOCOLS.md section 1 (interface version
`<bts version="1.0">`, replies as captured from BTS 8.0).

What must be enabled on the BTS side: the API is off by default. In BTS, Help -> Mode
settings, switch the API on (Neware may have to supply an activation key), and let the
BTS server PC accept TCP connections on its API port (502, or the one set there) from
the station's address through its firewall. The user and password sent with `connect`
are BTS's API defaults (admin / neware) unless the lab changed them.

Framing: a request is the XML declaration, `<bts version="1.0">`, the body, `</bts>`,
then the end mark "\\n\\n#\\r\\n"; a reply ends with the same mark. Channels are
addressed by ip, devtype, devid, subdevid and chlid.

Known reply quirks, handled here:
- getchlstatus may report another subdevice's data with subdevid="1": replies are
  matched to requests by position, never by the ids they carry.
- a list's `count` attribute can disagree with the elements it holds: it is ignored.
- the download reply's command is spelled `donwload_resp`; both spellings are taken.
- an idle channel reports `step_type="--"` and no step_id: read as no step.
- download `testtime` is in milliseconds, inquire `totaltime` in seconds.
The station sends only what watching needs (connect, getdevinfo, getchlstatus,
inquire, inquiredf, download) and stop; start exists for the operator's explicit use.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Iterator
from xml.sax.saxutils import quoteattr

import numpy as np

from instruments.cyclers.base import (ABSENT, FAULT, FINISHED, IDLE, PAUSED, RUNNING, STOPPED, ChannelInfo,
                                      CyclerError, Snapshot, StopAnswer, empty_records)
from instruments.cyclers.link import LinkedClient, show

DEFAULT_PORT = 502
END = b"\n\n#\r\n"
HEADER = '<?xml version="1.0" encoding="UTF-8" ?><bts version="1.0">'
PAGE = 1000                       # points per download request, as BTS clients page
USERNAME, PASSWORD = "admin", "neware"

_STATES = {"working": RUNNING, "pause": PAUSED, "finish": FINISHED, "stop": STOPPED, "protect": FAULT,
           "false": ABSENT}


@dataclass(frozen=True)
class Address:
    ip: str
    devtype: int
    devid: int
    subdevid: int
    chlid: int

    @property
    def key(self) -> str:
        return f"{self.devtype}-{self.devid}-{self.subdevid}-{self.chlid}@{self.ip}"

    @classmethod
    def from_key(cls, key: str) -> "Address":
        try:
            ids, ip = key.split("@", 1)
            devtype, devid, subdevid, chlid = (int(x) for x in ids.split("-"))
        except ValueError:
            raise ValueError(f"{key!r} is not a Neware channel key (devtype-devid-subdevid-chlid@ip)") from None
        return cls(ip, devtype, devid, subdevid, chlid)

    def attrs(self, with_ip: bool = True) -> str:
        ip = f"ip={quoteattr(self.ip)} " if with_ip else ""
        return f'{ip}devtype="{self.devtype}" devid="{self.devid}" subdevid="{self.subdevid}" chlid="{self.chlid}"'

    @property
    def label(self) -> str:
        return f"unit {self.unit} ch {self.chlid}"

    @property
    def unit(self) -> str:
        # "unit 1 ch 3" for the first subdevice; "unit 1.2 ch 3" names another one
        return str(self.devid) if self.subdevid == 1 else f"{self.devid}.{self.subdevid}"


def _number(element: ET.Element, name: str, default: float | None = None) -> float | None:
    text = element.get(name)
    if text is None or text.strip() in ("", "--"):
        return default
    return float(text)


class NewareClient(LinkedClient):
    """One TCP connection to a BTS server. Not thread-safe by design beyond a lock per
    exchange: one watcher owns a client."""

    protocol = "neware"
    can_stop = True

    def __init__(self, host: str, port: int = DEFAULT_PORT, timeout_s: float = 10.0):
        super().__init__(host, port, timeout_s)
        self._addresses: dict[str, Address] = {}

    # -- the connection --
    def _open(self) -> None:
        """Open the TCP connection and log in."""
        self._link.open()
        reply = self._parse("connect", self._send_receive("connect", f"<cmd>connect</cmd><username>{USERNAME}"
                            f"</username><password>{PASSWORD}</password><type>bfgs</type>", None), None)
        result = (reply.findtext("result") or "").strip()
        if result != "ok":
            self.close()
            raise CyclerError(self.name, "connect", f"the BTS refused the login (result {result!r}); is the API "
                                                    "enabled in BTS (Help -> Mode settings)?")

    def _exchange(self, command: str, body: str, channel: str | None = None) -> ET.Element:
        """Send one request, read its whole reply, parse it and check it answers
        `command`. Any failure closes the connection (a half-read reply must not be
        taken for the next one's) and raises CyclerError naming the command."""
        with self._lock:
            if not self._link.connected:
                self._open()      # after a dropped connection: reconnect on the next request
            raw = self._send_receive(command, body, channel)
        return self._parse(command, raw, channel)

    def _parse(self, command: str, raw: bytes, channel: str | None) -> ET.Element:
        try:
            root = ET.fromstring(raw[: -len(END)] if raw.endswith(END) else raw.rstrip(b"\r\n#"))
        except ET.ParseError as exc:
            self.close()
            raise CyclerError(self.name, command, f"the reply does not parse as XML ({exc}): {show(raw)}",
                              channel) from None
        answered = (root.findtext("cmd") or "").strip()
        expected = {f"{command}_resp"} | ({"donwload_resp"} if command == "download" else set())
        if root.tag != "bts" or answered not in expected:
            self.close()
            raise CyclerError(self.name, command, f"the reply answers {answered or root.tag!r}, not {command}: "
                                                  f"{show(raw)}", channel)
        return root

    def _send_receive(self, command: str, body: str, channel: str | None) -> bytes:
        return self._link.exchange(command, (HEADER + body + "</bts>").encode("utf-8") + END, _frame, channel,
                                   expect="a Neware BTS reply")

    # -- what the station asks --
    def channels(self) -> list[ChannelInfo]:
        """Every channel of the server with its state, barcode and test id (four
        exchanges: getdevinfo, getchlstatus, inquire, inquiredf)."""
        root = self._exchange("getdevinfo", "<cmd>getdevinfo</cmd>")
        addresses = []
        for element in root.iter("channel"):
            try:
                chlid = element.get("Channelid", element.get("chlid"))
                addresses.append(Address(element.get("ip", self.host), int(element.get("devtype")),
                                         int(element.get("devid")), int(element.get("subdevid")), int(chlid)))
            except (TypeError, ValueError):
                raise CyclerError(self.name, "getdevinfo", f"a channel without whole-number ids: "
                                                           f"{show(ET.tostring(element))}") from None
        if not addresses:
            return []
        self._addresses = {a.key: a for a in addresses}
        states = self._per_channel("getchlstatus", "status", addresses, "<status {}>true</status>")
        inquired = self._per_channel("inquire", "inquire", addresses,
                                     '<inquire {} aux="0" barcode="1">true</inquire>')
        tests = self._per_channel("inquiredf", "chl", addresses, '<chl {} testid="0"/>', with_ip=False)
        out = []
        for a, status, inq, test in zip(addresses, states, inquired, tests):
            state = _STATES.get((status.text or "").strip(), IDLE)
            test_id = test.get("testid", "") if state != ABSENT else ""
            out.append(ChannelInfo(a.key, a.unit, a.chlid, state, test_name=f"test {test_id}" if test_id else "",
                                   barcode=inq.get("barcode", "") or "", test_id=test_id))
        return out

    def states(self, keys: list[str]) -> dict[str, str]:
        """key -> state of the channels asked, in one getchlstatus exchange."""
        addresses = [self._address(key) for key in keys]
        found = self._per_channel("getchlstatus", "status", addresses, "<status {}>true</status>")
        return {a.key: _STATES.get((status.text or "").strip(), IDLE) for a, status in zip(addresses, found)}

    def _per_channel(self, command: str, tag: str, addresses: list[Address], item: str,
                     with_ip: bool = True) -> list[ET.Element]:
        """One request for several channels; replies matched by position (the ids in
        them may be wrong), exactly one per channel asked."""
        items = "".join(item.format(a.attrs(with_ip)) for a in addresses)
        root = self._exchange(command, f'<cmd>{command}</cmd><list count="{len(addresses)}">{items}</list>',
                              addresses[0].label if len(addresses) == 1 else None)
        found = list(root.iter(tag))
        if len(found) != len(addresses):
            raise CyclerError(self.name, command, f"{len(found)} <{tag}> answers to {len(addresses)} channels asked",
                              addresses[0].label if len(addresses) == 1 else None)
        return found

    def _address(self, key: str) -> Address:
        return self._addresses.get(key) or Address.from_key(key)

    def test_info(self, key: str) -> tuple[str, int]:
        """(test id, number of logged points) of the channel's current test."""
        a = self._address(key)
        (chl,) = self._per_channel("inquiredf", "chl", [a], '<chl {} testid="0"/>', with_ip=False)
        try:
            return chl.get("testid", ""), int(chl.get("count", "0"))
        except ValueError:
            raise CyclerError(self.name, "inquiredf", f"count {chl.get('count')!r} is not a whole number",
                              a.label) from None

    def download(self, key: str, startpos: int, count: int = PAGE) -> np.ndarray:
        """Points startpos .. startpos+count-1 (1-based) of the current test as records."""
        a = self._address(key)
        root = self._exchange("download", f'<cmd>download</cmd><download {a.attrs(with_ip=False)} auxid="0" '
                                          f'testid="0" startpos="{int(startpos)}" count="{int(count)}"/>', a.label)
        rows = list(root.iter("data"))
        out = empty_records(len(rows))
        try:
            for k, row in enumerate(rows):
                current = float(row.get("curr"))
                cap = _number(row, "cap", 0.0)
                discharging = (row.get("steptype") or "").startswith("d") or current < 0
                out[k] = (int(row.get("seqid")), float(row.get("testtime")) / 1000.0, current, float(row.get("volt")),
                          int(row.get("stepid")), int(row.get("cycleid")), 0.0 if discharging else cap,
                          cap if discharging else 0.0, _number(row, "temp", np.nan))
        except (TypeError, ValueError):
            raise CyclerError(self.name, "download", f"a point with a missing or non-numeric field: "
                                                     f"{show(ET.tostring(row))}", a.label) from None
        return out

    def history(self, key: str, since_point: int = 0) -> Iterator[np.ndarray]:
        """The test's points after `since_point`, page by page, until a short page."""
        start = since_point + 1
        while True:
            page = self.download(key, start, PAGE)
            if page.size:
                yield page
                start = int(page["point"][-1]) + 1
            if page.size < PAGE:
                return

    def latest(self, key: str) -> Snapshot:
        a = self._address(key)
        (inq,) = self._per_channel("inquire", "inquire", [a], '<inquire {} aux="0" barcode="1">true</inquire>')
        try:
            step = _number(inq, "step_id")
            cycle = _number(inq, "cycle_id")
            return Snapshot(_STATES.get(inq.get("workstatus", ""), IDLE), _number(inq, "totaltime", 0.0),
                            _number(inq, "current", 0.0), _number(inq, "voltage", np.nan),
                            None if step is None else int(step), None if cycle is None else int(cycle),
                            raw=dict(inq.attrib))
        except ValueError:
            raise CyclerError(self.name, "inquire", f"a non-numeric field: {show(ET.tostring(inq))}", a.label) from None

    def stop(self, key: str) -> StopAnswer:
        a = self._address(key)
        (answer,) = self._per_channel("stop", "stop", [a], "<stop {}>true</stop>")
        said = (answer.text or "").strip()
        return StopAnswer(said == "ok", f"stop_resp {said!r}")

    def start(self, key: str, step_file: str, barcode: str = "") -> StopAnswer:
        """Start the step file (a path on the BTS PC) on the channel, with the cell id as
        barcode. Only on the operator's request; the watcher never calls it."""
        a = self._address(key)
        item = (f"<start {a.attrs()} barcode={quoteattr(barcode)}>{_escape(step_file)}</start>"
                '<backup backupdir="" remotedir="" filenametype="0" customfilename="" addtimewhenrepeat="0" '
                'createdirbydate="0" filetype="0" backupontime="0" backupontimeinterval="720" backupfree="1"/>')
        root = self._exchange("start", f'<cmd>start</cmd><list count="1">{item}</list>', a.label)
        found = list(root.iter("start"))
        said = (found[0].text or "").strip() if found else ""
        return StopAnswer(said == "ok", f"start_resp {said!r}")


def _frame(data: bytes) -> int | None:
    """A BTS reply ends with "#" and CR LF."""
    return len(data) if data.endswith(b"#\r\n") else None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

