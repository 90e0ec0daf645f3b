"""The drivers SolidStack has, listed explicitly (no entry-point discovery: it keeps
PyInstaller builds working and the list visible), with how to recognise each model and
the role it usually plays at the bench."""
from __future__ import annotations

from dataclasses import dataclass

from instruments.alicat import AlicatPressureController
from instruments.chamber import TemperatureChamber
from instruments.hioki_im3590 import HiokiIM3590
from instruments.keithley2450 import Keithley2450
from instruments.keysight_34465a import Keysight34465A
from instruments.keysight_daq970a import KeysightDAQ970A
from instruments.keysight_e4990a import KeysightE4990A
from instruments.mark10 import Mark10ForceGauge
from instruments.solartron_1260 import Solartron1260

ROLES = {
    "smu": "source-measure unit (galvanostat)",
    "ref": "reference-electrode voltmeter",
    "eis": "impedance analyser",
    "pressure": "stack-pressure controller",
    "force": "force gauge",
    "temperature": "thermometer",
    "chamber": "temperature chamber",
    "switch": "cell switch (SMU / impedance analyser)",
}


@dataclass(frozen=True)
class DriverInfo:
    name: str
    cls: type
    marker: str            # a string the identity reply contains
    roles: tuple[str, ...]  # roles it can play, the usual one first
    serial: bool = False    # ASCII serial protocol ended by CR, not SCPI over LAN/USB/GPIB
    terminator: str | None = None   # its message terminator when not the usual (LF, or CR for serial)


DRIVERS = (
    DriverInfo("Keithley2450", Keithley2450, "MODEL 2450", ("smu",)),
    DriverInfo("KeysightE4990A", KeysightE4990A, "E4990A", ("eis",)),
    DriverInfo("HiokiIM3590", HiokiIM3590, "IM3590", ("eis",), terminator="\r\n"),
    # *IDN? of a 1260: "SCHLUMBERGER TECHNOLOGIES, 1260 IMPEDANCE ANALYZER, 0, 0" (operating manual §2.7)
    DriverInfo("Solartron1260", Solartron1260, "1260 IMPEDANCE ANALYZER", ("eis",), terminator="\r\n"),
    DriverInfo("Keysight34465A", Keysight34465A, "34465A", ("ref", "temperature")),
    DriverInfo("AlicatPressureController", AlicatPressureController, "Alicat", ("pressure",), serial=True),
    DriverInfo("Mark10ForceGauge", Mark10ForceGauge, "Mark-10", ("force",), serial=True),
    DriverInfo("TemperatureChamber", TemperatureChamber, "Chamber", ("chamber",)),
    DriverInfo("KeysightDAQ970A", KeysightDAQ970A, "DAQ970A", ("switch",)),
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
