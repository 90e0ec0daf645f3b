"""A line-based SCPI server on the loopback interface: pyvisa-py opens it as a
`TCPIP::127.0.0.1::PORT::SOCKET` resource, exactly as it would a LAN instrument."""
from __future__ import annotations

import socket
import socketserver
import threading
from typing import Callable, Protocol


class Emulator(Protocol):
    def handle(self, command: str) -> str | None:
        """Execute one SCPI command; return the reply for a query, None otherwise."""


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        emulator: Emulator = self.server.emulator  # type: ignore[attr-defined]
        for raw in self.rfile:
            replies = []
            for command in raw.decode("ascii", "replace").strip().split(";"):
                command = command.strip()
                if not command:
                    continue
                reply = emulator.handle(command if command.startswith(("*", ":")) else ":" + command)
                if reply is not None:
                    replies.append(reply)
            if replies:  # several queries in one message answer in one line, as SCPI does
                self.wfile.write(";".join(replies).encode("ascii") + b"\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ScpiServer:
    """Serves one emulator until close()."""

    def __init__(self, emulator: Emulator):
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.emulator = emulator  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"scpi-{self.port}", daemon=True)
        self._thread.start()

    @property
    def resource_name(self) -> str:
        return f"TCPIP0::127.0.0.1::{self.port}::SOCKET"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)
