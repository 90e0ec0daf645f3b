"""A temperature chamber (or hot plate) that holds the cell's temperature, driven
through a plain SCPI set: `:SOUR:TEMP <degC>` sets it, `:SOUR:TEMP?` reads the
set-point back, `:MEAS:TEMP?` the chamber's own sensor. Set-points outside the
chamber's range are refused before anything is sent."""
from __future__ import annotations

from instruments.connection import Connection
from instruments.scpi import ScpiDriver, number
from instruments.errors import LimitError


class TemperatureChamber(ScpiDriver):
    MODEL = "Chamber"
    RANGE_C = (-40.0, 150.0)

    def __init__(self, connection: Connection, name: str = "Temperature chamber"):
        super().__init__(connection, name)

    def set_temperature(self, celsius: float) -> None:
        lo, hi = self.RANGE_C
        if not lo <= celsius <= hi:
            raise LimitError(f"{self.name}: {celsius:g} C is outside {lo:g}..{hi:g} C")
        self._write(f":SOUR:TEMP {celsius:.3f}")

    def setpoint(self) -> float:
        return self.connection.query(":SOUR:TEMP?", number("a temperature"))

    def temperature(self) -> float:
        return self.connection.query(":MEAS:TEMP?", number("a temperature"))
