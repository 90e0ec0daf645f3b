"""A bench: the set of connected instruments a run uses, by role. The simulated bench
starts emulators for the stack and opens them with the same drivers and the same
pyvisa-py backend as real hardware."""
from __future__ import annotations

from dataclasses import dataclass, field

import pyvisa

from cell import Stack
from instruments.connection import Connection
from instruments.keithley2450 import Keithley2450
from instruments.sim.cells import sim_cell_for
from instruments.sim.keithley2450_emulator import Keithley2450Emulator
from instruments.sim.scpi_server import ScpiServer

VISA_BACKEND = "@py"  # pyvisa-py: no vendor VISA install needed


@dataclass
class Bench:
    smu: Keithley2450
    kind: str
    identities: dict[str, str] = field(default_factory=dict)
    _closers: list = field(default_factory=list, repr=False)

    def connections(self) -> list:
        return [self.smu.connection]

    def close(self) -> None:
        for close in reversed(self._closers):
            close()
        self._closers.clear()


def simulated_bench(stack: Stack, clock, seed: int = 0, timeout_ms: int = 5000) -> Bench:
    """Emulated instruments for `stack`, opened through the real drivers."""
    cell = sim_cell_for(stack, seed)
    emulator = Keithley2450Emulator(cell, clock)
    server = ScpiServer(emulator)
    rm = pyvisa.ResourceManager(VISA_BACKEND)
    connection = Connection(rm, server.resource_name, "SMU (Keithley 2450)", timeout_ms=timeout_ms)
    smu = Keithley2450(connection)
    bench = Bench(smu=smu, kind="simulated")
    bench.emulators = {"smu": emulator}
    bench.servers = {"smu": server}
    bench._closers += [server.close, rm.close, connection.close]
    bench.identities["smu"] = smu.identify()
    return bench
