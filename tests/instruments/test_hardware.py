"""Real instruments, opt-in: `pytest --hardware` with the VISA resource names in the
environment (e.g. SOLIDSTACK_SMU=TCPIP0::192.168.1.20::5025::SOCKET). Each test only
identifies the instrument and reads, never sources current or pressure."""
from __future__ import annotations

import os

import pytest
import pyvisa

from instruments.alicat import AlicatPressureController
from instruments.connection import Connection
from instruments.keithley2450 import Keithley2450
from instruments.keysight_34465a import Keysight34465A
from instruments.keysight_e4990a import KeysightE4990A
from instruments.mark10 import Mark10ForceGauge

pytestmark = pytest.mark.hardware


def resource(variable: str) -> str:
    name = os.environ.get(variable)
    if not name:
        pytest.skip(f"set {variable} to the instrument's VISA resource name")
    return name


@pytest.fixture(scope="module")
def rm():
    manager = pyvisa.ResourceManager("@py")
    yield manager
    manager.close()


def test_keithley2450_answers(rm):
    smu = Keithley2450(Connection(rm, resource("SOLIDSTACK_SMU"), "SMU"))
    assert "2450" in smu.identify()
    smu.check_errors("identify")


def test_e4990a_answers(rm):
    assert "E4990A" in KeysightE4990A(Connection(rm, resource("SOLIDSTACK_EIS"), "EIS")).identify()


def test_34465a_answers(rm):
    assert "34465A" in Keysight34465A(Connection(rm, resource("SOLIDSTACK_REF"), "REF")).identify()


def test_alicat_reads(rm):
    pc = AlicatPressureController(Connection(rm, resource("SOLIDSTACK_PRESSURE"), "PC", read_termination="\r",
                                             write_termination="\r"))
    pressure, setpoint = pc.read()
    assert pressure >= 0 and setpoint >= 0


def test_mark10_reads(rm):
    gauge = Mark10ForceGauge(Connection(rm, resource("SOLIDSTACK_FORCE"), "Force", read_termination="\r",
                                        write_termination="\r"))
    assert gauge.read_newtons() > -10
