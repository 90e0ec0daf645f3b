"""Injected time. The run engine and the simulated instruments ask a clock, never
time.time(), so a 500-cycle experiment can play in minutes and be tested in seconds.

Simulated time moves only while the engine sleeps, in exactly the steps it asks for:
I/O and processing between polls take no simulated time, as they take next to no real
time on a real bench. `speed` paces those steps against the wall clock (3600 = an hour
a second); an infinite speed runs as fast as the machine goes.
"""
from __future__ import annotations

import math
import threading
import time


class SimClock:
    def __init__(self, speed: float = math.inf):
        if not speed > 0:
            raise ValueError(f"clock speed must be above 0, got {speed!r}")
        self.speed = float(speed)
        self._t = 0.0
        self._lock = threading.Lock()
        self._wall_start = time.monotonic()

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if math.isfinite(self.speed):
            # Pace against a schedule rather than sleeping a fixed span, so time spent
            # working between sleeps is caught up instead of accumulating as drift.
            due = self._wall_start + (self._t + seconds) / self.speed
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        with self._lock:
            self._t += seconds


    def jump(self, seconds: float) -> None:
        """Time leaps ahead at once (a fault to test against: what an instrument does
        with its own clock when the PC's stalls or is reset)."""
        with self._lock:
            self._t += seconds


def make_clock(speed: str | float) -> SimClock:
    """A clock from a CLI/GUI speed: a factor against real time, or 'max'."""
    if isinstance(speed, str):
        if speed.strip().lower() == "max":
            return SimClock(math.inf)
        try:
            speed = float(speed)
        except ValueError:
            raise ValueError(f"speed must be a number (x real time) or 'max', got {speed!r}") from None
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"speed must be above 0 (x real time) or 'max', got {speed!r}")
    return SimClock(speed)


class WallClock:
    """Real time, for real instruments."""

    speed = 1.0

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
