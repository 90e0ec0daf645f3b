"""An emulated Hioki IM3590 measuring the simulated cell's impedance, in Hioki's
SCPI-like dialect as PROTOCOLS.md §4 describes it: case-insensitive long or short
headers, `;` joining commands on one line (an error skips the rest of the line; a query
must come last), no error text (a refused command sets *ESR? CME 32, EXE 16 or QYE 4),
replies upper case, prefixed with their header unless `:HEADer OFF`.

The instrument's ranges: with auto ranging each reading uses the lowest range that
holds |Z|; with a range held, a reading above 1.1 x the range reads as an overflow
(status 1, |Z| saturated at that full scale: the distorted value an overloaded input
gives) and one below 1/100 of it as an underflow (status 2, noisier). Noise falls with
speed and averaging. Served with scpi=False: the emulator splits lines itself, as the
Hioki does. Choices the public text leaves open are marked ASSUMED."""
from __future__ import annotations

import re
import threading

import numpy as np

from instruments.hioki_im3590 import HiokiIM3590, RANGES_OHM

IDN = "HIOKI,IM3590,0,V2.02 SolidStack simulated bench"
CAP = HiokiIM3590.CAPABILITY
OVERRANGE = 1.1           # ASSUMED: a held range reads up to 110 % of its value
UNDERRANGE = 0.01         # ASSUMED: below 1 % of the range, accuracy is not guaranteed
NOISE = {"FAST": 0.004, "MEDIUM": 0.002, "SLOW": 0.001, "SLOW2": 0.0005}   # relative, 1 sigma
CME, EXE, QYE = 32, 16, 4


def _pattern(spec: str) -> re.Pattern:
    """':FREQuency' -> accepts :FREQ or :FREQUENCY (any case); '?' kept literal."""
    parts = []
    for node in spec.strip(":").split(":"):
        query = node.endswith("?")
        node = node.rstrip("?")
        short = "".join(c for c in node if c.isupper() or c.isdigit())
        parts.append(f"(?:{re.escape(node.upper())}|{re.escape(short)})" + (r"\?" if query else ""))
    return re.compile(":?" + ":".join(parts) + "$")


class IM3590Emulator:
    IDN = IDN

    COMMANDS = {name: _pattern(name) for name in (
        ":HEADer", ":MODE", ":FREQuency", ":FREQuency?", ":LEVel", ":LEVel:VOLTage", ":LEVel:CVOLTage",
        ":LEVel:CCURRent", ":DCBias", ":DCBias:LEVel", ":SPEEd", ":AVERaging", ":RANGe", ":RANGe:AUTO",
        ":PARameter1", ":PARameter2", ":PARameter3", ":PARameter4", ":MEASure:ITEM", ":TRIGger",
        ":MEASure?", ":MEASure:POINt?", ":SWEep:MAIN:SOURce", ":LIST:STARt:STOP", ":SWEep:TRIGger")}

    def __init__(self, cell, clock, seed: int = 0):
        self.cell = cell
        self.clock = clock
        self._rng = np.random.default_rng(seed + 11)
        self._lock = threading.Lock()
        self.esr = 0
        self.triggers = 0
        self.commands: list[str] = []      # every command carried out, for tests
        self._reset()

    def _reset(self) -> None:
        self.header = True
        self.mode = "LCR"
        self.frequency = 1000.0
        self.level_mode, self.level_v, self.level_cv, self.level_cc = "V", 1.0, 1.0, 1e-3
        self.bias_on, self.bias_v = False, 0.0
        self.speed, self.averaging = "MEDIUM", 1
        self.range_auto, self.range_n = True, 4
        self.parameters = ["Z", "PHASE", "OFF", "OFF"]
        self.item = (5, 0, 0)
        self.trigger = "INTERNAL"
        self.sweep_source, self.sweep_trigger = "FREQUENCY", "SEQUENTIAL"
        self.list = (1.0, 1e5, 51, "LOG")
        self.reading: tuple[int, float, float] | None = None
        self.points: list[tuple[int, float, float, float]] = []

    # -- the protocol --
    def refuse(self, command: str) -> None:
        """Not carried out: an execution error, as the instrument sets when it cannot."""
        with self._lock:
            self.esr |= EXE

    def handle(self, line: str) -> str | None:
        """One line: commands joined by ';', at most one reply (from a final query)."""
        with self._lock:
            commands = [c.strip() for c in line.strip().split(";")]
            reply = None
            for k, command in enumerate(commands):
                if not command:
                    continue
                if reply is not None:      # a query followed by another command
                    self.esr |= QYE
                    return None
                try:
                    reply = self._one(command)
                except _Refused as refused:
                    self.esr |= refused.bit
                    return None            # an error skips the rest of the line
            return reply

    def _one(self, command: str) -> str | None:
        header, _, args = command.partition(" ")
        header, args = header.upper(), args.strip()
        if header == "*IDN?":
            return self.IDN
        if header == "*OPC?":
            return "1"
        if header == "*ESR?":
            esr, self.esr = self.esr, 0
            return str(esr)
        if header in ("*RST", "*CLS", "*TRG"):
            {"*RST": self._reset, "*CLS": self._clear, "*TRG": self._trigger}[header]()
            self.commands.append(header)
            return None
        for name, pattern in self.COMMANDS.items():
            if pattern.match(header):
                reply = getattr(self, "_" + name.strip(":").replace(":", "_").replace("?", "_q").lower())(args)
                self.commands.append(f"{name} {args}".strip())
                return reply
        raise _Refused(CME)

    def _clear(self) -> None:
        self.esr = 0

    # -- settings --
    @staticmethod
    def _choice(args: str, options: dict[str, str]) -> str:
        """The canonical name of a character argument, given long or short."""
        word = args.upper()
        for canonical, short in options.items():
            if word in (canonical, short):
                return canonical
        raise _Refused(EXE)

    @staticmethod
    def _number(args: str, lo: float, hi: float) -> float:
        try:
            value = float(args)
        except ValueError:
            raise _Refused(CME) from None
        if not lo <= value <= hi:
            raise _Refused(EXE)
        return value

    def _header(self, args):
        self.header = self._choice(args, {"ON": "1", "OFF": "0"}) == "ON"

    def _mode(self, args):
        self.mode = self._choice(args, {"LCR": "LCR", "ANALYZER": "ANAL", "CONTINUOUS": "CONT"})

    def _frequency(self, args):
        self.frequency = self._number(args, CAP.f_min_hz, CAP.f_max_hz)

    def _frequency_q(self, args):
        value = f"{self.frequency:.5E}"
        return f":FREQUENCY {value}" if self.header else value

    def _level(self, args):
        self.level_mode = self._choice(args, {"V": "V", "CV": "CV", "CC": "CC"})

    def _level_voltage(self, args):
        self.level_v = self._number(args, *CAP.amplitude_v)

    def _level_cvoltage(self, args):
        self.level_cv = self._number(args, *CAP.amplitude_v)

    def _level_ccurrent(self, args):
        self.level_cc = self._number(args, *CAP.amplitude_a)

    def _dcbias(self, args):
        self.bias_on = self._choice(args, {"ON": "1", "OFF": "0"}) == "ON"

    def _dcbias_level(self, args):
        self.bias_v = self._number(args, *CAP.bias_v)

    def _speed(self, args):
        self.speed = self._choice(args, {"FAST": "FAST", "MEDIUM": "MED", "SLOW": "SLOW", "SLOW2": "SLOW2"})

    def _averaging(self, args):
        self.averaging = 1 if args.upper() == "OFF" else int(self._number(args, 1, 256))

    def _range(self, args):
        self.range_n = int(self._number(args, 1, len(RANGES_OHM)))

    def _range_auto(self, args):
        self.range_auto = self._choice(args, {"ON": "1", "OFF": "0"}) == "ON"

    def _set_parameter(self, k: int, args: str):
        known = ("Z", "Y", "PHASE", "CS", "CP", "D", "LS", "LP", "Q", "RS", "G", "RP", "X", "B", "RDC", "T", "S",
                 "E", "OFF")
        if args.upper() not in known:
            raise _Refused(EXE)
        self.parameters[k] = args.upper()

    def _parameter1(self, args):
        self._set_parameter(0, args)

    def _parameter2(self, args):
        self._set_parameter(1, args)

    def _parameter3(self, args):
        self._set_parameter(2, args)

    def _parameter4(self, args):
        self._set_parameter(3, args)

    def _measure_item(self, args):
        try:
            masks = tuple(int(v) for v in args.split(","))
        except ValueError:
            raise _Refused(CME) from None
        # ASSUMED conservative: this emulator computes Z and θ only (MR0 bits 1 and 4).
        if len(masks) != 3 or masks[0] & ~5 or masks[1] or masks[2]:
            raise _Refused(EXE)
        self.item = masks

    def _trigger(self, args: str | None = None):
        if args is not None:          # :TRIGger INTernal|EXTernal
            self.trigger = self._choice(args, {"INTERNAL": "INT", "EXTERNAL": "EXT"})
            return
        self.triggers += 1
        if self.mode == "ANALYZER":
            start, stop, n, spacing = self.list
            freqs = np.geomspace(start, stop, n) if spacing == "LOG" else np.linspace(start, stop, n)
            self.points = [(status, f, magnitude, phase)
                           for f, (status, magnitude, phase) in zip(freqs, self._read(freqs))]
        else:
            self.reading = self._read(np.array([self.frequency]))[0]

    def _sweep_main_source(self, args):
        self.sweep_source = self._choice(args, {"FREQUENCY": "FREQ", "V": "V", "CV": "CV", "CC": "CC",
                                                "DCBIAS": "DCB"})
        if self.sweep_source != "FREQUENCY":      # ASSUMED conservative: frequency sweeps only here
            raise _Refused(EXE)

    def _list_start_stop(self, args):
        fields = [a.strip() for a in args.split(",")]
        if len(fields) != 4:
            raise _Refused(CME)
        start, stop = (self._number(v, CAP.f_min_hz, CAP.f_max_hz) for v in fields[:2])
        n = int(self._number(fields[2], 2, CAP.max_points))
        spacing = self._choice(fields[3], {"LINEAR": "LIN", "LOG": "LOG"})
        self.list = (start, stop, n, spacing)

    def _sweep_trigger(self, args):
        self.sweep_trigger = self._choice(args, {"SEQUENTIAL": "SEQ", "REPEAT": "REP", "STEP": "STEP"})

    # -- readings --
    def _measure_q(self, args):
        if self.mode != "LCR" or self.reading is None:
            raise _Refused(QYE)                  # nothing measured to return
        status, magnitude, phase = self.reading
        if self.header:
            return f"{status},Z {magnitude:.5E},PHASE {phase:.4E}"
        return f"{status},{magnitude:.5E},{phase:.4E}"

    def _measure_point_q(self, args):
        n = int(self._number(args, 1, max(len(self.points), 1)))
        if self.mode != "ANALYZER" or not self.points:
            raise _Refused(QYE)
        status, f, magnitude, phase = self.points[n - 1]
        return f"{status},{f:.5E},{magnitude:.5E},{phase:.4E}"

    def _read(self, freqs: np.ndarray) -> list[tuple[int, float, float]]:
        """(status, |Z|, θ degrees) of the cell at `freqs`, through the range logic."""
        self.cell.advance(self.clock.now())
        z = self.cell.impedance(freqs)
        noise = NOISE[self.speed] / np.sqrt(self.averaging)
        z = z * (1 + noise * self._rng.standard_normal(z.size)) + 1j * noise * np.abs(z) * self._rng.standard_normal(z.size)
        out = []
        for value in z:
            magnitude, phase = float(abs(value)), float(np.degrees(np.angle(value)))
            if self.range_auto:
                fits = [r for r in RANGES_OHM if magnitude <= r * OVERRANGE]
                full_scale = fits[0] if fits else RANGES_OHM[-1]
            else:
                full_scale = RANGES_OHM[self.range_n - 1]
            status = 0
            if magnitude > full_scale * OVERRANGE:
                status, magnitude = 1, full_scale * OVERRANGE
            elif magnitude < full_scale * UNDERRANGE:
                # below the range's span the reading is dominated by the range's own noise
                status = 2
                magnitude += full_scale * UNDERRANGE * 0.05 * float(self._rng.standard_normal())
                magnitude = abs(magnitude)
            out.append((status, magnitude, phase))
        return out


class _Refused(Exception):
    def __init__(self, bit: int):
        super().__init__(bit)
        self.bit = bit
