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
from instruments.hioki_im3590 import HiokiIM3590
from instruments.keithley2450 import Keithley2450
from instruments.keysight_34465a import Keysight34465A
from instruments.keysight_daq970a import KeysightDAQ970A
from instruments.keysight_e4990a import KeysightE4990A
from instruments.mark10 import Mark10ForceGauge
from instruments.solartron_1260 import Solartron1260
from instruments.sim.cells import sim_cell_for
from instruments.sim.daq970a_emulator import Daq970aEmulator
from instruments.sim.dmm_emulator import Dmm34465AEmulator
from instruments.sim.e4990a_emulator import E4990AEmulator
from instruments.sim.im3590_emulator import IM3590Emulator
from instruments.sim.solartron1260_emulator import Solartron1260Emulator
from instruments.sim.fixture_emulators import (AlicatEmulator, ChamberEmulator, FixtureState, Mark10Emulator,
                                               RtdThermometerEmulator, ThermalState)
from instruments.sim.keithley2450_emulator import Keithley2450Emulator
from instruments.sim.scpi_server import ScpiServer

VISA_BACKEND = "@py"  # pyvisa-py: no vendor VISA install needed
# The analysers the simulated bench can emulate in the impedance role: emulator, driver,
# the name the run records, the message terminator, and whether the server splits SCPI
# lines (the Hioki and the Solartron emulators parse their own dialects).
IMPEDANCE_ANALYSERS = {
    "e4990a": (E4990AEmulator, KeysightE4990A, "Impedance analyser (Keysight E4990A)", "\n", True),
    "im3590": (IM3590Emulator, HiokiIM3590, "Impedance analyser (Hioki IM3590)", "\r\n", False),
    "solartron1260": (Solartron1260Emulator, Solartron1260, "Impedance analyser (Solartron 1260)", "\r\n", False),
}


@dataclass
class Bench:
    smu: Keithley2450
    kind: str
    eis: KeysightE4990A | HiokiIM3590 | Solartron1260 | None = None
    ref: Keysight34465A | None = None     # reference-electrode voltmeter, three-electrode cells
    pressure: AlicatPressureController | None = None
    force: Mark10ForceGauge | None = None
    temperature: Keysight34465A | None = None   # a second DMM on an RTD
    chamber: TemperatureChamber | None = None
    switch: KeysightDAQ970A | None = None      # routes the cell to the SMU or to the analyser
    identities: dict[str, str] = field(default_factory=dict)
    emulators: dict = field(default_factory=dict, repr=False)   # simulated bench only
    servers: dict = field(default_factory=dict, repr=False)
    _closers: list = field(default_factory=list, repr=False)

    def connections(self) -> list:
        drivers = (self.smu, self.eis, self.ref, self.pressure, self.force, self.temperature, self.chamber,
                   self.switch)
        return [driver.connection for driver in drivers if driver is not None]

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def simulated_bench(stack: Stack, clock, seed: int = 0, timeout_ms: int = 5000, impedance: str = "e4990a") -> Bench:
    """Emulated instruments for `stack`, opened through the real drivers; `impedance`
    picks the analyser emulated in the impedance role (IMPEDANCE_ANALYSERS)."""
    if impedance not in IMPEDANCE_ANALYSERS:
        raise ValueError(f"no simulated impedance analyser {impedance!r}; choose {', '.join(IMPEDANCE_ANALYSERS)}")
    eis_emulator, eis_driver, eis_name, eis_end, eis_scpi = IMPEDANCE_ANALYSERS[impedance]
    cell = sim_cell_for(stack, seed)
    emulators = {"eis": eis_emulator(cell, clock, seed)}
    if "reference" in stack.kinds():
        emulators["ref"] = Dmm34465AEmulator(seed)
    emulators["smu"] = Keithley2450Emulator(cell, clock, trigger_out=emulators.get("ref"))
    smu_emulator = emulators["smu"]
    emulators["switch"] = Daq970aEmulator(clock, source_on=lambda: smu_emulator.output_on)
    # The cell was assembled in the fixture at its stack pressure: it starts there.
    fixture = FixtureState(clock, stack.area_cm2, seed, pressure_mpa=stack.stack_pressure_mpa)
    thermal = ThermalState(clock, stack.temperature_c)   # the cell starts at the build's temperature
    emulators.update(pressure=AlicatEmulator(fixture), force=Mark10Emulator(fixture),
                     temperature=RtdThermometerEmulator(thermal, seed), chamber=ChamberEmulator(thermal, seed))
    serial = {"pressure", "force"}   # ASCII protocols ended by CR, as on their RS-232 ports
    ends = {role: "\r" if role in serial else "\n" for role in emulators}
    ends["eis"] = eis_end
    servers = {role: ScpiServer(emulator, terminator=ends[role].encode(),
                                scpi=eis_scpi if role == "eis" else role not in serial)
               for role, emulator in emulators.items()}
    rm = pyvisa.ResourceManager(VISA_BACKEND)

    def connect(role: str, instrument: str) -> Connection:
        end = ends[role]
        return Connection(rm, servers[role].resource_name, instrument, timeout_ms=timeout_ms,
                          read_termination=end, write_termination=end)

    bench = Bench(smu=Keithley2450(connect("smu", "SMU (Keithley 2450)")), kind="simulated",
                  eis=eis_driver(connect("eis", eis_name)),
                  pressure=AlicatPressureController(connect("pressure", "Pressure controller (Alicat)"),
                                                    limit_mpa=stack.fixture_limit_mpa),
                  force=Mark10ForceGauge(connect("force", "Force gauge (Mark-10)")),
                  temperature=Keysight34465A(connect("temperature", "Thermometer (Keysight 34465A, RTD)")),
                  chamber=TemperatureChamber(connect("chamber", "Temperature chamber")),
                  switch=KeysightDAQ970A(connect("switch", "Cell switch (Keysight DAQ970A)")),
                  emulators=emulators, servers=servers)
    if isinstance(bench.eis, Solartron1260):
        bench.eis.reset_wait_s = 0.0      # the emulator is ready as soon as it has reset
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
            end = info.terminator or ("\r" if info.serial else "\n")
            connection = Connection(rm, entry["resource"], f"{role}: {info.name} at {entry['resource']}",
                                    timeout_ms=timeout_ms, read_termination=end, write_termination=end)
            extra = {"limit_mpa": stack.fixture_limit_mpa} if info.cls is AlicatPressureController else {}
            if info.cls is KeysightDAQ970A and "paths" in entry:    # the bench's own wiring (checked above)
                extra = {"paths": entry["paths"]}
            drivers[role] = info.cls(connection, **extra)
    except Exception:
        for driver in drivers.values():
            driver.connection.close()
        raise
    bench = Bench(kind="hardware", **drivers)
    bench._closers += [c.close for c in bench.connections()]
    bench.identities = {role: driver.identify() for role, driver in drivers.items()}
    return bench
