"""A temperature chamber (or hot plate) that holds the cell's temperature, driven
through a plain SCPI set: `:SOUR:TEMP <degC>` sets it, `:SOUR:TEMP?` reads the
set-point back, `:MEAS:TEMP?` the chamber's own sensor. Set-points outside the
chamber's range are refused before anything is sent."""
from __future__ import annotations

from instruments.connection import Connection, Garbled
from instruments.errors import LimitError


def _number(reply: str) -> float:
    try:
        return float(reply)
    except ValueError:
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected a temperature") from None


def _expect_one(reply: str) -> str:
    if reply.strip() != "1":
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected *OPC? = 1")
    return "1"


class TemperatureChamber:
    MODEL = "Chamber"
    RANGE_C = (-40.0, 150.0)

    def __init__(self, connection: Connection, name: str = "Temperature chamber"):
        self.connection = connection
        self.name = name

    def identify(self) -> str:
        return self.connection.query("*IDN?")

    def set_temperature(self, celsius: float) -> None:
        lo, hi = self.RANGE_C
        if not lo <= celsius <= hi:
            raise LimitError(f"{self.name}: {celsius:g} C is outside {lo:g}..{hi:g} C")
        self.connection.query(f":SOUR:TEMP {celsius:.3f};*OPC?", _expect_one)

    def setpoint(self) -> float:
        return self.connection.query(":SOUR:TEMP?", _number)

    def temperature(self) -> float:
        return self.connection.query(":MEAS:TEMP?", _number)
