"""A line-based SCPI server on the loopback interface: pyvisa-py opens it as a
`TCPIP::127.0.0.1::PORT::SOCKET` resource, exactly as it would a LAN instrument.

Faults can be injected on purpose, to prove the drivers and the engine cope:
`timeout` (the next message gets no reply), `disconnect` (the connection drops),
`garbage` (a reply of noise), `truncate` (half a reply), `error` (the instrument
refuses the message's command and queues an SCPI execution error, as a real one does
when it cannot carry a command out; `*OPC?` still answers), and `down` (every
connection is refused until `recover()`)."""
from __future__ import annotations

import collections
import socketserver
import threading
from typing import Protocol

FAULTS = ("timeout", "disconnect", "garbage", "truncate", "error")


class Emulator(Protocol):
    def handle(self, command: str) -> str | None:
        """Execute one SCPI command; return the reply for a query, None otherwise."""


class ScpiEmulator:
    """Base of the emulated SCPI instruments: one command at a time, a bad parameter
    queued as the SCPI error the real instrument would report. Subclasses dispatch."""

    IDN = "SolidStack,emulator"
    NO_ERROR = '0,"No error"'

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._errors: list[str] = []

    def refuse(self, command: str) -> None:
        """Do not carry `command` out; say so in the error queue."""
        with self._lock:
            self._errors.append(f'-200,"Execution error; {command}"')

    def handle(self, command: str) -> str | None:
        with self._lock:
            header, _, args = command.strip().partition(" ")
            header = header.upper()
            # What every instrument here answers alike.
            if header == "*IDN?":
                return self.IDN
            if header == "*OPC?":
                return "1"
            if header == ":SYST:ERR?":
                return self._errors.pop(0) if self._errors else self.NO_ERROR
            try:
                return self._dispatch(header, args.strip())
            except (ValueError, IndexError):
                self._errors.append(f'-224,"Illegal parameter value; {command}"')
                return None

    def _dispatch(self, header: str, args: str) -> str | None:
        raise NotImplementedError


class _Handler(socketserver.BaseRequestHandler):
    def messages(self, terminator: bytes):
        """Messages as they arrive, split at the instrument's terminator."""
        pending = b""
        while True:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            pending += chunk
            *complete, pending = pending.split(terminator)
            yield from complete

    def handle(self) -> None:
        server: _Server = self.server  # type: ignore[assignment]
        if server.down:
            return
        for raw in self.messages(server.terminator):
            text = raw.decode("ascii", "replace")
            fault = server.next_fault(text)
            if fault == "disconnect" or server.down:
                return
            if fault == "timeout":
                continue
            reply = server.answer(text, refuse=fault == "error")
            if reply is None:
                continue
            if fault == "garbage":
                reply = "#\x7f?ERR~~" + reply[::-1][:8]
            elif fault == "truncate":
                reply = reply[: max(1, len(reply) // 2)]
            self.request.sendall(reply.encode("ascii", "replace") + server.terminator)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    down = False

    def answer(self, text: str, refuse: bool = False) -> str | None:
        """The reply to one message; `refuse`: its first instrument command is refused."""
        if not self.scpi:
            return None if refuse else self.emulator.handle(text.strip())
        replies = []
        for command in text.strip().split(";"):
            command = command.strip()
            if refuse and command and not command.startswith("*"):
                self.emulator.refuse(command)
                refuse = False
            elif command:
                reply = self.emulator.handle(command if command.startswith(("*", ":")) else ":" + command)
                if reply is not None:
                    replies.append(reply)
        # several queries in one message answer in one line, as SCPI does
        return ";".join(replies) if replies else None

    def next_fault(self, message: str) -> str | None:
        with self.fault_lock:
            for k, (fault, match) in enumerate(self.faults):
                if match is None or match in message:
                    del self.faults[k]
                    return fault
            return None


# How often a serving thread looks for close(): close() waits up to this long. At socketserver's
# 0.5 s a simulated bench of six instruments took ~3 s to close, in the GUI thread when a
# channel started its next run, and most of the time of a short test run.
POLL_S = 0.05


class ScpiServer:
    """Serves one emulator until close(). `scpi=False` hands whole messages to the
    emulator (for serial protocols such as Alicat's or Mark-10's, ended by CR)."""

    def __init__(self, emulator: Emulator, terminator: bytes = b"\n", scpi: bool = True):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.emulator = emulator  # type: ignore[attr-defined]
        self._server.terminator = terminator  # type: ignore[attr-defined]
        self._server.scpi = scpi  # type: ignore[attr-defined]
        self._server.faults = collections.deque()
        self._server.fault_lock = threading.Lock()
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": POLL_S},
                                        name=f"scpi-{self.port}", daemon=True)
        self._thread.start()

    @property
    def resource_name(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def inject(self, fault: str, count: int = 1, match: str | None = None) -> None:
        """Apply `fault` to the next `count` messages (containing `match`, if given),
        or take the instrument down."""
        if fault == "down":
            self._server.down = True
            return
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {', '.join(FAULTS)} or 'down'")
        if fault == "error" and not hasattr(self._server.emulator, "refuse"):
            raise ValueError(f"{type(self._server.emulator).__name__} keeps no error queue to refuse a command into")
        with self._server.fault_lock:
            self._server.faults.extend([(fault, match)] * count)

    def recover(self) -> None:
        self._server.down = False

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
