"""An emulated Keysight E4990A measuring the simulated cell's impedance: the subset of
SCPI the driver uses, with the instrument's own 20 Hz floor and 0.2 % noise."""
from __future__ import annotations

import numpy as np

from instruments.sim.scpi_server import ScpiEmulator

IDN = "Keysight Technologies,E4990A,SIM00002,A.02.14 SolidStack simulated bench"
NOISE = 0.002


class E4990AEmulator(ScpiEmulator):
    IDN = IDN
    NO_ERROR = '+0,"No error"'
    def __init__(self, cell, clock, seed: int = 0):
        self.cell = cell
        self.clock = clock
        self._rng = np.random.default_rng(seed + 1)
        super().__init__()
        self.sweeps = 0
        self._reset()

    def _reset(self) -> None:
        self.start, self.stop, self.points, self.level = 20.0, 1e6, 51, 0.01
        self.bias_v, self.bias_on = 0.0, False
        self._freqs = np.zeros(0)
        self._z = np.zeros(0, dtype=complex)

    def _dispatch(self, header: str, args: str) -> str | None:
        if header == "*RST":
            self._reset()
        elif header in (":CALC1:PAR1:DEF", ":CALC1:PAR2:DEF", ":SENS1:SWE:TYPE", ":SOUR1:MODE", ":TRIG:SOUR", ":INIT1"):
            pass
        elif header == ":SOUR1:BIAS:VOLT":
            self.bias_v = float(args)
        elif header == ":SOUR1:BIAS:STAT":
            self.bias_on = args.upper() in ("ON", "1")
        elif header in (":SENS1:FREQ:STAR", ":SENS1:FREQ:STOP"):
            value = float(args)
            if value < 20.0:
                self._errors.append('-222,"Data out of range"')
                value = 20.0
            if header.endswith("STAR"):
                self.start = value
            else:
                self.stop = value
        elif header == ":SENS1:SWE:POIN":
            self.points = int(args)
        elif header == ":SOUR1:VOLT":
            self.level = float(args)
        elif header == ":TRIG:SING":
            self._freqs = np.geomspace(self.start, self.stop, self.points)
            self.cell.advance(self.clock.now())
            z = self.cell.impedance(self._freqs)
            self._z = z * (1 + NOISE * self._rng.standard_normal(z.size)) + 1j * NOISE * np.abs(z) * self._rng.standard_normal(z.size)
            self.sweeps += 1
        elif header == ":SENS1:FREQ:DATA?":
            return ",".join(f"{f:.9g}" for f in self._freqs)
        elif header in (":CALC1:TRAC1:DATA:FDAT?", ":CALC1:TRAC2:DATA:FDAT?"):
            part = self._z.real if "TRAC1" in header else self._z.imag
            return ",".join(f"{v:.9g},0" for v in part)
        else:
            self._errors.append(f'-113,"Undefined header; {header}"')
        return None
