"""The Solartron 1260 driver over pyvisa-py against the emulated instrument: its two-letter
command set (not SCPI), the V1/I record read back as |Z| and θ against a cell of known
impedance, an overloaded input flagged (with the clipped reading worked out by hand),
and the instrument's refusals."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analyser_fixtures import KnownCell, Served, StillClock
from instruments.connection import Garbled
from instruments.errors import InstrumentError, LimitError
from instruments.impedance_range import GALVANOSTATIC, OVERLOAD
from instruments.registry import match
from instruments.sim.solartron1260_emulator import Solartron1260Emulator
from instruments.solartron_1260 import SETUP, Solartron1260, number_text, parse_record


@pytest.fixture
def s1260():
    cell = KnownCell()
    emulator = Solartron1260Emulator(cell, StillClock(), seed=5)
    with Served(emulator, "Impedance analyser (Solartron 1260)") as served:
        yield Solartron1260(served.connection, reset_wait_s=0.0), emulator, cell, served.server


def test_identity_is_the_manual_string_and_the_registry_knows_it(s1260):
    driver, *_ = s1260
    identity = driver.identify()
    assert identity == "SCHLUMBERGER TECHNOLOGIES, 1260 IMPEDANCE ANALYZER, 0, 0"
    assert match(identity).cls is Solartron1260


def test_set_up_routes_v1_over_i_to_the_gpib_in_polar_form(s1260):
    driver, emulator, *_ = s1260
    driver.reset()
    assert emulator.commands == [*SETUP, "IS 0.2"]
    assert emulator.output_gpib and emulator.polar and emulator.source == (1, 3)
    assert emulator.ranges == {1: 0, 2: 0, 3: 0} and emulator.esr == 0


def test_a_stepped_sweep_reads_the_cell_impedance(s1260):
    driver, emulator, cell, _ = s1260
    driver.configure(integration_s=10.0)          # noise 0.1 % / sqrt(10 s)
    result = driver.measure(1e5, 1.0, 11, 0.01)
    assert result.freq_hz[0] == pytest.approx(1e5) and result.freq_hz[-1] == pytest.approx(1.0)
    truth = 5 + 15 / (1 + 1j * 2 * np.pi * result.freq_hz * 15 * 1e-5)     # R0 + R1 || C1 by hand
    assert np.allclose(result.z, truth, rtol=0.0015)     # 5 sigma of 0.03 %, and the 5-digit record
    assert result.flags == [None] * 11
    assert emulator.measurements == 11
    # per point: the frequency, its integration (at least a period), one single measurement
    assert emulator.commands[-5:] == ["FR 1", "IS 10", "SI", "VA 0", "VB 0"]
    assert emulator.va == 0.0 and emulator.vb == 0.0          # the generator back at zero after


def test_galvanostatic_drive_uses_the_current_generator(s1260):
    driver, emulator, *_ = s1260
    driver.measure(1e3, 10.0, 3, 1e-4, mode=GALVANOSTATIC)
    assert {"GT 1", "IA 0.0001", "IB 0"} <= set(emulator.commands)
    assert emulator.commands[-2:] == ["IA 0", "IB 0"]


def test_an_overloaded_current_input_is_flagged_with_the_clipped_reading(s1260):
    driver, emulator, cell, _ = s1260
    driver.reset()
    driver.connection.write("RA 3,4")             # hold the current input on its 6 mA range
    # 0.1 V rms across 5..20 ohm: peak current 0.1 x sqrt(2) / |Z| = 28 mA at 5 ohm, above 6 mA;
    # a clipped current reads as 6 mA, so |Z| reads |Z| x i_peak / 6 mA = 0.1 sqrt(2) / 6 mA = 23.57 ohm.
    result = driver.measure(1e5, 99e3, 2, 0.1)
    assert result.flags == [OVERLOAD, OVERLOAD]
    assert np.abs(result.z) == pytest.approx([0.1 * math.sqrt(2) / 6e-3] * 2, rel=1e-4)
    driver.connection.write("RA 3,0")             # auto ranging: the 60 mA range holds it
    result = driver.measure(1e5, 99e3, 2, 0.1)
    assert result.flags == [None, None]
    assert np.allclose(result.z, cell.impedance(result.freq_hz), rtol=0.01)


def test_what_it_cannot_do_is_refused_before_anything_is_sent(s1260):
    driver, emulator, *_ = s1260
    driver.reset()
    sent = len(emulator.commands)
    with pytest.raises(LimitError, match="1 Hz to 50 MHz is beyond its 10 µHz to 32 MHz"):
        driver.measure(50e6, 1.0, 21, 0.01)
    with pytest.raises(LimitError, match="amplitude range is 0..3 V rms; 5 V"):
        driver.measure(1e5, 1.0, 21, 5.0)
    with pytest.raises(LimitError, match="integration time 0.001 s"):
        driver.configure(integration_s=1e-3)
    assert len(emulator.commands) == sent


def test_unknown_commands_and_bad_values_set_esr_bits(s1260):
    driver, emulator, *_ = s1260
    driver.reset()
    driver.connection.write("XQ 1")                   # no such command: CME
    with pytest.raises(InstrumentError, match="command error \\(CME\\)"):
        driver.check_errors("test")
    driver.connection.write("FR 40000000")            # above 32 MHz: EXE, frequency unchanged
    assert driver.connection.query("*ESR?") == "16" and emulator.frequency != 40e6
    driver.connection.write("SO 1,2")                 # V1/V2: nothing wired to V2 here (marked in the emulator)
    assert driver.connection.query("*ESR?") == "16"


def test_without_gpib_output_a_measurement_sends_nothing(s1260):
    driver, emulator, *_ = s1260
    driver.connection.write("FR1000")                 # the two-letter form without a space works too
    assert emulator.frequency == 1000.0
    with pytest.raises(InstrumentError, match="timeout"):
        driver.connection.query("SI")                 # after *RST the results go nowhere (no OP 2,1)
    assert emulator.measurements == 1


def test_records_and_numbers_in_the_instrument_format():
    assert parse_record("+1.0000000E+06,+3.8886E+00,+7.2552E+01,0") == (1e6, 3.8886, 72.552, 0)
    assert parse_record("+1.0000000E+03,+3.8886E+00,-7.2552E+01,3,00") == (1e3, 3.8886, -72.552, 3)
    for reply in ("+1.0E+06,+3.8E+00", "+1.0E+06,abc,+7.2E+01,0", ""):
        with pytest.raises(Garbled):
            parse_record(reply)
    assert [number_text(v) for v in (1e6, 1e-5, 0.2, 123456.789)] == ["1000000", "0.00001", "0.2", "123456.8"]


def test_a_garbled_record_is_asked_for_again():
    cell = KnownCell()
    emulator = Solartron1260Emulator(cell, StillClock(), seed=6)
    with Served(emulator, "Impedance analyser (Solartron 1260)", retries=2) as served:
        connection, server = served.connection, served.server
        faults = []
        connection.on_fault = lambda instrument, command, detail, attempt: faults.append(detail)
        driver = Solartron1260(connection, reset_wait_s=0.0)
        driver.reset()
        server.inject("garbage", match="SI")
        result = driver.measure(1e3, 100.0, 3, 0.01)
        assert len(faults) == 1 and "expected frequency,|Z|,phase,error" in faults[0]
        assert np.allclose(result.z, cell.impedance(result.freq_hz), rtol=0.01)
        assert emulator.measurements == 4          # the garbled point measured again
