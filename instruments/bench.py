"""A bench: the set of connected instruments a run uses, by role. The simulated bench
starts emulators for the stack and opens them with the same drivers and the same
pyvisa-py backend as real hardware."""
from __future__ import annotations

from dataclasses import dataclass, field

import pyvisa

from cell import Stack
from instruments.connection import Connection
from instruments.keithley2450 import Keithley2450
from instruments.keysight_e4990a import KeysightE4990A
from instruments.sim.cells import sim_cell_for
from instruments.sim.e4990a_emulator import E4990AEmulator
from instruments.sim.keithley2450_emulator import Keithley2450Emulator
from instruments.sim.scpi_server import ScpiServer

VISA_BACKEND = "@py"  # pyvisa-py: no vendor VISA install needed


@dataclass
class Bench:
    smu: Keithley2450
    kind: str
    eis: KeysightE4990A | None = None
    identities: dict[str, str] = field(default_factory=dict)
    emulators: dict = field(default_factory=dict, repr=False)   # simulated bench only
    servers: dict = field(default_factory=dict, repr=False)
    _closers: list = field(default_factory=list, repr=False)

    def connections(self) -> list:
        return [driver.connection for driver in (self.smu, self.eis) if driver is not None]

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def simulated_bench(stack: Stack, clock, seed: int = 0, timeout_ms: int = 5000) -> Bench:
    """Emulated instruments for `stack`, opened through the real drivers."""
    cell = sim_cell_for(stack, seed)
    emulators = {"smu": Keithley2450Emulator(cell, clock), "eis": E4990AEmulator(cell, clock, seed)}
    servers = {role: ScpiServer(emulator) for role, emulator in emulators.items()}
    rm = pyvisa.ResourceManager(VISA_BACKEND)
    smu = Keithley2450(Connection(rm, servers["smu"].resource_name, "SMU (Keithley 2450)", timeout_ms=timeout_ms))
    eis = KeysightE4990A(Connection(rm, servers["eis"].resource_name, "Impedance analyser (Keysight E4990A)",
                                    timeout_ms=timeout_ms))
    bench = Bench(smu=smu, kind="simulated", eis=eis, emulators=emulators, servers=servers)
    bench._closers += [server.close for server in servers.values()]
    bench._closers += [rm.close] + [c.close for c in bench.connections()]
    bench.identities = {"smu": smu.identify(), "eis": eis.identify()}
    return bench
