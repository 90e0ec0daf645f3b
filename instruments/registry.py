"""The drivers SolidStack has, listed explicitly (no entry-point discovery: it keeps
PyInstaller builds working and the list visible), with how to recognise each model and
the role it usually plays at the bench."""
from __future__ import annotations

from dataclasses import dataclass

from instruments.alicat import AlicatPressureController
from instruments.chamber import TemperatureChamber
from instruments.keithley2450 import Keithley2450
from instruments.keysight_34465a import Keysight34465A
from instruments.keysight_e4990a import KeysightE4990A
from instruments.mark10 import Mark10ForceGauge

ROLES = {
    "smu": "source-measure unit (galvanostat)",
    "ref": "reference-electrode voltmeter",
    "eis": "impedance analyser",
    "pressure": "stack-pressure controller",
    "force": "force gauge",
    "temperature": "thermometer",
    "chamber": "temperature chamber",
}


@dataclass(frozen=True)
class DriverInfo:
    name: str
    cls: type
    marker: str            # a string the identity reply contains
    roles: tuple[str, ...]  # roles it can play, the usual one first
    serial: bool = False    # ASCII serial protocol ended by CR, not SCPI over LAN/USB/GPIB


DRIVERS = (
    DriverInfo("Keithley2450", Keithley2450, "MODEL 2450", ("smu",)),
    DriverInfo("KeysightE4990A", KeysightE4990A, "E4990A", ("eis",)),
    DriverInfo("Keysight34465A", Keysight34465A, "34465A", ("ref", "temperature")),
    DriverInfo("AlicatPressureController", AlicatPressureController, "Alicat", ("pressure",), serial=True),
    DriverInfo("Mark10ForceGauge", Mark10ForceGauge, "Mark-10", ("force",), serial=True),
    DriverInfo("TemperatureChamber", TemperatureChamber, "Chamber", ("chamber",)),
)


def by_name(name: str) -> DriverInfo:
    for info in DRIVERS:
        if info.name == name:
            return info
    raise KeyError(f"unknown driver {name!r}; SolidStack has {', '.join(d.name for d in DRIVERS)}")


def match(identity: str) -> DriverInfo | None:
    for info in DRIVERS:
        if info.marker.lower() in identity.lower():
            return info
    return None
