"""Alicat pressure controller holding the cell's stack pressure, over its ASCII serial
protocol (unit id letter, carriage-return terminated).

The controller drives the fixture's pneumatic cylinder; `mpa_per_unit` converts its
reading to stack pressure on the cell (cylinder area over cell area, from the
fixture). Set-points beyond the fixture's rated limit are refused here, before
anything is sent."""
from __future__ import annotations

from instruments.connection import Connection, Garbled
from instruments.errors import LimitError


class AlicatPressureController:
    MODEL = "Alicat PC"

    def __init__(self, connection: Connection, unit_id: str = "A", mpa_per_unit: float = 1.0,
                 limit_mpa: float = 25.0, name: str = "Pressure controller (Alicat)"):
        if len(unit_id) != 1 or not unit_id.isalpha():
            raise ValueError(f"Alicat unit id must be one letter, got {unit_id!r}")
        self.connection = connection
        self.unit = unit_id.upper()
        self.mpa_per_unit = mpa_per_unit
        self.limit_mpa = limit_mpa
        self.name = name

    def _frame(self, reply: str) -> tuple[float, float]:
        """A data frame 'A +005.012 +005.000 ...' -> (pressure, set-point) in stack MPa."""
        parts = reply.split()
        try:
            if parts[0] != self.unit:
                raise ValueError(parts[0])
            return float(parts[1]) * self.mpa_per_unit, float(parts[2]) * self.mpa_per_unit
        except (ValueError, IndexError):
            raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected '{self.unit} <pressure> <set-point> ...'") from None

    def identify(self) -> str:
        return self.connection.query(f"{self.unit}??M*")

    def read(self) -> tuple[float, float]:
        """(pressure, set-point) in MPa of stack pressure."""
        return self.connection.query(self.unit, self._frame)

    def set_pressure(self, mpa: float) -> None:
        if not 0 <= mpa <= self.limit_mpa:
            raise LimitError(f"{self.name}: {mpa:g} MPa is outside 0..{self.limit_mpa:g} MPa (the fixture's limit)")
        self.connection.query(f"{self.unit}S {mpa / self.mpa_per_unit:.4f}", self._frame)

    def set_ramp(self, mpa_per_s: float) -> None:
        """Limit how fast the set-point is approached (0 = as fast as it can)."""
        if mpa_per_s < 0:
            raise LimitError(f"{self.name}: ramp rate must be >= 0, got {mpa_per_s:g} MPa/s")
        self.connection.query(f"{self.unit}SR {mpa_per_s / self.mpa_per_unit:.4f}", self._frame)
