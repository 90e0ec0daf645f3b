"""A network between a test and its PostgreSQL server that the test can cut: a TCP relay on
127.0.0.1:`port` to `target_port`, byte for byte, by threads. `shut()` takes the network
away (no listener, live connections cut: libpq sees "connection refused" or a lost
connection); `open()` brings it back on the same port. With `answer=False` it accepts
connections and never answers (a hanging network)."""
from __future__ import annotations

import socket
import threading


class TcpGate:
    def __init__(self, target_port: int, answer: bool = True):
        self.target_port = target_port
        self.answer = answer
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown first: a close alone leaves the port listening while accept() blocks on it (Linux)
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass        # never connected: nothing to shut down
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            _hang_up(s)
            s.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return        # shut
            with self._lock:
                self._sockets.append(client)
            if not self.answer:
                continue      # held open, never answered
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(server)
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass            # the gate shut, or an end hung up: the relay ends
        finally:
            _hang_up(source)
            _hang_up(sink)


def _hang_up(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass    # already down
