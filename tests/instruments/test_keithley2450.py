"""The real Keithley 2450 driver over pyvisa-py, against the emulated instrument on
the loopback interface, with the simulated cell behind it."""
from __future__ import annotations

import math

import numpy as np
import pytest

import cell
from instruments.bench import simulated_bench
from instruments.clock import SimClock
from instruments.errors import InstrumentError, LimitError
from instruments.sim import lithium_cell


@pytest.fixture
def bench():
    clock = SimClock()
    bench = simulated_bench(cell.from_template("sym-agc"), clock, seed=3)
    bench.clock = clock
    yield bench
    bench.close()


def test_identity_names_the_model(bench):
    assert "MODEL 2450" in bench.identities["smu"]


def test_a_sampled_step_reads_back_every_point_with_the_model_voltage(bench):
    smu, clock = bench.smu, bench.clock
    smu.reset()
    smu.set_voltage_limit(1.0)
    smu.output(True)
    smu.clear_buffer()
    smu.set_current(0.16e-3)
    smu.start_sampling(3600.0, 2.0)
    t_all, i_all, v_all = [], [], []
    while True:
        sampling = smu.is_sampling()
        t, i, v = smu.read_new()
        t_all.append(t), i_all.append(i), v_all.append(v)
        if not sampling:
            break
        clock.sleep(500.0)
    t, i, v = map(np.concatenate, (t_all, i_all, v_all))
    assert t.size == 1800
    assert np.allclose(np.diff(t), 2.0)
    assert np.all(i == pytest.approx(0.16e-3))
    # Hand-computed for Li|Ag-C|LPSCl|Ag-C|Li, 1 cm2: R_bulk = 40e-4 cm / 0.6e-3 S/cm = 6.667,
    # R_int = 2 x 0.58 = 1.16 ohm cm2; slow term 0.35 x R_int x I x (1 - exp(-t/900 s)).
    r_int = 1.16
    expected_end = 0.16e-3 * (40e-4 / 0.6e-3 + r_int) + 0.16e-3 * (1 - math.exp(-3600 / 900)) * 0.35 * r_int
    assert v[-1] == pytest.approx(expected_end, abs=10e-6)
    smu.safe_off()
    emulator = bench.emulators["smu"]
    assert not emulator.output_on and emulator.output_mode == "HIMP" and emulator.source_current == 0.0


def test_limits_are_checked_before_anything_is_sent(bench):
    with pytest.raises(LimitError, match="current 2 A is beyond the 1.05 A range"):
        bench.smu.set_current(2.0)
    with pytest.raises(LimitError, match="voltage limit 500 V"):
        bench.smu.set_voltage_limit(500.0)
    with pytest.raises(LimitError, match="step duration"):
        bench.smu.start_sampling(2e5, 1.0)
    assert bench.emulators["smu"].source_current == 0.0


def test_an_instrument_error_is_reported_with_instrument_and_command(bench):
    bench.smu._write(":SOUR:BOGUS 1")
    with pytest.raises(InstrumentError) as err:
        bench.smu.check_errors("after :SOUR:BOGUS")
    assert "SMU (Keithley 2450)" in str(err.value) and "-113" in str(err.value)


def test_sampling_with_the_output_off_is_refused(bench):
    bench.smu.reset()
    with pytest.raises(InstrumentError, match="Settings conflict") as refused:
        bench.smu.start_sampling(10.0, 1.0)     # a step never starts on a set-up the instrument refused
    assert "step set-up" in refused.value.command


def test_short_charge_matches_the_paper_asymmetric_cell():
    """One bare interface shorts after 0.16 mA/cm2 x 9.5 h of charge, within the spread."""
    times = []
    for seed in range(8):
        params = lithium_cell.params_for(cell.from_template("asym-agc"), np.random.default_rng(seed))
        times.append(params.short_after_mAh_cm2 / 0.16)
    assert np.mean(times) == pytest.approx(9.5, rel=0.05)
    assert all(abs(t - 9.5) / 9.5 < 0.15 for t in times)
    agc = lithium_cell.params_for(cell.from_template("sym-agc"), np.random.default_rng(0))
    assert math.isinf(agc.short_after_mAh_cm2)
    bare = lithium_cell.params_for(cell.from_template("sym-bare"), np.random.default_rng(0))
    assert bare.r_interfaces_ohm_cm2 == (6.59, 6.59) and bare.bare_interfaces == 2


def test_cell_model_refuses_a_full_cell():
    with pytest.raises(ValueError, match="Li on both sides"):
        lithium_cell.params_for(cell.from_template("full-agc"), np.random.default_rng(0))


def test_clock_moves_only_when_slept_and_paces_against_the_wall():
    import time

    from instruments.clock import make_clock
    fast = make_clock("max")
    fast.sleep(3600.0)
    assert fast.now() == 3600.0
    paced = make_clock("3600")
    start = time.monotonic()
    for _ in range(4):
        paced.sleep(90.0)          # 4 x 90 s simulated = 0.1 s of wall time at 3600x
    assert paced.now() == 360.0
    assert time.monotonic() - start >= 0.095
    with pytest.raises(ValueError, match="speed must be"):
        make_clock("fast")
    with pytest.raises(ValueError, match="speed must be above 0"):
        make_clock(-5)


def test_e4990a_sweeps_in_the_order_asked_and_refuses_what_it_cannot_do(bench):
    freqs, z = bench.eis.sweep(1e5, 100.0, 21, 0.01)
    assert freqs[0] == pytest.approx(1e5) and freqs[-1] == pytest.approx(100.0) and freqs.size == 21
    truth = bench.emulators["smu"].cell.impedance(freqs)
    assert np.allclose(z, truth, rtol=0.02)
    with pytest.raises(LimitError, match="stops at 20 Hz"):
        bench.eis.sweep(1e6, 0.1, 51, 0.01)
    with pytest.raises(LimitError, match="oscillator level"):
        bench.eis.sweep(1e6, 100, 51, 5.0)
    assert bench.emulators["eis"].sweeps == 1


def test_the_reading_buffer_holds_what_the_instrument_holds_and_a_full_one_is_an_error(bench):
    smu, clock, emulator = bench.smu, bench.clock, bench.emulators["smu"]
    emulator.reset_capacity = 1000
    smu.reset()
    assert smu.capacity == 1000                              # read back from the instrument
    smu.set_voltage_limit(1.0)
    smu.output(True)
    smu.clear_buffer()
    smu.set_current(0.16e-3)
    assert smu.fits(600.0, 1.0) and not smu.fits(1000.0, 1.0)
    with pytest.raises(LimitError, match="1,000 readings does not fit its reading buffer"):
        smu.start_sampling(1000.0, 1.0)
    smu.start_sampling(600.0, 1.0)
    clock.sleep(700.0)
    assert smu.read_new()[0].size == 600
    assert not smu.fits(600.0, 1.0)                          # 600 more would reach the end: clear first
    smu.start_sampling(600.0, 1.0)                           # ... or the instrument overwrites the oldest
    clock.sleep(700.0)
    with pytest.raises(InstrumentError, match="reading buffer is full"):
        smu.read_new()
