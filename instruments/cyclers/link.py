"""One TCP connection to a cycler's remote interface, for the clients whose replies
are framed by a rule the client knows (a terminator, a length in a header): open,
one request and its whole reply, close. Every socket fault (no answer, a dropped
connection, a reply cut short, a reply that never completes) becomes a CyclerError
naming host, channel and command, and closes the connection, so that a half-read
reply is never taken for the next one's."""
from __future__ import annotations

import socket
import threading
import time
from typing import Callable

from instruments.cyclers.base import CyclerError

MAX_REPLY_BYTES = 16 * 1024 * 1024

# Given the bytes received so far: None while the reply is incomplete, else the length
# of the complete reply. Raises ValueError when the bytes cannot be this protocol's reply
# (a wrong header, say): waiting longer would not help.
Framer = Callable[[bytes], "int | None"]


class TcpLink:
    def __init__(self, name: str, host: str, port: int, timeout_s: float):
        self.name, self.host, self.port, self.timeout_s = name, host, int(port), timeout_s
        self._sock: socket.socket | None = None
        self.requests = 0            # exchanges made, for benchmarks and tests

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def open(self, command: str = "connect") -> None:
        self.close()
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except OSError as exc:
            self._sock = None
            raise CyclerError(self.name, command, f"no answer ({exc.strerror or exc})") from None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def exchange(self, command: str, request: bytes, framer: Framer, channel: str | None = None,
                 expect: str = "a reply") -> bytes:
        """Send `request` and return its complete reply. `expect` names what a reply
        should be, for the error when something else comes back."""
        sock = self._sock
        if sock is None:
            raise CyclerError(self.name, command, "not connected", channel)
        self.requests += 1
        data = b""
        try:
            sock.sendall(request)
            deadline = time.monotonic() + self.timeout_s
            while True:
                try:
                    length = framer(data) if data else None
                except ValueError as exc:
                    raise _NotOurs(str(exc)) from None
                if length is not None:
                    return data[:length]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the cycler closed the connection " + (
                        f"part-way through its reply, after {show(data)}" if data else "without replying"))
                data += chunk
                if len(data) > MAX_REPLY_BYTES:
                    raise ConnectionError(f"a reply longer than {MAX_REPLY_BYTES:,} bytes")
        except _NotOurs as exc:
            self.close()
            raise CyclerError(self.name, command, f"{exc}: {show(data)} is not {expect} (another protocol "
                                                  "on this port?)", channel) from None
        except socket.timeout:
            self.close()
            what = (f"no complete reply within {self.timeout_s:g} s; it sent {show(data)}, which is not {expect} "
                    "(another protocol on this port?)") if data else f"no reply within {self.timeout_s:g} s"
            raise CyclerError(self.name, command, what, channel) from None
        except OSError as exc:
            self.close()
            raise CyclerError(self.name, command, str(exc.strerror or exc), channel) from None


class LinkedClient:
    """What a cycler client over one TcpLink shares: its name ("<protocol> host:port"),
    the link's request count and state, a lock that keeps each request with its reply,
    connect and close. A subclass sets `protocol` and writes `_open()`: the link opened
    and whatever greeting or login its protocol wants, called under the lock, also to
    reconnect after a dropped connection."""

    protocol = ""

    def __init__(self, host: str, port: int, timeout_s: float):
        self.host, self.port, self.timeout_s = host, int(port), timeout_s
        self._link = TcpLink(self.name, host, port, timeout_s)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"{self.protocol} {self.host}:{self.port}"

    @property
    def requests(self) -> int:
        """Exchanges made, for benchmarks and tests."""
        return self._link.requests

    @property
    def connected(self) -> bool:
        return self._link.connected

    def connect(self) -> None:
        """Open the connection (and log in where the protocol has a login); CyclerError if it fails."""
        with self._lock:
            self._open()

    def _open(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._link.close()


class _NotOurs(Exception):
    pass


def show(raw: bytes, limit: int = 80) -> str:
    """The start of what came back, printable, for a one-line error."""
    text = raw.decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else "." for c in text).strip()
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
