"""The emulated Keithley 2450's limit branch ends the sampling loop at the first reading
outside its window even when that reading is the last one due at a poll (it used to go
on sampling to the next poll, one reading past the cut-off, and ended steps late)."""
from __future__ import annotations

import numpy as np
import pytest

from instruments.clock import SimClock
from instruments.sim.base import SimCell
from instruments.sim.keithley2450_emulator import Keithley2450Emulator


class FallingCell(SimCell):
    """V = 1 - 0.1 V/s x t: 0.4 V at t = 6 s, the first reading below a 0.45 V cut-off."""
    noise_v = 0.0

    def _trajectory(self, times):
        return {"t": times}

    def _voltage(self, traj):
        return 1.0 - 0.1 * traj["t"]

    def _commit(self, traj, index):
        pass


def test_the_cut_off_reading_ends_the_loop_when_it_is_the_last_one_due():
    clock = SimClock()
    smu = Keithley2450Emulator(FallingCell(), clock)
    for command in (":OUTP ON", ':TRIG:LOAD "Empty"', ":TRIG:BLOC:DEL:CONS 1, 1", ':TRIG:BLOC:MDIG 2, "defbuffer1"',
                    ":TRIG:BLOC:BRAN:LIM:CONS 3, OUTS, 0.45, 2, 5", ":TRIG:BLOC:BRAN:COUN 4, 100, 1",
                    ":TRIG:BLOC:SOUR:STAT 5, OFF", ":INIT"):
        smu.handle(command)
    clock.sleep(6.0)                       # readings at 1..6 s are due; the sixth is outside
    assert smu.handle(":TRAC:ACT?") == "6"
    assert smu.handle(":TRIG:STAT?").startswith("IDLE")
    clock.sleep(4.0)
    assert smu.handle(":TRAC:ACT?") == "6"     # nothing after the cut-off reading
    values = np.array(smu.handle(':TRAC:DATA? 1, 6, "defbuffer1", REL, SOUR, READ').split(","), dtype=float)
    assert values[-1] == pytest.approx(0.4)
    assert not smu.output_on               # the source-off block ran
