"""An emulated Keysight 34465A on the SMU's trigger line: each SMU reading triggers
one reading of the cell's reference-electrode potential into its memory."""
from __future__ import annotations

import threading
from collections import deque

import numpy as np

IDN = "Keysight Technologies,34465A,SIM00003,A.03.01 SolidStack simulated bench"
NOISE_V = 1e-6


class Dmm34465AEmulator:
    def __init__(self, seed: int = 0):
        self._rng = np.random.default_rng(seed + 2)
        self._lock = threading.Lock()
        self._memory: deque[float] = deque()
        self._errors: list[str] = []
        self.armed = False
        self.range_v = 10.0

    def trigger(self, potentials: np.ndarray) -> None:
        """The SMU's trigger line fired once per element of `potentials`."""
        with self._lock:
            if self.armed:
                noisy = np.clip(potentials + self._rng.normal(0, NOISE_V, potentials.size), -1.2 * self.range_v, 1.2 * self.range_v)
                self._memory.extend(noisy.tolist())

    def handle(self, command: str) -> str | None:
        with self._lock:
            header, _, args = command.strip().partition(" ")
            header = header.upper().lstrip(":")
            if header == "*IDN?":
                return IDN
            if header == "*OPC?":
                return "1"
            if header == "*RST":
                self.armed, self.range_v = False, 10.0
                self._memory.clear()
            elif header == "CONF:VOLT:DC":
                self.range_v = float(args)
            elif header in ("VOLT:DC:IMP:AUTO", "TRIG:SOUR", "TRIG:COUN", "SAMP:COUN"):
                pass
            elif header == "INIT":
                self.armed = True
            elif header == "ABOR":
                self.armed = False
            elif header == "DATA:POIN?":
                return str(len(self._memory))
            elif header == "DATA:REM?":
                n = min(int(args), len(self._memory))
                return ",".join(f"{self._memory.popleft():.9g}" for _ in range(n))
            elif header == "SYST:ERR?":
                return self._errors.pop(0) if self._errors else '+0,"No error"'
            else:
                self._errors.append(f'-113,"Undefined header; {header}"')
            return None
