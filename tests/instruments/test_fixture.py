"""The simulated pressure fixture through the real Alicat, Mark-10 and 34465A drivers."""
from __future__ import annotations

import math

import pytest

import cell
from instruments.bench import simulated_bench
from instruments.clock import SimClock
from instruments.errors import LimitError


@pytest.fixture
def bench():
    clock = SimClock()
    b = simulated_bench(cell.from_template("full-agc", area_cm2=0.785, temperature_c=60.0), clock)
    b.clock = clock
    yield b
    b.close()


# The controller ramps its set-point at 0.1 MPa/s from 5 MPa and the pressure lags it with
# tau = 5 s; for a ramp r(t) = 5 + 0.1 t the first-order lag solves to
# p(t) = r(t) - 0.1 tau + 0.1 tau exp(-t / tau), so at 20 s: 7 - 0.5 + 0.5 exp(-4) = 6.5092 MPa.
# The tolerance is the read noise (sigma 2 kPa, 5 sigma) plus the Alicat's 1 kPa resolution.
RAMP_AT_20_S = 5.0 + 0.1 * 20 - 0.1 * 5.0 + 0.1 * 5.0 * math.exp(-20 / 5.0)
READ_TOLERANCE_MPA = 5 * 0.002 + 0.001


@pytest.mark.parametrize("poll_s", [20.0, 1.0, 0.1])
def test_pressure_ramps_to_the_set_point_at_the_ramp_rate(bench, poll_s):
    pc = bench.pressure
    assert pc.read()[0] == pytest.approx(5.0, abs=READ_TOLERANCE_MPA)   # assembled at the build's 5 MPa
    pc.set_ramp(0.1)                       # MPa/s
    pc.set_pressure(10.0)
    for _ in range(round(20.0 / poll_s)):  # however often it is polled (a ramp once crawled when polled finely)
        bench.clock.sleep(poll_s)
        pc.read()
    pressure, setpoint = pc.read()
    assert setpoint == 10.0
    assert pressure == pytest.approx(RAMP_AT_20_S, abs=READ_TOLERANCE_MPA)
    bench.clock.sleep(120.0)               # the ramp ends at 50 s; 90 s is 18 tau later
    assert pc.read()[0] == pytest.approx(10.0, abs=READ_TOLERANCE_MPA)


def test_force_gauge_agrees_with_pressure_times_area(bench):
    bench.pressure.set_ramp(0.0)
    bench.pressure.set_pressure(5.0)
    bench.clock.sleep(60.0)
    assert bench.force.read_newtons() == pytest.approx(5.0 * 0.785 * 100, abs=2.0)   # 392.5 N


def test_set_point_beyond_the_fixture_limit_is_refused(bench):
    with pytest.raises(LimitError, match="fixture's limit"):
        bench.pressure.set_pressure(30.0)
    assert bench.pressure.read()[1] == 5.0      # the set-point it had is kept


def test_temperature_reads_the_cell_temperature(bench):
    assert bench.temperature.read_temperature() == pytest.approx(60.0, abs=0.1)


def test_a_leaking_fixture_loses_pressure(bench):
    bench.pressure.set_pressure(5.0)
    bench.clock.sleep(60.0)
    bench.emulators["pressure"].fixture.leak_mpa_s = 0.01
    bench.clock.sleep(100.0)
    assert bench.pressure.read()[0] < 4.5
