"""The simulated pressure fixture: an Alicat controller whose pressure follows its
set-point at a limited ramp rate with a first-order lag and noise (and can be made to
leak, to test drift alarms), the Mark-10 gauge reading the same force, and an RTD
thermometer at the cell's temperature (an emulated Keysight 34465A)."""
from __future__ import annotations

import threading

import numpy as np

from instruments.sim.scpi_server import ScpiEmulator

LAG_S = 5.0
PRESSURE_NOISE_MPA = 0.002
FORCE_NOISE_N = 0.2
TEMPERATURE_NOISE_C = 0.02


class FixtureState:
    """Stack pressure on the cell (MPa) as simulated time passes."""

    def __init__(self, clock, area_cm2: float, seed: int = 0, pressure_mpa: float = 0.0):
        self.clock = clock
        self.area_cm2 = area_cm2
        self.rng = np.random.default_rng(seed + 3)
        self.lock = threading.Lock()
        self.pressure = pressure_mpa
        self.setpoint = pressure_mpa
        self.ramp_mpa_s = 0.0        # 0: no limit
        self._ramped = pressure_mpa  # the controller's working set-point on its ramp
        self.leak_mpa_s = 0.0        # a fault: pressure lost per second, whatever the set-point
        self._t = clock.now()

    def advance(self) -> None:
        """Integrate exactly over the time since the last call: the controller moves its
        working set-point towards the set-point at the ramp rate, and the pressure follows
        that with a first-order lag (LAG_S). Exact, so the pressure does not depend on how
        often the fixture is polled (a ramp stepped per call crawled when polled finely)."""
        now = self.clock.now()
        dt = now - self._t
        self._t = now
        if dt <= 0:
            return
        p, r, left = self.pressure, self._ramped, dt
        if self.ramp_mpa_s > 0 and r != self.setpoint:
            k = self.ramp_mpa_s if self.setpoint > r else -self.ramp_mpa_s
            t1 = min(left, abs(self.setpoint - r) / self.ramp_mpa_s)
            # p' = (r + k t - p) / LAG  =>  p(t) = r + k t - k LAG + (p0 - r + k LAG) exp(-t / LAG)
            p = r + k * t1 - k * LAG_S + (p - r + k * LAG_S) * np.exp(-t1 / LAG_S)
            r = self.setpoint if t1 < left else r + k * t1
            left -= t1
        else:
            r = self.setpoint
        p = r + (p - r) * np.exp(-left / LAG_S)
        self._ramped = r
        self.pressure = max(0.0, p - self.leak_mpa_s * dt)

    def read(self) -> float:
        with self.lock:
            self.advance()
            return self.pressure + PRESSURE_NOISE_MPA * self.rng.standard_normal()


class AlicatEmulator:
    def __init__(self, fixture: FixtureState, unit: str = "A"):
        self.fixture = fixture
        self.unit = unit

    def _frame(self) -> str:
        return f"{self.unit} {self.fixture.read():+08.3f} {self.fixture.setpoint:+08.3f} MPa"

    def handle(self, message: str) -> str | None:
        f = self.fixture
        if not message.upper().startswith(self.unit):
            return None  # addressed to another unit on the bus
        body = message[1:].strip().upper()
        if body == "":
            return self._frame()
        if body == "??M*":
            return f"{self.unit} M01 Alicat Scientific PC-SIM SolidStack simulated bench"
        try:
            if body.startswith("SR"):
                with f.lock:
                    f.advance()
                    f.ramp_mpa_s = float(body[2:])
                return self._frame()
            if body.startswith("S"):
                with f.lock:
                    f.advance()
                    f.setpoint = float(body[1:])
                return self._frame()
        except ValueError:
            return "?"
        return "?"


class Mark10Emulator:
    def __init__(self, fixture: FixtureState):
        self.fixture = fixture

    def handle(self, message: str) -> str | None:
        if message.strip() == "?":
            force = self.fixture.read() * self.fixture.area_cm2 * 100.0   # MPa x cm2 -> N
            return f"{force + FORCE_NOISE_N * self.fixture.rng.standard_normal():.1f} N"
        return None


class ThermalState:
    """The cell's temperature: it follows the chamber's set-point with a lag."""
    LAG_S = 600.0

    def __init__(self, clock, temperature_c: float):
        self.clock = clock
        self.setpoint = temperature_c
        self._temperature = temperature_c
        self._t = clock.now()
        self.lock = threading.Lock()

    @property
    def temperature_c(self) -> float:
        with self.lock:
            now = self.clock.now()
            if now > self._t:
                self._temperature = self.setpoint + (self._temperature - self.setpoint) * np.exp(-(now - self._t) / self.LAG_S)
                self._t = now
            return self._temperature


class ChamberEmulator(ScpiEmulator):
    IDN = "SolidStack,Chamber SIM,SIM00005,1.0 simulated bench"

    def __init__(self, thermal: ThermalState, seed: int = 0):
        super().__init__()
        self.thermal = thermal
        self.rng = np.random.default_rng(seed + 5)

    def _dispatch(self, header: str, args: str) -> str | None:
        if header == ":SOUR:TEMP":
            _ = self.thermal.temperature_c          # bring the state to now before the change
            self.thermal.setpoint = float(args)
        elif header == ":SOUR:TEMP?":
            return f"{self.thermal.setpoint:.3f}"
        elif header == ":MEAS:TEMP?":
            return f"{self.thermal.temperature_c + 0.05 * self.rng.standard_normal():.3f}"
        return None


class RtdThermometerEmulator:
    """A 34465A measuring a 4-wire PT100 on the cell: `MEAS:TEMP? FRTD,85`."""
    IDN = "Keysight Technologies,34465A,SIM00004,A.03.01 SolidStack simulated bench"

    def __init__(self, thermal: ThermalState, seed: int = 0):
        self.thermal = thermal
        self.rng = np.random.default_rng(seed + 4)

    @property
    def temperature_c(self) -> float:
        return self.thermal.temperature_c

    def handle(self, command: str) -> str | None:
        header = command.strip().split(" ")[0].upper().lstrip(":")
        if header == "*IDN?":
            return self.IDN
        if header == "*OPC?":
            return "1"
        if header == "MEAS:TEMP?":
            return f"{self.temperature_c + TEMPERATURE_NOISE_C * self.rng.standard_normal():+.6E}"
        return None
