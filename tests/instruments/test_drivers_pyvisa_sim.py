"""Every driver against the pyvisa-sim definitions shipped in resources/: the exact
commands each driver sends, and how it reads the replies."""
from __future__ import annotations

import numpy as np
import pytest
import pyvisa

import resources
from instruments.alicat import AlicatPressureController
from instruments.connection import Connection
from instruments.errors import LimitError
from instruments.keithley2450 import Keithley2450
from instruments.keysight_34465a import Keysight34465A
from instruments.keysight_e4990a import KeysightE4990A
from instruments.mark10 import Mark10ForceGauge


@pytest.fixture(scope="module")
def rm():
    manager = pyvisa.ResourceManager(resources.file_path("instruments_sim.yaml") + "@sim")
    yield manager
    manager.close()


def connect(rm, name, serial=False):
    end = "\r" if serial else "\n"
    return Connection(rm, name, name, timeout_ms=500, read_termination=end, write_termination=end, retries=0)


def test_keithley2450_configures_steps_and_reads_its_buffer(rm):
    smu = Keithley2450(connect(rm, "TCPIP0::192.168.10.50::5025::SOCKET"))
    assert "MODEL 2450" in smu.identify()
    smu.reset()
    smu.set_voltage_limit(1.0)
    smu.set_current(0.16e-3)
    smu.output(True)
    smu.start_sampling(3600.0, 1.0)
    assert smu.is_sampling() is False
    t, i, v = smu.read_new()
    assert t.tolist() == [1.0, 2.0, 3.0] and np.allclose(i, 0.16e-3) and v.tolist() == [0.0031, 0.0032, 0.0033]
    smu.safe_off()


def test_an_unscripted_command_is_an_attributed_error(rm):
    smu = Keithley2450(connect(rm, "TCPIP0::192.168.10.50::5025::SOCKET"))
    with pytest.raises(Exception) as err:
        smu.set_current(0.5)           # not in the script: the simulated device answers ERROR
    assert "SMU (Keithley 2450)" in str(err.value) or "192.168.10.50" in str(err.value)
    assert ":SOUR:CURR 0.5" in str(err.value)


def test_e4990a_sweep_reads_r_and_x(rm):
    eis = KeysightE4990A(connect(rm, "TCPIP0::192.168.10.51::5025::SOCKET"))
    freqs, z = eis.sweep(100.0, 10000.0, 3, 0.01)
    assert freqs.tolist() == [100.0, 1000.0, 10000.0]
    assert z.tolist() == [20 - 1j, 14 - 6j, 8 - 2j]
    with pytest.raises(LimitError, match="stops at 20 Hz"):
        eis.sweep(1e6, 10.0, 3, 0.01)


def test_34465a_reference_and_temperature(rm):
    dmm = Keysight34465A(connect(rm, "TCPIP0::192.168.10.52::5025::SOCKET"))
    dmm.configure(0.1)
    assert dmm.read(2).tolist() == [-2.51e-3, -2.50e-3]
    assert dmm.read_temperature() == pytest.approx(60.012)
    with pytest.raises(LimitError, match="high-impedance ranges"):
        dmm.configure(100.0)


def test_alicat_reads_pressure_and_set_point_and_refuses_beyond_the_fixture(rm):
    pc = AlicatPressureController(connect(rm, "ASRL1::INSTR", serial=True), limit_mpa=25.0)
    assert "Alicat" in pc.identify()
    assert pc.read() == (pytest.approx(5.003), pytest.approx(5.0))
    pc.set_ramp(0.1)
    pc.set_pressure(5.0)
    with pytest.raises(LimitError, match="fixture's limit"):
        pc.set_pressure(30.0)
    scaled = AlicatPressureController(connect(rm, "ASRL1::INSTR", serial=True), mpa_per_unit=2.0)
    assert scaled.read()[0] == pytest.approx(10.006)


def test_mark10_reads_newtons(rm):
    gauge = Mark10ForceGauge(connect(rm, "ASRL2::INSTR", serial=True))
    assert gauge.read_newtons() == pytest.approx(500.4)
