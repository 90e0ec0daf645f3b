"""Hioki IM3590 chemical impedance analyser (1 mHz to 200 kHz), in Hioki's SCPI-like
command set over LAN, USB or GPIB, terminated by CR LF (docs: /work/shared/PROTOCOLS.md §4).

A spectrum is measured either by stepping in LCR mode (set `:FREQuency`, `*TRG`, read
`:MEASure?` for each point: the host controls each point's timing) or by the instrument's
analyser mode (`:MODE ANALyzer`, a logarithmic `:LIST:STARt:STOP` frequency list, one
`*TRG` for the whole sweep, `:MEASure:POINt? n` to read each point). Both read |Z| and
θ (`:PARameter1 Z`, `:PARameter2 PHASE`, `:MEASure:ITEM 5,0,0`) with headers off.

Every reading comes with the instrument's measurement status: 0 a good reading, 1 an
overflow (|Z| above the range in use), 2 an underflow (below the range's accuracy span).
The driver keeps such a point, flagged OVERLOAD or OUT_OF_RANGE, rather than dropping
it. Hioki returns no error text: a refused command only sets *ESR? bits (CME 32, EXE
16, QYE 4), which `check_errors` turns into an InstrumentError naming the step.

Not checked against a real IM3590 (the public text lacks its reply tables): the field
order of `:MEASure?` (status, Z, θ) and of `:MEASure:POINt?` (status, frequency, Z, θ),
the status codes beyond 0, and the range numbers. Check them with the manual before
relying on a real instrument."""
from __future__ import annotations

import numpy as np

from instruments.connection import Connection, Garbled
from instruments.errors import LimitError
from instruments.impedance_range import (GALVANOSTATIC, OUT_OF_RANGE, OVERLOAD, POTENTIOSTATIC,
                                         ImpedanceCapability, ImpedanceSweep, check_drive, check_span)
from instruments.scpi import ScpiDriver, check_esr

SPEEDS = ("FAST", "MEDIUM", "SLOW", "SLOW2")
# Impedance ranges by number (`:RANGe n`): decades from 100 mOhm to 100 MOhm (assumed).
RANGES_OHM = (0.1, 1.0, 10.0, 100.0, 1e3, 10e3, 100e3, 1e6, 10e6, 100e6)
STATUS_FLAGS = {0: None, 1: OVERLOAD, 2: OUT_OF_RANGE}
METHODS = ("step", "analyzer")


def _reading(fields: list[str], reply: str) -> tuple[str | None, float, float]:
    """(flag, |Z|, θ in degrees) from status, Z, θ fields."""
    try:
        status = int(fields[0])
        magnitude, phase = float(fields[1]), float(fields[2])
    except (ValueError, IndexError):
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected status,Z,PHASE") from None
    # A status this driver does not know is still not a good reading.
    return STATUS_FLAGS.get(status, OUT_OF_RANGE), magnitude, phase


def parse_measure(reply: str) -> tuple[str | None, float, float]:
    """`:MEASure?` in LCR mode: status, Z, θ, and possibly the panel number after them."""
    fields = reply.strip().split(",")
    if len(fields) not in (3, 4):
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected status,Z,PHASE")
    return _reading(fields, reply)


def parse_point(reply: str) -> tuple[float, str | None, float, float]:
    """`:MEASure:POINt? n` in analyser mode: status, frequency, Z, θ."""
    fields = reply.strip().split(",")
    if len(fields) != 4:
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected status,FREQ,Z,PHASE")
    try:
        frequency = float(fields[1])
    except ValueError:
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected a frequency second") from None
    flag, magnitude, phase = _reading([fields[0], fields[2], fields[3]], reply)
    return frequency, flag, magnitude, phase


class HiokiIM3590(ScpiDriver):
    MODEL = "IM3590"
    CAPABILITY = ImpedanceCapability(
        "Hioki IM3590", 1e-3, 200e3,
        amplitude_v=(5e-3, 5.0), bias_v=(-2.5, 2.5),          # CV level; DC bias (assumed symmetric)
        max_points=801,                                       # the analyser's list; stepping has no limit
        amplitude_a=(10e-6, 50e-3), bias_a=None)

    def __init__(self, connection: Connection, name: str = "Impedance analyser (Hioki IM3590)"):
        super().__init__(connection, name)
        self.method = "step"
        self._ready = False        # set up (reset) before the first sweep

    def check_errors(self, context: str) -> None:
        """Raise naming `context` when *ESR? has an error bit set (reading clears it)."""
        check_esr(self.connection, self.name, context)

    def reset(self) -> None:
        self._write("*RST")
        self._write(":HEADer OFF")
        self._write(":MODE LCR")
        self._write(":PARameter1 Z")
        self._write(":PARameter2 PHASE")
        self._write(":PARameter3 OFF")
        self._write(":PARameter4 OFF")
        self._write(":MEASure:ITEM 5,0,0")     # Z (bit 1) and θ (bit 4) of MR0
        self._write(":TRIGger EXTernal")       # one reading per *TRG, at the host's pace
        self._write(":RANGe:AUTO ON")
        self.check_errors("reset")
        self._ready = True

    def configure(self, speed: str = "MEDIUM", averaging: int = 1, range_ohm: float | None = None,
                  method: str = "step") -> None:
        """Measurement speed (FAST, MEDIUM, SLOW, SLOW2: slower is quieter), averaging of
        `averaging` readings per point, the impedance range held (None: auto ranging; a
        held range reads faster but flags what falls outside it), and how a sweep is
        taken: 'step' (point by point from the host) or 'analyzer' (the instrument's own
        list sweep)."""
        if speed.upper() not in SPEEDS:
            raise LimitError(f"{self.name}: speed must be one of {', '.join(SPEEDS)}, got {speed!r}")
        if not 1 <= averaging <= 256:
            raise LimitError(f"{self.name}: averaging must be 1..256 readings, got {averaging}")
        if range_ohm is not None and range_ohm not in RANGES_OHM:
            raise LimitError(f"{self.name}: no {range_ohm:g} ohm range; it has "
                             + ", ".join(f"{r:g}" for r in RANGES_OHM) + " ohm")
        if method not in METHODS:
            raise LimitError(f"{self.name}: sweep method must be {' or '.join(METHODS)}, got {method!r}")
        if not self._ready:
            self.reset()
        self._write(f":SPEEd {speed.upper()}")
        self._write(":AVERaging OFF" if averaging == 1 else f":AVERaging {averaging}")
        if range_ohm is None:
            self._write(":RANGe:AUTO ON")
        else:
            self._write(":RANGe:AUTO OFF")
            self._write(f":RANGe {RANGES_OHM.index(range_ohm) + 1}")
        self.method = method
        self.check_errors("configure")

    def measure(self, f_start_hz: float, f_stop_hz: float, points: int, amplitude: float, dc_bias: float = 0.0,
                mode: str = POTENTIOSTATIC) -> ImpedanceSweep:
        """A logarithmic sweep from f_start to f_stop (in that order) at `amplitude` (V rms,
        or A rms galvanostatically) on `dc_bias` V, which is switched off after."""
        check_drive(self.CAPABILITY, amplitude, dc_bias, mode)
        if not self._ready:
            self.reset()
        # the analyser's own list holds max_points; stepped from the host, any number
        lo, hi = check_span(self.CAPABILITY, self.name, f_start_hz, f_stop_hz, points,
                            self.CAPABILITY.max_points if self.method == "analyzer" else points)
        if mode == GALVANOSTATIC:
            self._write(":LEVel CC")
            self._write(f":LEVel:CCURRent {amplitude:.6g}")
        else:
            self._write(":LEVel CV")               # the amplitude across the cell, not open-circuit
            self._write(f":LEVel:CVOLTage {amplitude:.6g}")
        if dc_bias:
            self._write(f":DCBias:LEVel {dc_bias:.6g}")
            self._write(":DCBias ON")
        try:
            self.check_errors("level and bias")
            if self.method == "analyzer":
                return self._analyzer_sweep(f_start_hz, f_stop_hz, points)
            return self._stepped_sweep(np.geomspace(f_start_hz, f_stop_hz, points))
        finally:
            if dc_bias:
                self._write(":DCBias OFF")

    def sweep(self, f_start_hz: float, f_stop_hz: float, points: int, level_v: float,
              dc_bias_v: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(frequencies, complex impedance), as KeysightE4990A.sweep gives them."""
        result = self.measure(f_start_hz, f_stop_hz, points, level_v, dc_bias_v)
        return result.freq_hz, result.z

    def _stepped_sweep(self, freqs: np.ndarray) -> ImpedanceSweep:
        self._write(":MODE LCR")
        z = np.empty(freqs.size, dtype=complex)
        flags: list[str | None] = []
        for k, f in enumerate(freqs):
            # One message a point: setting, trigger and reading go in a single write.
            flag, magnitude, phase = self.connection.query(f":FREQuency {f:.6g};*TRG;:MEASure?", parse_measure)
            z[k] = magnitude * np.exp(1j * np.deg2rad(phase))
            flags.append(flag)
        self.check_errors("stepped sweep")
        return ImpedanceSweep(freqs.copy(), z, flags)

    def _analyzer_sweep(self, f_start_hz: float, f_stop_hz: float, points: int) -> ImpedanceSweep:
        self._write(":MODE ANALyzer")
        self._write(":SWEep:MAIN:SOURce FREQuency")
        self._write(f":LIST:STARt:STOP {f_start_hz:.6g},{f_stop_hz:.6g},{points},LOG")
        self._write(":SWEep:TRIGger SEQuential")
        self._write("*TRG")                     # the whole list; *OPC? answers once it is swept
        self.check_errors("analyser sweep")
        freqs = np.empty(points)
        z = np.empty(points, dtype=complex)
        flags: list[str | None] = []
        for k in range(points):
            freqs[k], flag, magnitude, phase = self.connection.query(f":MEASure:POINt? {k + 1}", parse_point)
            z[k] = magnitude * np.exp(1j * np.deg2rad(phase))
            flags.append(flag)
        self._write(":MODE LCR")
        return ImpedanceSweep(freqs, z, flags)
