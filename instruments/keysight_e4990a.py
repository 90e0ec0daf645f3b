"""Keysight E4990A impedance analyser, for EIS sweeps of a cell at rest.

The E4990A covers 20 Hz to 120 MHz: it cannot reach the sub-hertz end of a battery
spectrum, which needs a potentiostat with a frequency response analyser. Sweeps are
logarithmic, measured as R and X (`:CALC1:PAR1:DEF R`, `:CALC1:PAR2:DEF X`) and read
back as formatted data after a single bus trigger."""
from __future__ import annotations

import numpy as np

from instruments.connection import Connection
from instruments.errors import LimitError
from instruments.impedance_range import POTENTIOSTATIC, ImpedanceCapability, ImpedanceSweep, check_drive
from instruments.scpi import ScpiDriver, numbers

LOW_FREQUENCY_NOTE = ("the Keysight E4990A stops at 20 Hz; for lower frequencies use a potentiostat "
                      "with a frequency response analyser")


class KeysightE4990A(ScpiDriver):
    MODEL = "E4990A"
    FREQ_RANGE_HZ = (20.0, 120e6)
    LEVEL_RANGE_V = (5e-3, 1.0)
    MAX_POINTS = 1601
    MAX_BIAS_V = 40.0
    CAPABILITY = ImpedanceCapability("Keysight E4990A", FREQ_RANGE_HZ[0], FREQ_RANGE_HZ[1], LEVEL_RANGE_V,
                                     (-MAX_BIAS_V, MAX_BIAS_V), MAX_POINTS)

    def __init__(self, connection: Connection, name: str = "Impedance analyser (Keysight E4990A)"):
        super().__init__(connection, name)

    def reset(self) -> None:
        self._write("*RST")
        self._write(":CALC1:PAR1:DEF R")
        self._write(":CALC1:PAR2:DEF X")
        self._write(":SENS1:SWE:TYPE LOG")
        self._write(":SOUR1:MODE VOLT")
        self._write(":TRIG:SOUR BUS")

    def check_sweep(self, f_start_hz: float, f_stop_hz: float, points: int, level_v: float) -> None:
        lo, hi = self.FREQ_RANGE_HZ
        for f in (f_start_hz, f_stop_hz):
            if f < lo:
                raise LimitError(f"{self.name}: {f:g} Hz is below its range: {LOW_FREQUENCY_NOTE}")
            if f > hi:
                raise LimitError(f"{self.name}: {f:g} Hz is above its {hi:g} Hz range")
        if not 2 <= points <= self.MAX_POINTS:
            raise LimitError(f"{self.name}: {points} points is outside 2..{self.MAX_POINTS}")
        if not self.LEVEL_RANGE_V[0] <= level_v <= self.LEVEL_RANGE_V[1]:
            raise LimitError(f"{self.name}: oscillator level {level_v:g} V is outside "
                             f"{self.LEVEL_RANGE_V[0]:g}..{self.LEVEL_RANGE_V[1]:g} V")

    def sweep(self, f_start_hz: float, f_stop_hz: float, points: int, level_v: float,
              dc_bias_v: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """One logarithmic sweep: (frequencies in Hz, complex impedance in ohm), in the
        order swept (from f_start to f_stop), optionally on a DC bias (switched off after)."""
        self.check_sweep(f_start_hz, f_stop_hz, points, level_v)
        if abs(dc_bias_v) > self.MAX_BIAS_V:
            raise LimitError(f"{self.name}: DC bias {dc_bias_v:g} V is beyond +/-{self.MAX_BIAS_V:g} V")
        if dc_bias_v:
            self._write(f":SOUR1:BIAS:VOLT {dc_bias_v:.6g}")
            self._write(":SOUR1:BIAS:STAT ON")
        try:
            return self._sweep(f_start_hz, f_stop_hz, points, level_v)
        finally:
            if dc_bias_v:
                self._write(":SOUR1:BIAS:STAT OFF")

    def measure(self, f_start_hz: float, f_stop_hz: float, points: int, amplitude: float, dc_bias: float = 0.0,
                mode: str = POTENTIOSTATIC) -> ImpedanceSweep:
        """The impedance-role sweep (instruments.interfaces.ImpedanceAnalyser). The driver
        reads formatted R and X only: no per-point overload status, so no point is flagged."""
        check_drive(self.CAPABILITY, amplitude, dc_bias, mode)
        freqs, z = self.sweep(f_start_hz, f_stop_hz, points, amplitude, dc_bias)
        return ImpedanceSweep(freqs, z, [None] * len(freqs))

    def _sweep(self, f_start_hz: float, f_stop_hz: float, points: int, level_v: float) -> tuple[np.ndarray, np.ndarray]:
        low, high = sorted((f_start_hz, f_stop_hz))
        self._write(f":SENS1:FREQ:STAR {low:.9g}")
        self._write(f":SENS1:FREQ:STOP {high:.9g}")
        self._write(f":SENS1:SWE:POIN {points}")
        self._write(f":SOUR1:VOLT {level_v:.6g}")
        self._write(":INIT1")
        self._write(":TRIG:SING")       # *OPC? returns when the sweep is complete
        freqs = self.connection.query(":SENS1:FREQ:DATA?", numbers(points))
        r = self.connection.query(":CALC1:TRAC1:DATA:FDAT?", numbers(2 * points))[0::2]
        x = self.connection.query(":CALC1:TRAC2:DATA:FDAT?", numbers(2 * points))[0::2]
        z = r + 1j * x
        if f_start_hz > f_stop_hz:
            return freqs[::-1], z[::-1]
        return freqs, z
