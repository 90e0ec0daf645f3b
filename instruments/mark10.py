"""Mark-10 force gauge under the fixture, over its ASCII serial protocol: `?` asks
for the current reading, answered as value and unit (e.g. '500.3 N'). It checks the
pressure controller independently: force / area = stack pressure."""
from __future__ import annotations

from instruments.connection import Connection, Garbled

TO_NEWTON = {"N": 1.0, "KN": 1000.0, "LBF": 4.448222, "KGF": 9.80665}


def _newtons(reply: str) -> float:
    parts = reply.split()
    try:
        return float(parts[0]) * TO_NEWTON[parts[1].upper()]
    except (ValueError, IndexError, KeyError):
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected '<force> N|kN|lbF|kgF'") from None


class Mark10ForceGauge:
    MODEL = "Mark-10"

    def __init__(self, connection: Connection, name: str = "Force gauge (Mark-10)"):
        self.connection = connection
        self.name = name

    def identify(self) -> str:
        # The gauge has no identity query; a reading proves it answers.
        return f"Mark-10 force gauge reading {self.read_newtons():.1f} N"

    def read_newtons(self) -> float:
        return self.connection.query("?", _newtons)
