"""Keithley 2450 SourceMeter as a galvanostat, in its native SCPI command set.

Readings go through the instrument's own buffer (`:TRAC:DATA?`) rather than one
`:READ?` per point, so sampling timing is the instrument's, not the PC's. The buffer
holds `capacity` readings and then overwrites the oldest: a step that would not fit
behind the readings already in it needs the buffer cleared first (`fits`), and one
found full is an error rather than readings silently lost. An idle
output is put in high-impedance mode (`:OUTP:SMOD HIMP`) so it does not load the cell.
"""
from __future__ import annotations

import numpy as np

from instruments.connection import Connection, Garbled
from instruments.errors import InstrumentError, LimitError
from instruments.scpi import ScpiDriver, count, numbers

BUFFER = '"defbuffer1"'


def _trigger_state(reply: str) -> str:
    state = reply.strip().split(";")[0].upper()
    if state not in {"RUNNING", "IDLE", "WAITING", "ABORTED", "ABORTING", "EMPTY", "BUILDING", "FAILED", "PAUSED"}:
        raise Garbled(f"garbled reply {reply.strip()[:60]!r}, expected a trigger state")
    return state


class Keithley2450(ScpiDriver):
    MODEL = "MODEL 2450"
    MAX_CURRENT_A = 1.05
    VOLTAGE_LIMIT_RANGE_V = (0.02, 210.0)
    INTERVAL_RANGE_S = (1e-3, 1e4)
    MAX_DURATION_S = 100_000.0  # the DurationLoop trigger model's upper bound

    def __init__(self, connection: Connection, name: str = "SMU (Keithley 2450)"):
        super().__init__(connection, name)
        self._read_count = 0
        self.capacity = 100_000      # defbuffer1 after *RST; read back by reset()

    def _query(self, command: str) -> str:
        return self.connection.query(command)

    # -- the SourceMeter interface --
    def reset(self) -> None:
        self._write("*RST")
        self._write(":SOUR:FUNC CURR")
        self._write(':SENS:FUNC "VOLT"')
        self._write(":SENS:VOLT:RSEN ON")   # 4-wire: lead resistance would swamp mV polarisation
        self._write(":OUTP:SMOD HIMP")
        self.clear_buffer()
        self.capacity = self.connection.query(f":TRAC:POIN? {BUFFER}", count)
        self.check_errors("reset")

    def clear_buffer(self) -> None:
        """Empty the reading buffer; its relative timestamps restart at 0."""
        self._write(f":TRAC:CLE {BUFFER}")
        self._read_count = 0

    @staticmethod
    def readings(duration_s: float, interval_s: float) -> int:
        return max(1, int(duration_s / interval_s + 1e-9))

    def fits(self, duration_s: float, interval_s: float) -> bool:
        """Whether a step's readings fit behind those in the buffer, with one to spare:
        the buffer is only ever found full when readings were overwritten."""
        return self._read_count + self.readings(duration_s, interval_s) < self.capacity

    def set_voltage_limit(self, volts: float) -> None:
        lo, hi = self.VOLTAGE_LIMIT_RANGE_V
        if not lo <= volts <= hi:
            raise LimitError(f"{self.name}: voltage limit {volts:g} V is outside {lo:g}..{hi:g} V")
        self._write(f":SOUR:CURR:VLIM {volts:.6g}")

    def set_current(self, amps: float) -> None:
        if not abs(amps) <= self.MAX_CURRENT_A:
            raise LimitError(f"{self.name}: current {amps:g} A is beyond the {self.MAX_CURRENT_A:g} A range")
        self._write(f":SOUR:CURR {amps:.9g}")

    def output(self, on: bool) -> None:
        self._write(":OUTP ON" if on else ":OUTP OFF")

    def start_sampling(self, duration_s: float, interval_s: float,
                       v_min: float | None = None, v_max: float | None = None) -> None:
        """Sample every interval_s for up to duration_s into the buffer. With a voltage
        window, a trigger-model limit branch ends the step at the first reading outside
        it and switches the output off, so a cut-off holds however slowly the PC polls."""
        lo, hi = self.INTERVAL_RANGE_S
        if not lo <= interval_s <= hi:
            raise LimitError(f"{self.name}: sample interval {interval_s:g} s is outside {lo:g}..{hi:g} s")
        if not 0 < duration_s <= self.MAX_DURATION_S:
            raise LimitError(f"{self.name}: step duration {duration_s:g} s is outside 0..{self.MAX_DURATION_S:g} s")
        if self.readings(duration_s, interval_s) >= self.capacity:
            raise LimitError(f"{self.name}: a step of {self.readings(duration_s, interval_s):,} readings does not fit its "
                             f"reading buffer ({self.capacity:,}): sample less often or split the step")
        if v_min is None and v_max is None:
            self._write(f':TRIG:LOAD "DurationLoop", {duration_s:.6g}, {interval_s:.6g}')
        else:
            low = -self.VOLTAGE_LIMIT_RANGE_V[1] if v_min is None else v_min
            high = self.VOLTAGE_LIMIT_RANGE_V[1] if v_max is None else v_max
            if not low < high:
                raise LimitError(f"{self.name}: voltage window {low:g}..{high:g} V is empty")
            count = self.readings(duration_s, interval_s)
            self._write(':TRIG:LOAD "Empty"')
            self._write(f":TRIG:BLOC:DEL:CONS 1, {interval_s:.6g}")
            self._write(f":TRIG:BLOC:MDIG 2, {BUFFER}")
            self._write(f":TRIG:BLOC:BRAN:LIM:CONS 3, OUTS, {low:.6g}, {high:.6g}, 5")
            self._write(f":TRIG:BLOC:BRAN:COUN 4, {count}, 1")
            self._write(":TRIG:BLOC:SOUR:STAT 5, OFF")
        self._write(":INIT")
        # A set-up the instrument refused would leave the cell at the wrong current, or
        # none: every step starts only once the error queue is empty.
        self.check_errors("step set-up (source current, trigger model, :INIT)")

    def is_sampling(self) -> bool:
        return self.connection.query(":TRIG:STAT?", _trigger_state) in {"RUNNING", "WAITING", "PAUSED"}

    def read_new(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        taken = self.connection.query(f":TRAC:ACT? {BUFFER}", count)
        if taken >= self.capacity:
            raise InstrumentError(self.name, f":TRAC:ACT? {BUFFER}",
                                  f"the reading buffer is full ({taken:,} readings): newer readings overwrite unread ones")
        if taken <= self._read_count:
            empty = np.empty(0)
            return empty, empty, empty
        command = f":TRAC:DATA? {self._read_count + 1}, {taken}, {BUFFER}, REL, SOUR, READ"
        values = self.connection.query(command, numbers(3 * (taken - self._read_count)))
        self._read_count = taken
        table = values.reshape(-1, 3)
        return table[:, 0], table[:, 1], table[:, 2]

    def abort(self) -> None:
        self._write(":ABOR")

    def safe_off(self, fresh_session: bool = False) -> None:
        """Stop sampling, zero the current and switch the output off into high
        impedance, then read the output state back. `fresh_session` first drops the
        connection, so the exchange starts on a new session: after an exchange cut off
        half-way (an interrupt, a timeout), its late reply could otherwise be read as
        the answer to one of these commands, and a stale "1" taken for `:OUTP?`."""
        if fresh_session:
            self.connection.close()     # the next exchange reopens the resource
        self._write(":ABOR")
        self._write(":SOUR:CURR 0")
        self._write(":OUTP:SMOD HIMP")
        self._write(":OUTP OFF")
        # Read back: confirms the instrument processed the commands, and that it obeyed.
        state = self._query(":OUTP?")
        if state not in ("0", "OFF"):
            raise InstrumentError(self.name, ":OUTP OFF", f"output still on after switching off (reads {state!r})")

    def check_errors(self, context: str) -> None:
        reply = self._query(":SYST:ERR?")
        code = reply.split(",", 1)[0]
        if code.strip() not in {"0", "+0"}:
            raise InstrumentError(self.name, context, f"instrument reported {reply}")
