"""Keysight 34465A digital multimeter as the reference-electrode voltmeter.

It reads the working electrode against the Li reference on a low range with the input
in high-impedance mode (>10 GOhm: a reference electrode must not carry current), one
reading per trigger from the SMU's trigger line, so its readings pair one-to-one with
the SMU's samples. Readings are fetched from its memory with `DATA:REM?`."""
from __future__ import annotations

import time

import numpy as np

from instruments.connection import Connection
from instruments.scpi import ScpiDriver, count, number, numbers
from instruments.errors import InstrumentError, LimitError


class Keysight34465A(ScpiDriver):
    MODEL = "34465A"
    RANGES_V = (0.1, 1.0, 10.0)      # the ranges with the >10 GOhm input option

    def __init__(self, connection: Connection, name: str = "Reference voltmeter (Keysight 34465A)"):
        super().__init__(connection, name)

    def configure(self, range_v: float = 0.1) -> None:
        if range_v not in self.RANGES_V:
            raise LimitError(f"{self.name}: range {range_v:g} V is not one of {self.RANGES_V} (high-impedance ranges)")
        self._write("*RST")
        self._write(f"CONF:VOLT:DC {range_v:g}")
        self._write("VOLT:DC:IMP:AUTO ON")
        self._write("TRIG:SOUR EXT")
        self._write("TRIG:COUN INF")
        self._write("SAMP:COUN 1")
        self._write("INIT")

    def read(self, n: int, wait_s: float = 1.0) -> np.ndarray:
        """The next n readings (V), waiting up to wait_s for triggers still in flight."""
        if n <= 0:
            return np.zeros(0)
        deadline = time.monotonic() + wait_s
        while self.connection.query("DATA:POIN?", count) < n:
            if time.monotonic() > deadline:
                raise InstrumentError(self.name, "DATA:POIN?", f"fewer than {n} readings after {wait_s:g} s: "
                                      "is the trigger line from the SMU connected?")
            time.sleep(0.005)

        return self.connection.query(f"DATA:REM? {n}", numbers(n))

    def stop(self) -> None:
        self._write("ABOR")

    def read_temperature(self) -> float:
        """One temperature reading (degC) from a 4-wire PT100 RTD on the cell."""
        return self.connection.query("MEAS:TEMP? FRTD,85", number("a temperature"))
