"""What the impedance-analyser tests share: a cell of known impedance (a resistor in series
with an R||C, computed here by hand from its values) and an emulator served on the
loopback interface, opened with pyvisa-py exactly as a LAN or GPIB-Ethernet instrument.
(Not a conftest.py: tests import `conftest` from the tests folder by name.)"""
from __future__ import annotations

import numpy as np
import pyvisa

from instruments.connection import Connection
from instruments.sim.scpi_server import ScpiServer


class KnownCell:
    """R0 + R1 || C1, in ohm: the truth the analysers' readings are checked against."""

    def __init__(self, r0: float = 5.0, r1: float = 15.0, c1: float = 1e-5):
        self.r0, self.r1, self.c1 = r0, r1, c1

    def advance(self, t: float) -> None:
        pass

    def impedance(self, freqs_hz) -> np.ndarray:
        omega = 2 * np.pi * np.asarray(freqs_hz, dtype=float)
        return self.r0 + self.r1 / (1 + 1j * omega * self.r1 * self.c1)


class StillClock:
    def now(self) -> float:
        return 0.0


class Served:
    """An emulator served CR LF terminated (parsing its own lines) and a Connection to it;
    a context manager that closes both."""

    def __init__(self, emulator, name: str = "analyser", retries: int = 0):
        self.server = ScpiServer(emulator, terminator=b"\r\n", scpi=False)
        self.connection = Connection(pyvisa.ResourceManager("@py"), self.server.resource_name, name, timeout_ms=1000,
                                     read_termination="\r\n", write_termination="\r\n", retries=retries)

    def close(self) -> None:
        self.connection.close()
        self.server.close()

    def __enter__(self) -> "Served":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
