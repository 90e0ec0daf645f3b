"""The simulated pressure fixture through the real Alicat, Mark-10 and 34465A drivers."""
from __future__ import annotations

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


def test_pressure_ramps_to_the_set_point_at_the_ramp_rate(bench):
    pc = bench.pressure
    assert pc.read()[0] == pytest.approx(5.0, abs=0.01)   # assembled at the build's 5 MPa
    pc.set_ramp(0.1)                       # MPa/s
    pc.set_pressure(10.0)
    bench.clock.sleep(20.0)
    pressure, setpoint = pc.read()
    assert setpoint == 10.0
    assert 6.0 < pressure < 7.2            # 20 s at 0.1 MPa/s is 2 MPa more, less the first-order lag
    bench.clock.sleep(120.0)
    assert pc.read()[0] == pytest.approx(10.0, abs=0.02)


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
