"""An emulated Keithley 2450 driving a simulated cell: the subset of the native SCPI
command set the driver uses, a reading buffer, an error queue, and two trigger models:
the predefined DurationLoop, and a block model (delay, measure, limit branch, counter,
source off) that stops sampling when the voltage leaves a window and switches the
output off, as the real instrument's trigger-model blocks do. Time comes from the
injected clock, so it runs accelerated.

The reading buffer holds `:TRAC:POIN` readings (100,000 by default, as defbuffer1);
more overwrite the oldest (fill mode continuous) and `:TRAC:ACT?` stays at the capacity,
so a driver that lets it fill up loses readings here as it would on the instrument."""
from __future__ import annotations

import math
import time

import numpy as np

from instruments.sim.scpi_server import ScpiEmulator

IDN = "KEITHLEY INSTRUMENTS,MODEL 2450,SIM00001,1.7.12b SolidStack simulated bench"
DEFAULT_CAPACITY = 100_000    # defbuffer1 after *RST


class Keithley2450Emulator(ScpiEmulator):
    IDN = IDN
    def __init__(self, cell, clock, trigger_out=None):
        self.cell = cell
        self.clock = clock
        self.trigger_out = trigger_out   # an instrument on the trigger line (the reference voltmeter)
        self.switched_off_at: float | None = None
        self.reset_capacity = DEFAULT_CAPACITY   # what *RST sets (smaller in tests of long runs)
        super().__init__()
        self._reset()

    def _reset(self) -> None:
        self.output_on = False
        self.output_mode = "NORM"
        self.source_current = 0.0
        self.voltage_limit = 21.0
        self.capacity = self.reset_capacity
        self._clear_buffer()
        self._running = False
        self._blocks: dict[int, tuple] = {}
        self._loop = {"interval": 1.0, "count": 0, "v_min": -np.inf, "v_max": np.inf, "off_at_end": False}
        self._loop_start = 0.0
        self._taken = 0

    def _clear_buffer(self) -> None:
        self._table = np.empty((min(self.capacity, 4096), 3))   # rows of (rel time, source, reading)
        self._count = 0
        self.buffer_t0 = self.clock.now()

    def _store(self, rows: np.ndarray) -> None:
        need = self._count + rows.shape[0]
        if need > self._table.shape[0] and self._table.shape[0] < self.capacity:
            grown = np.empty((min(max(need, 2 * self._table.shape[0]), self.capacity), 3))
            grown[: self._count] = self._table[: self._count]
            self._table = grown
        if need > self.capacity:     # full: the newest readings overwrite the oldest
            keep = max(self.capacity - rows.shape[0], 0)
            self._table[:keep] = self._table[self._count - keep : self._count]
            rows = rows[-self.capacity :]
            self._count = keep
        self._table[self._count : self._count + rows.shape[0]] = rows
        self._count += rows.shape[0]

    # -- the state machine --
    def _apply_current(self) -> None:
        self.cell.set_current(self.clock.now(), self.source_current if self.output_on else 0.0)

    def _advance(self) -> None:
        """Take every reading the trigger model is due by now."""
        if not self._running:
            return
        loop = self._loop
        due = min(loop["count"], int(math.floor((self.clock.now() - self._loop_start) / loop["interval"] + 1e-9)))
        if due > self._taken:
            times = self._loop_start + loop["interval"] * np.arange(self._taken + 1, due + 1)
            current = self.source_current if self.output_on else 0.0
            volts = self.cell.take(times, loop["v_min"], loop["v_max"])
            taken = volts.size
            # The limit branch leaves the loop at the first reading outside the window, also
            # when that reading is the last one due by now.
            left_window = taken < times.size or not loop["v_min"] <= volts[-1] <= loop["v_max"]
            if self.trigger_out is not None:
                self.trigger_out.trigger(self.cell.last_reference[:taken])
            volts = np.clip(volts, -self.voltage_limit, self.voltage_limit)
            rows = np.column_stack([times[:taken] - self.buffer_t0, np.full(taken, current), volts])
            self._store(rows)
            self._taken += taken
            if left_window:
                self._end_loop(float(times[taken - 1]))
                return
        if self._taken >= loop["count"]:
            self._end_loop(self._loop_start + loop["count"] * loop["interval"])

    def _end_loop(self, t_end: float) -> None:
        self._running = False
        if self._loop["off_at_end"]:
            self.output_on = False
            self.cell.set_current(t_end, 0.0)

    def _compile_blocks(self) -> dict:
        """The one block model we emulate: DEL, MDIG, [BRAN:LIM], BRAN:COUN, [SOUR:STAT OFF]."""
        kinds = [self._blocks[n][0] for n in sorted(self._blocks)]
        if kinds[:2] != ["DEL", "MDIG"] or "COUN" not in kinds:
            raise ValueError("unsupported trigger model " + ",".join(kinds))
        loop = {"interval": 0.0, "count": 0, "v_min": -np.inf, "v_max": np.inf, "off_at_end": False}
        for n in sorted(self._blocks):
            block = self._blocks[n]
            if block[0] == "DEL":
                loop["interval"] = block[1]
            elif block[0] == "LIM":
                loop["v_min"], loop["v_max"] = block[1], block[2]
            elif block[0] == "COUN":
                loop["count"] = block[1]
            elif block[0] == "SOUROFF":
                loop["off_at_end"] = True
        if loop["interval"] <= 0 or loop["count"] < 1:
            raise ValueError("trigger model needs a positive delay and count")
        return loop

    def _data(self, start: int, end: int) -> str:
        if not 1 <= start <= end <= self._count:
            raise ValueError(f"buffer indices {start}..{end} outside 1..{self._count}")
        rows = self._table[start - 1 : end]
        return ",".join(f"{value:.9g}" for value in rows.ravel())

    # -- SCPI --
    def _dispatch(self, header: str, args: str) -> str | None:
        if header == "*RST":
            self._reset()
            self._apply_current()
        elif header == "*CLS":
            self._errors.clear()
        elif header in (":SOUR:FUNC", ":SENS:FUNC", ":SENS:VOLT:RSEN"):
            pass  # the emulator always sources current and measures 4-wire voltage
        elif header == ":SOUR:CURR":
            self._advance()
            self.source_current = float(args)
            self._apply_current()
        elif header == ":SOUR:CURR?":
            return f"{self.source_current:.9g}"
        elif header == ":SOUR:CURR:VLIM":
            self.voltage_limit = float(args)
        elif header == ":OUTP:SMOD":
            self.output_mode = args.upper()
        elif header == ":OUTP":
            self._advance()
            was_on = self.output_on
            self.output_on = args.upper() in ("ON", "1")
            if was_on and not self.output_on:
                self.switched_off_at = time.monotonic()   # wall time, for latency measurements
            self._apply_current()
        elif header == ":OUTP?":
            return "1" if self.output_on else "0"
        elif header == ":READ?":
            # One reading now, outside the buffer (what a naive driver polls).
            self._advance()
            if not self.output_on:
                return "9.9e37"  # the instrument's overflow value: nothing is sourced
            return f"{float(self.cell.voltages(np.array([self.clock.now()]))[0]):.9g}"
        elif header == ":TRAC:CLE":
            self._clear_buffer()
        elif header == ":TRAC:POIN?":
            return str(self.capacity)
        elif header == ":TRAC:POIN":
            points = int(args.split(",")[0])
            if not 10 <= points <= 10_000_000:
                raise ValueError(args)
            self.capacity = points
            self._clear_buffer()        # the instrument clears a buffer it resizes
        elif header == ":TRAC:ACT?":
            self._advance()
            return str(self._count)
        elif header == ":TRAC:DATA?":
            self._advance()
            parts = [p.strip() for p in args.split(",")]
            return self._data(int(parts[0]), int(parts[1]))
        elif header == ":TRIG:LOAD":
            parts = [p.strip() for p in args.split(",")]
            model = parts[0].strip('"').upper()
            self._blocks = {}
            if model == "DURATIONLOOP":
                duration, interval = float(parts[1]), float(parts[2])
                if duration <= 0 or interval <= 0:
                    raise ValueError(args)
                self._blocks = {1: ("DEL", interval), 2: ("MDIG",), 3: ("COUN", int(duration / interval + 1e-9), 1)}
            elif model != "EMPTY":
                raise ValueError(model)
        elif header.startswith(":TRIG:BLOC:"):
            parts = [p.strip() for p in args.split(",")]
            number, kind = int(parts[0]), header[len(":TRIG:BLOC:"):]
            if kind == "DEL:CONS":
                self._blocks[number] = ("DEL", float(parts[1]))
            elif kind == "MDIG":
                self._blocks[number] = ("MDIG",)
            elif kind == "BRAN:LIM:CONS" and parts[1].upper() == "OUTS":
                self._blocks[number] = ("LIM", float(parts[2]), float(parts[3]))
            elif kind == "BRAN:COUN":
                self._blocks[number] = ("COUN", int(parts[1]), int(parts[2]))
            elif kind == "SOUR:STAT" and parts[1].upper() in ("OFF", "0"):
                self._blocks[number] = ("SOUROFF",)
            else:
                raise ValueError(header)
        elif header == ":INIT":
            if self._running:
                self._advance()
            if self._running:  # SCPI: a second INIT while initiated is ignored, not a restart
                self._errors.append('-213,"Init ignored"')
                return None
            if not self.output_on:
                self._errors.append('-221,"Settings conflict; output is off"')
                return None
            self._advance()
            self._loop = self._compile_blocks()
            self._running, self._loop_start, self._taken = True, self.clock.now(), 0
        elif header == ":ABOR":
            self._advance()
            self._running = False
        elif header == ":TRIG:STAT?":
            self._advance()
            state = "RUNNING" if self._running else "IDLE"
            return f"{state};{state};"
        else:
            self._errors.append(f'-113,"Undefined header; {header}"')
        return None
