"""An emulated Solartron 1260 measuring the simulated cell's impedance in its two-letter
ASCII command set (PROTOCOLS.md §5): `XX a,b` with or without the space, one command per
CR LF-terminated message, IEEE 488.2 *RST, *CLS, *ESR? and *IDN?. Unknown commands set
the command-error bit (CME 32) of *ESR?, values out of range the execution-error bit
(EXE 16); nothing else is said, as a GPIB instrument without an error queue does.

`SI` measures once at the set frequency. With results routed to the GPIB (`OP 2,1`) it
leaves one record `frequency,|Z|,θ,error` to be read (`DO` repeats it); with the output
off (the state after *RST) nothing is sent, so a client that forgot `OP 2,1` waits in
vain. The inputs range as the 1260's do: V1 on 30 mV, 300 mV, 3 V, the current input on
6 µA .. 60 mA; auto ranging picks the smallest that holds the signal's peak. A signal
beyond its range clips: the record carries a non-zero error digit (ASSUMED: the channel
number, 1 = V1, 3 = I) and the |Z| the clipped waveform gives. Served with scpi=False."""
from __future__ import annotations

import re
import threading

import numpy as np

from instruments.solartron_1260 import Solartron1260

IDN = "SCHLUMBERGER TECHNOLOGIES, 1260 IMPEDANCE ANALYZER, 0, 0"
CAP = Solartron1260.CAPABILITY
V1_RANGES_V = (0.03, 0.3, 3.0)                              # RA 1,1..3 (peak)
I_RANGES_A = (6e-6, 60e-6, 600e-6, 6e-3, 60e-3)             # RA 3,1..5 (peak)
NOISE_AT_1S = 0.001           # relative 1 sigma for 1 s of integration
CME, EXE = 32, 16
_COMMAND = re.compile(r"^([A-Z]{2})\s*(.*)$")


class Solartron1260Emulator:
    IDN = IDN

    def __init__(self, cell, clock, seed: int = 0):
        self.cell = cell
        self.clock = clock
        self._rng = np.random.default_rng(seed + 12)
        self._lock = threading.Lock()
        self.esr = 0
        self.measurements = 0
        self.commands: list[str] = []      # every command carried out, for tests
        self._reset()

    def _reset(self) -> None:
        self.output_gpib = False
        self.separator, self.terminator = 0, 0
        self.frequency = 1000.0
        self.generator = 0              # GT 0 voltage, GT 1 current
        self.va, self.vb, self.ia, self.ib = 0.0, 0.0, 0.0, 0.0
        self.integration_s, self.delay_s = 1.0, 0.0
        self.ranges = {1: 0, 2: 0, 3: 0}
        self.source = (1, 2)
        self.polar = False
        self.record: str | None = None

    def refuse(self, command: str) -> None:
        with self._lock:
            self.esr |= EXE

    def handle(self, message: str) -> str | None:
        with self._lock:
            command = message.strip()
            if not command:
                return None
            if command.upper() in ("*IDN?", "*IDN"):
                return self.IDN
            if command.upper() == "*ESR?":
                esr, self.esr = self.esr, 0
                return str(esr)
            if command.upper() == "*RST":
                self._reset()
                return None
            if command.upper() == "*CLS":
                self.esr = 0
                return None
            match = _COMMAND.match(command.upper())
            handler = getattr(self, f"_{match.group(1).lower()}", None) if match else None
            if handler is None:
                self.esr |= CME
                return None
            try:
                args = [float(a) for a in match.group(2).split(",")] if match.group(2).strip() else []
                reply = handler(args)
            except (ValueError, IndexError):
                self.esr |= EXE
                return None
            self.commands.append(command.upper())
            return reply

    # -- commands (each refuses what it cannot take with ValueError/IndexError: EXE) --
    @staticmethod
    def _within(value: float, lo: float, hi: float) -> float:
        if not lo <= value <= hi:
            raise ValueError(value)
        return value

    def _tt(self, a):
        if a[0] != 2:          # TT 2 is the reset every client uses; the others are service tests
            raise ValueError(a)
        self._reset()

    def _os(self, a):
        self.separator = int(self._within(a[0], 0, 0))     # ASSUMED: only the comma here

    def _ot(self, a):
        self.terminator = int(self._within(a[0], 0, 0))    # ASSUMED: only CR LF here

    def _op(self, a):
        port, mode = int(a[0]), int(a[1])
        if port == 2:
            self.output_gpib = bool(self._within(mode, 0, 1))

    def _sw(self, a):
        self._within(a[0], 0, 0)        # the built-in sweep is not emulated: off only

    def _bp(self, a):
        self._within(a[0], 0, 1)

    def _ce(self, a):
        self.esr = 0

    def _cz(self, a):
        self.polar = bool(self._within(a[0], 0, 1))

    def _cv(self, a):
        self._within(a[0], 0, 1)

    def _uw(self, a):
        self._within(a[0], 0, 0)        # unwrapped phase is not emulated

    def _so(self, a):
        numerator, denominator = int(a[0]), int(a[1])
        if (numerator, denominator) != (1, 3):     # only V1/I: nothing is wired to V2 here
            raise ValueError(a)
        self.source = (numerator, denominator)

    def _ra(self, a):
        channel, r = int(a[0]), int(a[1])
        top = {1: len(V1_RANGES_V), 2: len(V1_RANGES_V), 3: len(I_RANGES_A)}[channel]
        self.ranges[channel] = int(self._within(r, 0, top))

    def _dc(self, a):
        self._within(a[0], 1, 3)
        self._within(a[1], 0, 1)

    def _au(self, a):
        self._within(a[0], 0, 0)        # auto-integration is not emulated

    def _is(self, a):
        self.integration_s = self._within(a[0], *Solartron1260.INTEGRATION_RANGE_S)

    def _ms(self, a):
        self.delay_s = self._within(a[0], 0.0, 1e5)

    def _fr(self, a):
        self.frequency = self._within(a[0], CAP.f_min_hz, CAP.f_max_hz)

    def _gt(self, a):
        self.generator = int(self._within(a[0], 0, 1))

    def _va(self, a):
        self.va = self._within(a[0], *CAP.amplitude_v)

    def _vb(self, a):
        self.vb = self._within(a[0], *CAP.bias_v)

    def _ia(self, a):
        self.ia = self._within(a[0], *CAP.amplitude_a)

    def _ib(self, a):
        self.ib = self._within(a[0], *CAP.bias_a)

    def _si(self, a):
        self.record = self._measure()
        self.measurements += 1
        return self.record if self.output_gpib else None

    def _do(self, a):
        if self.record is None:
            raise ValueError("no result yet")
        return self.record if self.output_gpib else None

    # -- the measurement --
    def _measure(self) -> str:
        f = self.frequency
        self.cell.advance(self.clock.now())
        z = complex(self.cell.impedance(np.array([f]))[0])
        # the integration covers at least a period; noise falls as its square root
        noise = NOISE_AT_1S / np.sqrt(max(self.integration_s, 1.0 / f))
        z = z * (1 + noise * self._rng.standard_normal()) + 1j * noise * abs(z) * self._rng.standard_normal()
        magnitude, phase = abs(z), float(np.degrees(np.angle(z)))
        if self.generator == 0:
            v_peak = self.va * np.sqrt(2)
            i_peak = v_peak / magnitude
        else:
            i_peak = self.ia * np.sqrt(2)
            v_peak = i_peak * magnitude
        error = 0
        v_scale = self._full_scale(V1_RANGES_V, self.ranges[1], v_peak)
        i_scale = self._full_scale(I_RANGES_A, self.ranges[3], i_peak)
        # a clipped channel reads at most its full scale: the ratio is off by as much
        if v_peak > v_scale:
            error, magnitude = 1, magnitude * v_scale / v_peak
        if i_peak > i_scale:
            error, magnitude = 3, magnitude * i_peak / i_scale
        if self.polar:
            a, b = magnitude, phase
        else:
            a, b = magnitude * np.cos(np.radians(phase)), magnitude * np.sin(np.radians(phase))
        return f"{f:+.7E},{a:+.4E},{b:+.4E},{error}"

    @staticmethod
    def _full_scale(ranges: tuple[float, ...], chosen: int, peak: float) -> float:
        if chosen:
            return ranges[chosen - 1]
        fits = [r for r in ranges if peak <= r]
        return fits[0] if fits else ranges[-1]
