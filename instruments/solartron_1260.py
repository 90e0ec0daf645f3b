"""Solartron (Schlumberger) 1260 / 1260A impedance gain-phase analyser, 10 µHz to 32 MHz,
over GPIB in its own two-letter ASCII command set (not SCPI), CR LF terminated
(docs: /work/shared/PROTOCOLS.md §5; the 1260 operating manual, 12600012 issue CB).

Set-up, once per reset: comma separator and CR LF terminator (`OS 0`, `OT 0`), results
to the GPIB in ASCII (`OP 2,1`), no built-in sweep (`SW 0`), the result V1/I (`SO 1,3`,
the impedance as the 1260 reports it) in polar form (`CZ 1`, phase -180..180 with
`UW 0`), auto-ranging inputs (`RA 1,0`, `RA 3,0`), auto-integration off (`AU 0`).
A spectrum is stepped from the host as every public client does (the 1260's own sweep
commands are undocumented in public): per point `FR f`, `IS t` and `SI`, one record read
back. The record is `frequency, |Z|, θ, error code[, limits code]` (manual §2.4.2);
a non-zero error code (the last digit of a group-8 measurement error: an input
overloaded) makes that point flagged OVERLOAD.

Several commands go in one GPIB transfer separated by CR LF, which the instrument reads
exactly as separate messages; this spares a TCP link the ~40 ms Nagle stall between two
writes. Errors in commands set *ESR? bits (the 1260 supports the IEEE 488.2 common
commands), checked after set-up. Not verified on hardware: which error digits mean
overload, and whether the 1260A answers *IDN? as the 1260 does."""
from __future__ import annotations

import time

import numpy as np

from instruments.connection import Connection, Garbled
from instruments.errors import LimitError
from instruments.impedance_range import (GALVANOSTATIC, OVERLOAD, POTENTIOSTATIC, ImpedanceCapability,
                                         ImpedanceSweep, check_drive, check_span)
from instruments.scpi import check_esr

SETUP = ("OS 0", "OT 0", "OP 2,1", "SW 0", "BP 0", "CZ 1", "UW 0", "SO 1,3", "RA 1,0", "RA 3,0", "AU 0", "MS 0")


def number_text(value: float) -> str:
    """A plain decimal (no exponent): one client reports the 1260 wants one-digit
    exponents, others send two; plain decimals sidestep the question."""
    return np.format_float_positional(value, precision=7, unique=True, fractional=False, trim="-")


def parse_record(reply: str) -> tuple[float, float, float, int]:
    """(frequency Hz, |Z| ohm, θ degrees, error code) from one ASCII result record."""
    fields = reply.strip().split(",")
    if len(fields) not in (4, 5):
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected frequency,|Z|,phase,error")
    try:
        frequency, magnitude, phase = (float(v) for v in fields[:3])
        error = int(fields[3])
    except ValueError:
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected frequency,|Z|,phase,error") from None
    return frequency, magnitude, phase, error


class Solartron1260:
    MODEL = "1260"
    CAPABILITY = ImpedanceCapability(
        "Solartron 1260", 10e-6, 32e6,
        amplitude_v=(0.0, 3.0), bias_v=(-40.95, 40.95),
        max_points=100_000,                         # stepped from the host: no list to fill
        amplitude_a=(0.0, 60e-3), bias_a=(-100e-3, 100e-3))
    INTEGRATION_RANGE_S = (0.01, 1e5)

    def __init__(self, connection: Connection, name: str = "Impedance analyser (Solartron 1260)",
                 reset_wait_s: float = 3.0):
        self.connection = connection
        self.name = name
        self.reset_wait_s = reset_wait_s      # clients wait 2-5 s after a reset before talking
        self.integration_s = 0.2
        self._ready = False        # set up (reset) before the first sweep

    def identify(self) -> str:
        return self.connection.query("*IDN?")

    def _send(self, *commands: str) -> None:
        self.connection.write("\r\n".join(commands))

    def check_errors(self, context: str) -> None:
        check_esr(self.connection, self.name, context)

    def reset(self) -> None:
        self._send("*RST")
        if self.reset_wait_s:
            time.sleep(self.reset_wait_s)
        self._send("*CLS", *SETUP, f"IS {number_text(self.integration_s)}")
        self.check_errors("set-up")
        self._ready = True

    def configure(self, integration_s: float = 0.2) -> None:
        """Integration time per point (s); at low frequency a point integrates at least one period."""
        lo, hi = self.INTEGRATION_RANGE_S
        if not lo <= integration_s <= hi:
            raise LimitError(f"{self.name}: integration time {integration_s:g} s is outside {lo:g}..{hi:g} s")
        self.integration_s = integration_s
        if self._ready:
            self._send(f"IS {number_text(integration_s)}")

    def measure(self, f_start_hz: float, f_stop_hz: float, points: int, amplitude: float, dc_bias: float = 0.0,
                mode: str = POTENTIOSTATIC) -> ImpedanceSweep:
        """A logarithmic sweep from f_start to f_stop, point by point, at `amplitude` (V rms,
        or A rms galvanostatically) on `dc_bias`; the generator goes back to zero after."""
        check_drive(self.CAPABILITY, amplitude, dc_bias, mode)
        if not self._ready:
            self.reset()
        lo, hi = check_span(self.CAPABILITY, self.name, f_start_hz, f_stop_hz, points)
        if mode == GALVANOSTATIC:
            drive = ("GT 1", f"IA {number_text(amplitude)}", f"IB {number_text(dc_bias)}")
            zero = ("IA 0", "IB 0")
        else:
            drive = ("GT 0", f"VA {number_text(amplitude)}", f"VB {number_text(dc_bias)}")
            zero = ("VA 0", "VB 0")
        self._send(*drive)
        try:
            self.check_errors("generator")
            freqs = np.geomspace(f_start_hz, f_stop_hz, points)
            z = np.empty(points, dtype=complex)
            flags: list[str | None] = []
            for k, f in enumerate(freqs):
                z[k], flag = self._point(float(f))
                flags.append(flag)
            return ImpedanceSweep(freqs, z, flags)
        finally:
            self._send(*zero)
            self.check_errors("generator off")     # and the reply says the zeroing was read

    def sweep(self, f_start_hz: float, f_stop_hz: float, points: int, level_v: float,
              dc_bias_v: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(frequencies, complex impedance), as KeysightE4990A.sweep gives them."""
        result = self.measure(f_start_hz, f_stop_hz, points, level_v, dc_bias_v)
        return result.freq_hz, result.z

    def _point(self, f: float) -> tuple[complex, str | None]:
        integration = max(self.integration_s, min(1.0 / f, self.INTEGRATION_RANGE_S[1]))
        command = f"FR {number_text(f)}\r\nIS {number_text(integration)}\r\nSI"

        def parse(reply: str) -> tuple[float, float, float, int]:
            record = parse_record(reply)
            # A record for another frequency is a stale one (a reply that came late): the
            # connection reopens and asks again, as for any garbled reply.
            if abs(record[0] - f) > 1e-4 * f:
                raise Garbled(f"the record is for {record[0]:g} Hz, not the {f:g} Hz set")
            return record

        _, magnitude, phase, error = self.connection.query(command, parse)
        return magnitude * np.exp(1j * np.deg2rad(phase)), (OVERLOAD if error else None)
