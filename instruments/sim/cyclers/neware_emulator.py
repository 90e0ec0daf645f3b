"""An emulated Neware BTS server on 127.0.0.1: the XML-over-TCP API as PROTOCOLS.md
section 1 describes it, one channel per simulated cell (SimChannel), on an accelerated
clock.

Layout: devtype 27, devid 1; channels 1-8 on subdevid 1, 9-16 on subdevid 2, and so on
(chlid 1-8 within each). getchlstatus answers every channel with subdevid="1", the
quirk a real BTS may show: a client must match answers to requests by position.

Where the real server's rejection is unknown (PROTOCOLS.md: "the errors returned for
bad XML or unknown commands are unknown") this emulator is conservative, and says so
where it decides: a request that is not a <bts> document, or any command before
connect, closes the connection; an unknown command gets `<cmd>NAME_resp</cmd>` with
`<result>false</result>`; a channel that does not exist is answered `false`.

Faults for tests (inject): "drop" (the connection closes instead of the reply),
"partial" (half the reply, then the connection closes), "garble" (noise ended by the
end mark), "slow" (the reply comes `slow_s` late); end_test(n) makes channel n end its
test by itself; down()/recover() refuse connections for a while. Every stop that
arrives through the interface is recorded in `stops`.
"""
from __future__ import annotations

import socketserver
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import quoteattr

from instruments.cyclers.base import FAULT, FINISHED, PAUSED, RUNNING, STOPPED
from instruments.sim.cyclers.base import CyclerSim, LoopbackServer, send_with_fault
from instruments.sim.cyclers.channel import SimChannel

END = b"\n\n#\r\n"
DEVTYPE, DEVID, PER_SUBDEVICE = 27, 1, 8
_WORDS = {RUNNING: "working", PAUSED: "pause", FINISHED: "finish", STOPPED: "stop", FAULT: "protect"}


def _attr(value) -> str:
    return quoteattr(str(value))


class NewareEmulator(CyclerSim):
    """The emulated BTS server: CyclerSim's channels, clock and faults, answering the
    BTS API's commands."""

    def __init__(self, channels: list[SimChannel], speed: float = 3600.0, slow_s: float = 2.0,
                 started_utc: datetime | None = None):
        super().__init__(channels, speed=speed, slow_s=slow_s)
        self.started_utc = started_utc or datetime.now(timezone.utc).replace(microsecond=0)
        self.frozen_at: float | None = None

    def now(self) -> float:
        return super().now() if self.frozen_at is None else self.frozen_at

    def freeze(self, t_s: float | None) -> None:
        """Hold the clock at test time `t_s` (None: run on), for tests that compare logs."""
        self.frozen_at = t_s

    # -- addressing --
    @staticmethod
    def address(index: int) -> tuple[int, int]:
        """(subdevid, chlid) of the channel at 0-based `index`."""
        return index // PER_SUBDEVICE + 1, index % PER_SUBDEVICE + 1

    def channel_at(self, element: ET.Element) -> tuple[int, SimChannel] | None:
        try:
            devtype, devid = int(element.get("devtype", "")), int(element.get("devid", ""))
            subdevid, chlid = int(element.get("subdevid", "")), int(element.get("chlid", ""))
        except ValueError:
            return None
        index = (subdevid - 1) * PER_SUBDEVICE + chlid - 1
        if devtype != DEVTYPE or devid != DEVID or not 1 <= chlid <= PER_SUBDEVICE or not 0 <= index < len(self.channels):
            return None
        return index, self.channels[index]

    def ids(self, index: int, with_ip: bool = True, subdevid: int | None = None) -> str:
        sub, chl = self.address(index)
        ip = 'ip="127.0.0.1" ' if with_ip else ""
        return f'{ip}devtype="{DEVTYPE}" devid="{DEVID}" subdevid="{sub if subdevid is None else subdevid}" chlid="{chl}"'

    # -- the commands --
    def answer(self, root: ET.Element) -> str:
        """The reply body (inside <bts>) to one parsed request."""
        command = (root.findtext("cmd") or "").strip()
        self.requests[command] += 1
        self.advance()
        handler = getattr(self, f"_cmd_{command}", None)
        lines = [f"<cmd>{command}_resp</cmd>" if command != "download" else "<cmd>donwload_resp</cmd>"]
        if handler is None:
            return lines[0] + "\r\n  <result>false</result>"     # conservative: unknown command
        return "\r\n  ".join(lines + handler(root))

    def _cmd_connect(self, root: ET.Element) -> list[str]:
        return ["<result>ok</result>"]

    def _cmd_getdevinfo(self, root: ET.Element) -> list[str]:
        rows = [f"  <channel {self.ids(k).replace('chlid', 'Channelid')}>true</channel>" for k in range(len(self.channels))]
        return ['<serverip count="1">', '  <server ip="127.0.0.1" port="3306" />', "</serverip>",
                f'<middle count="{len(rows)}">', *rows, "</middle>"]

    def _listed(self, root: ET.Element, tag: str, item) -> list[str]:
        rows = []
        for element in root.iter(tag):
            found = self.channel_at(element)
            rows.append(item(element, found))
        return [f'<list count="{len(rows)}">', *rows, "</list>"]

    def _cmd_getchlstatus(self, root: ET.Element) -> list[str]:
        def item(element, found):
            if found is None:
                return f"  <status {_echo(element)}>false</status>"
            index, channel = found
            # the quirk: every answer says subdevid 1
            return f'  <status {self.ids(index, subdevid=1)} reservepause="1">{_WORDS[channel.state]}</status>'
        return self._listed(root, "status", item)

    def _cmd_inquire(self, root: ET.Element) -> list[str]:
        def item(element, found):
            if found is None:
                return f'  <inquire dev="{element.get("devtype")}-{element.get("devid")}-{element.get("subdevid")}-' \
                       f'{element.get("chlid")}-0" workstatus="false" />'
            index, ch = found
            sub, chl = self.address(index)
            step = f' step_id="{ch.step_no}"' if ch.step_no is not None else ""
            working = ch.state == RUNNING
            return (f'  <inquire dev="{DEVTYPE}-{DEVID}-{sub}-{chl}-0" cycle_id="{ch.cycle}"'
                    f'{step} step_type="{ch.step_type}" workstatus="{_WORDS[ch.state]}" barcode={_attr(ch.barcode)} '
                    f'current="{ch.current_a!r}" voltage="{ch.voltage_now()!r}" capacity="{ch.capacity_ah!r}" '
                    f'energy="{ch.energy_wh!r}" totaltime="{ch.t!r}" relativetime="{ch.step_time_s!r}" '
                    f'open_or_close="0" log_code="{102000 if working else 0}" />')
        return self._listed(root, "inquire", item)

    def _cmd_inquiredf(self, root: ET.Element) -> list[str]:
        def item(element, found):
            if found is None:
                return f'  <chl {_echo(element)} testid="0" count="0">false</chl>'
            index, ch = found
            return f'  <chl {self.ids(index, with_ip=False)} testid="{ch.test_id}" count="{ch.points}">true</chl>'
        return self._listed(root, "chl", item)

    def _cmd_download(self, root: ET.Element) -> list[str]:
        request = root.find("download")
        found = self.channel_at(request) if request is not None else None
        if found is None:
            return ["<result>false</result>"]     # conservative: no such channel
        index, ch = found
        try:
            start, count = int(request.get("startpos", "1")), int(request.get("count", "0"))
        except ValueError:
            return ["<result>false</result>"]
        echo = f'<download {self.ids(index, with_ip=False)} testid="{ch.test_id}" startpos="{start}" ' \
               f'count="{count}" auxid="0" />'
        records = ch.records(start, count) if start >= 1 and count > 0 else ch.records(1, 0)
        rows = []
        for r in records:
            current = float(r["current_a"])
            kind = "cc" if current > 0 else "dc" if current < 0 else "rest"
            cap = float(r["charge_ah"] if current >= 0 else r["discharge_ah"])
            stamp = (self.started_utc + timedelta(seconds=float(r["time_s"]))).strftime("%Y-%m-%d %H:%M:%S")
            rows.append(f'  <data seqid="{int(r["point"])}" stepid="{int(r["step"])}" cycleid="{int(r["cycle"])}" '
                        f'steptype="{kind}" testtime="{float(r["time_s"]) * 1000.0!r}" atime="{stamp}" '
                        f'volt="{float(r["voltage_v"])!r}" curr="{current!r}" cap="{cap!r}" eng="0" />')
        return [echo, f'<list count="{len(rows)}">', *rows, "</list>"]

    def _cmd_stop(self, root: ET.Element) -> list[str]:
        def item(element, found):
            if found is None:
                return f"  <stop {_echo(element)}>false</stop>"
            index, ch = found
            ok = ch.state in (RUNNING, PAUSED)
            ch.halt(STOPPED, "stopped through the API")
            self.record_stop(index + 1, ch, "ok" if ok else "false")
            self.stops[-1]["wall"] = time.monotonic() - self._t0    # s since start: a stop's latency is measured by it
            return f'  <stop {self.ids(index)}>{"ok" if ok else "false"}</stop>'
        return self._listed(root, "stop", item)

    def _cmd_start(self, root: ET.Element) -> list[str]:
        # The emulator's channels run the protocols they were built with: a start is
        # answered false (as the BTS answers a channel it will not start).
        return self._listed(root, "start", lambda element, found: f"  <start {_echo(element)}>false</start>")


def _echo(element: ET.Element) -> str:
    return " ".join(f"{k}={_attr(v)}" for k, v in element.attrib.items() if k in
                    ("ip", "devtype", "devid", "subdevid", "chlid"))


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        emulator: NewareEmulator = self.server.sim  # type: ignore[attr-defined]
        if emulator.is_down:
            return
        pending, connected = b"", False
        while True:
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            while b"#\r\n" in pending:
                raw, _, pending = pending.partition(b"#\r\n")
                try:
                    root = ET.fromstring(raw.strip())
                except ET.ParseError:
                    return                          # conservative: bad framing or XML closes the connection
                command = (root.findtext("cmd") or "").strip()
                if root.tag != "bts" or (command != "connect" and not connected) or emulator.is_down:
                    return                          # conservative: nothing is answered before connect
                connected = True
                fault = emulator.next_fault(command)
                body = emulator.answer(root) if fault != "drop" else ""
                reply = (f'<?xml version="1.0" encoding="UTF-8"?>\r\n<bts version="1.0">\r\n  {body}\r\n</bts>'
                         ).encode("utf-8") + END
                if not send_with_fault(self.request, reply, fault, emulator, b"\x00\xff<bts ver\x1b" + reply[7:40][::-1] + END):
                    return


class NewareServer(LoopbackServer):
    """Serves a NewareEmulator on 127.0.0.1:`port` (0: a free port) until close()."""

    def __init__(self, emulator: NewareEmulator, port: int = 0):
        super().__init__(emulator, _Handler, port=port, name="neware")
        self.emulator = emulator
