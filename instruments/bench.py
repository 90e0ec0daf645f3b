"""A bench: the set of connected instruments a run uses, by role. The simulated bench
starts emulators for the stack and opens them with the same drivers and the same
pyvisa-py backend as real hardware."""
from __future__ import annotations

from dataclasses import dataclass, field

import pyvisa

from cell import Stack
from instruments.connection import Connection
from instruments.alicat import AlicatPressureController
from instruments.chamber import TemperatureChamber
from instruments.keithley2450 import Keithley2450
from instruments.keysight_34465a import Keysight34465A
from instruments.keysight_e4990a import KeysightE4990A
from instruments.mark10 import Mark10ForceGauge
from instruments.sim.cells import sim_cell_for
from instruments.sim.dmm_emulator import Dmm34465AEmulator
from instruments.sim.e4990a_emulator import E4990AEmulator
from instruments.sim.fixture_emulators import (AlicatEmulator, ChamberEmulator, FixtureState, Mark10Emulator,
                                               RtdThermometerEmulator, ThermalState)
from instruments.sim.keithley2450_emulator import Keithley2450Emulator
from instruments.sim.scpi_server import ScpiServer

VISA_BACKEND = "@py"  # pyvisa-py: no vendor VISA install needed


@dataclass
class Bench:
    smu: Keithley2450
    kind: str
    eis: KeysightE4990A | None = None
    ref: Keysight34465A | None = None     # reference-electrode voltmeter, three-electrode cells
    pressure: AlicatPressureController | None = None
    force: Mark10ForceGauge | None = None
    temperature: Keysight34465A | None = None   # a second DMM on an RTD
    chamber: TemperatureChamber | None = None
    identities: dict[str, str] = field(default_factory=dict)
    emulators: dict = field(default_factory=dict, repr=False)   # simulated bench only
    servers: dict = field(default_factory=dict, repr=False)
    _closers: list = field(default_factory=list, repr=False)

    def connections(self) -> list:
        drivers = (self.smu, self.eis, self.ref, self.pressure, self.force, self.temperature, self.chamber)
        return [driver.connection for driver in drivers if driver is not None]

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def simulated_bench(stack: Stack, clock, seed: int = 0, timeout_ms: int = 5000) -> Bench:
    """Emulated instruments for `stack`, opened through the real drivers."""
    cell = sim_cell_for(stack, seed)
    emulators = {"eis": E4990AEmulator(cell, clock, seed)}
    if "reference" in stack.kinds():
        emulators["ref"] = Dmm34465AEmulator(seed)
    emulators["smu"] = Keithley2450Emulator(cell, clock, trigger_out=emulators.get("ref"))
    # The cell was assembled in the fixture at its stack pressure: it starts there.
    fixture = FixtureState(clock, stack.area_cm2, seed, pressure_mpa=stack.stack_pressure_mpa)
    thermal = ThermalState(clock, stack.temperature_c)   # the cell starts at the build's temperature
    emulators.update(pressure=AlicatEmulator(fixture), force=Mark10Emulator(fixture),
                     temperature=RtdThermometerEmulator(thermal, seed), chamber=ChamberEmulator(thermal, seed))
    serial = {"pressure", "force"}   # ASCII protocols ended by CR, as on their RS-232 ports
    servers = {role: ScpiServer(emulator, terminator=b"\r" if role in serial else b"\n", scpi=role not in serial)
               for role, emulator in emulators.items()}
    rm = pyvisa.ResourceManager(VISA_BACKEND)

    def connect(role: str, instrument: str) -> Connection:
        end = "\r" if role in serial else "\n"
        return Connection(rm, servers[role].resource_name, instrument, timeout_ms=timeout_ms,
                          read_termination=end, write_termination=end)

    bench = Bench(smu=Keithley2450(connect("smu", "SMU (Keithley 2450)")), kind="simulated",
                  eis=KeysightE4990A(connect("eis", "Impedance analyser (Keysight E4990A)")),
                  pressure=AlicatPressureController(connect("pressure", "Pressure controller (Alicat)"),
                                                    limit_mpa=stack.fixture_limit_mpa),
                  force=Mark10ForceGauge(connect("force", "Force gauge (Mark-10)")),
                  temperature=Keysight34465A(connect("temperature", "Thermometer (Keysight 34465A, RTD)")),
                  chamber=TemperatureChamber(connect("chamber", "Temperature chamber")),
                  emulators=emulators, servers=servers)
    if "ref" in servers:
        bench.ref = Keysight34465A(connect("ref", "Reference voltmeter (Keysight 34465A)"))
    bench._closers += [server.close for server in servers.values()]
    # Not rm.close(): pyvisa hands every caller the same manager per backend, and closing
    # it would close the other channels' sessions too.
    bench._closers += [c.close for c in bench.connections()]
    bench.identities = {role: getattr(bench, role).identify() for role in servers}
    return bench


def hardware_bench(assignment: dict, stack: Stack, backend: str = VISA_BACKEND, timeout_ms: int = 5000) -> Bench:
    """The instruments of a saved role assignment (instruments/discovery.py), opened
    with their drivers. The stack sets the pressure controller's fixture limit."""
    from instruments.discovery import check_assignment
    from instruments.registry import by_name

    check_assignment(assignment)
    if "smu" not in assignment:
        raise ValueError("the assignment has no source-measure unit (role smu): a run needs one")
    rm = pyvisa.ResourceManager(backend)
    drivers = {}
    try:
        for role, entry in assignment.items():
            info = by_name(entry["driver"])
            end = "\r" if info.serial else "\n"
            connection = Connection(rm, entry["resource"], f"{role}: {info.name} at {entry['resource']}",
                                    timeout_ms=timeout_ms, read_termination=end, write_termination=end)
            extra = {"limit_mpa": stack.fixture_limit_mpa} if info.cls is AlicatPressureController else {}
            drivers[role] = info.cls(connection, **extra)
    except Exception:
        for driver in drivers.values():
            driver.connection.close()
        raise
    bench = Bench(kind="hardware", **drivers)
    bench._closers += [c.close for c in bench.connections()]
    bench.identities = {role: driver.identify() for role, driver in drivers.items()}
    return bench
