"""The Hioki IM3590 driver over pyvisa-py against the emulated instrument on the loopback
interface: the commands it sends, Z and θ read back against a cell of known impedance,
stepped and analyser-mode sweeps, the range flags, and what the instrument refuses."""
from __future__ import annotations

import numpy as np
import pytest

from analyser_fixtures import KnownCell, Served, StillClock
from instruments.connection import Garbled
from instruments.errors import InstrumentError, LimitError
from instruments.hioki_im3590 import HiokiIM3590, parse_measure, parse_point
from instruments.impedance_range import OUT_OF_RANGE, OVERLOAD
from instruments.registry import match
from instruments.sim.im3590_emulator import IM3590Emulator


@pytest.fixture
def im3590():
    cell = KnownCell()
    emulator = IM3590Emulator(cell, StillClock(), seed=4)
    with Served(emulator, "Impedance analyser (Hioki IM3590)") as served:
        yield HiokiIM3590(served.connection), emulator, cell, served.server


def test_identity_is_recognised_by_the_registry(im3590):
    driver, *_ = im3590
    identity = driver.identify()
    assert identity.startswith("HIOKI,IM3590,")
    assert match(identity).cls is HiokiIM3590


def test_reset_selects_z_and_phase_with_headers_off(im3590):
    driver, emulator, *_ = im3590
    driver.reset()
    assert emulator.commands == ["*RST", ":HEADer OFF", ":MODE LCR", ":PARameter1 Z", ":PARameter2 PHASE",
                                 ":PARameter3 OFF", ":PARameter4 OFF", ":MEASure:ITEM 5,0,0", ":TRIGger EXTernal",
                                 ":RANGe:AUTO ON"]
    assert not emulator.header and emulator.item == (5, 0, 0) and emulator.esr == 0


@pytest.mark.parametrize("method", ["step", "analyzer"])
def test_a_sweep_reads_the_cell_impedance_in_the_order_asked(im3590, method):
    driver, emulator, cell, _ = im3590
    driver.configure(speed="SLOW2", averaging=4, method=method)   # noise 0.05 % / 2
    result = driver.measure(1e5, 1.0, 21, 0.01)
    assert result.freq_hz[0] == pytest.approx(1e5) and result.freq_hz[-1] == pytest.approx(1.0)
    assert np.allclose(np.diff(np.log10(result.freq_hz)), -0.25)          # 4 a decade, downwards
    # truth by hand: 5 + 15 / (1 + j w 15 x 10 uF); at 1 Hz that is 20 - 0.0141 j ohm
    truth = 5 + 15 / (1 + 1j * 2 * np.pi * result.freq_hz * 15 * 1e-5)
    assert truth[-1] == pytest.approx(20.0 - 0.01413j, abs=1e-4)
    assert np.allclose(result.z, truth, rtol=0.002)      # 8 sigma of 0.025 %, and the 5-digit reply
    assert result.flags == [None] * 21
    # stepping triggers once a point; the analyser sweeps its whole list on one trigger
    assert emulator.triggers == (21 if method == "step" else 1)
    assert emulator.esr == 0


def test_the_level_is_the_constant_voltage_across_the_cell_and_the_bias_goes_off_after(im3590):
    driver, emulator, *_ = im3590
    driver.measure(1e3, 100.0, 3, 0.02, dc_bias=1.5)
    assert ":LEVel CV" in emulator.commands and ":LEVel:CVOLTage 0.02" in emulator.commands
    assert emulator.commands.index(":DCBias:LEVel 1.5") < emulator.commands.index(":DCBias ON")
    assert emulator.commands[-1] == ":DCBias OFF"
    assert not emulator.bias_on and emulator.level_cv == 0.02


def test_a_held_range_flags_what_falls_outside_it(im3590):
    driver, emulator, cell, _ = im3590
    # |Z| runs from 5 ohm (high f) to 20 ohm (low f). On the 10 ohm range a reading above
    # 11 ohm overflows; on the 10 kohm range everything is under 1 % of it (100 ohm): underflow.
    driver.configure(speed="SLOW2", range_ohm=10.0)
    result = driver.measure(1e5, 1.0, 21, 0.01)
    magnitude = np.abs(cell.impedance(result.freq_hz))
    over = magnitude > 11.0 * 1.002           # clear of the noise at the boundary
    inside = magnitude < 11.0 * 0.998
    assert over.sum() >= 5 and inside.sum() >= 5
    assert [result.flags[k] for k in np.flatnonzero(over)] == [OVERLOAD] * int(over.sum())
    assert [result.flags[k] for k in np.flatnonzero(inside)] == [None] * int(inside.sum())
    assert np.allclose(np.abs(result.z[over]), 11.0, rtol=1e-4)       # saturated at full scale
    driver.configure(range_ohm=10e3)
    result = driver.measure(1e5, 1.0, 5, 0.01)
    assert result.flags == [OUT_OF_RANGE] * 5


def test_what_it_cannot_do_is_refused_before_anything_is_sent(im3590):
    driver, emulator, *_ = im3590
    driver.reset()
    sent = len(emulator.commands)
    with pytest.raises(LimitError, match="1 Hz to 1 MHz is beyond its 1 mHz to 200 kHz"):
        driver.measure(1e6, 1.0, 21, 0.01)
    with pytest.raises(LimitError, match="DC bias range is -2.5..2.5 V"):
        driver.measure(1e5, 1.0, 21, 0.01, dc_bias=3.7)
    with pytest.raises(LimitError, match="no 20 ohm range"):
        driver.configure(range_ohm=20.0)
    assert len(emulator.commands) == sent


def test_the_instrument_refusals_set_esr_bits_and_skip_the_rest_of_the_line(im3590):
    driver, emulator, _, server = im3590
    driver.reset()
    connection = driver.connection
    # an out-of-range frequency: execution error, and the trigger after it on the line is skipped
    triggers = emulator.triggers
    connection.write(":FREQuency 500000;*TRG")
    assert connection.query("*ESR?") == "16" and emulator.triggers == triggers
    connection.write(":BOGUs 1")                                  # unknown header: command error
    with pytest.raises(InstrumentError, match="command error \\(CME\\)"):
        driver.check_errors("test")
    connection.write(":FREQuency?;:FREQuency 100")               # a query not last: query error
    assert connection.query("*ESR?") == "4" and emulator.frequency != 100.0


def test_replies_with_headers_or_missing_fields_are_garbled():
    assert parse_measure("0,1.2345E+01,-4.5000E+01") == (None, 12.345, -45.0)
    assert parse_measure("1,1.1000E+01,-4.5000E+01,0") == (OVERLOAD, 11.0, -45.0)   # with a panel number
    assert parse_point("2,1.0000E+02,5.0000E+00,-1.0000E+00") == (100.0, OUT_OF_RANGE, 5.0, -1.0)
    for reply in ("0,Z 1.2345E+01,PHASE -4.5E+01", "0,1.2345E+01", "x,1,2"):
        with pytest.raises(Garbled):
            parse_measure(reply)
    with pytest.raises(Garbled):
        parse_point("0,1.0000E+02,5.0000E+00")


def test_a_driver_that_skipped_header_off_is_told_the_reply_is_garbled(im3590):
    driver, emulator, *_ = im3590
    driver._ready = True               # as if set up, but the instrument still has headers on
    emulator.reading = (0, 12.0, -3.0)
    with pytest.raises(InstrumentError, match="expected status,Z,PHASE"):
        driver.connection.query(":MEASure?", parse_measure)
