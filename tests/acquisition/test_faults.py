"""Faults injected on the simulated bench, through the real driver and pyvisa-py: a
transient fault is retried by reopening the resource and the run loses nothing; an
instrument that stays down ends the run with a clear, attributed error."""
from __future__ import annotations

import numpy as np
import pytest

import cell
from acquisition.engine import RunEngine
from acquisition.protocol import preset
from instruments.bench import simulated_bench
from instruments.clock import make_clock
from notebook import Notebook
from conftest import QuietListener

PROTOCOL = preset("plate-strip-0.16", cycles=2)
FULL_RUN_SAMPLES = 2 * 2 * 3600


class InjectAfter(QuietListener):
    """A listener that injects a fault once the run has delivered `after` batches."""

    def __init__(self, server, fault, after=3):
        self.server, self.fault, self.after, self.batches = server, fault, after, 0

    def on_batch(self, samples):
        self.batches += 1
        if self.batches == self.after:
            # the data transfer is where a truncated reply does harm
            self.server.inject(self.fault, match=":TRAC:DATA?" if self.fault == "truncate" else None)


def engine_with_fault(db_path, fault):
    nb = Notebook(db_path)
    stack = cell.from_template("sym-agc")
    clock = make_clock("max")
    bench = simulated_bench(stack, clock, timeout_ms=300)
    engine = RunEngine(db_path, nb.save_build(stack), stack, PROTOCOL, bench, clock,
                       listeners=[InjectAfter(bench.servers["smu"], fault)])
    return nb, engine, bench


@pytest.mark.parametrize("fault", ["timeout", "disconnect", "garbage", "truncate"])
def test_a_transient_fault_is_retried_and_nothing_is_lost(db_path, fault):
    nb, engine, bench = engine_with_fault(db_path, fault)
    try:
        assert engine.run() == "completed"
    finally:
        bench.close()
    assert nb.samples(engine.run_id).size == FULL_RUN_SAMPLES
    (retry,) = [e for e in nb.events(engine.run_id) if e["kind"] == "instrument_retry"]
    assert retry["severity"] == "warning"
    assert retry["evidence"]["instrument"] == "SMU (Keithley 2450)" and retry["evidence"]["command"]
    # What the client sees of a fault: a dropped connection is noticed as a lost connection or,
    # when the drop comes before the reply was awaited, as a timeout; half a reply is short of
    # values (truncated) or cut inside a number (garbled), depending on where the cut falls.
    expected = {"timeout": ("timeout: no reply",), "disconnect": ("connection lost", "timeout: no reply"),
                "garbage": ("garbled reply",), "truncate": ("truncated reply", "garbled reply")}[fault]
    assert retry["evidence"]["detail"].startswith(expected), retry["evidence"]["detail"]
    assert bench.smu.connection.reconnects == 1
    nb.close()


def test_an_instrument_that_stays_down_fails_the_run_with_an_attributed_error(db_path):
    nb, engine, bench = engine_with_fault(db_path, "down")
    bench.servers["smu"].inject("disconnect")  # drop the open session too: the next exchange fails
    try:
        assert engine.run() == "failed"
    finally:
        bench.close()
    events = nb.events(engine.run_id)
    fault = [e for e in events if e["kind"] == "instrument_fault"]
    assert len(fault) == 1 and fault[0]["severity"] == "alarm"
    assert fault[0]["evidence"]["instrument"] == "SMU (Keithley 2450)"
    assert "gave up after 2 reconnects" in fault[0]["message"]
    assert len([e for e in events if e["kind"] == "instrument_retry"]) >= 3
    run = nb.run(engine.run_id)
    assert run["status"] == "failed" and "SMU (Keithley 2450)" in run["message"]
    # what was acquired before the instrument went away is kept
    assert nb.samples(engine.run_id).size == engine.n_samples > 0
    nb.close()


class RefuseAfter(InjectAfter):
    def on_batch(self, samples):
        self.batches += 1
        if self.batches == self.after:
            self.server.inject("error", match=":SOUR:CURR")   # the next step's current is refused


def test_a_command_the_instrument_refuses_stops_the_run_safely_and_names_it(db_path):
    nb = Notebook(db_path)
    stack = cell.from_template("sym-agc")
    clock = make_clock("max")
    bench = simulated_bench(stack, clock, timeout_ms=300)
    engine = RunEngine(db_path, nb.save_build(stack), stack, PROTOCOL, bench, clock,
                       listeners=[RefuseAfter(bench.servers["smu"], "error")])
    try:
        assert engine.run() == "failed"
        assert bench.emulators["smu"].output_on is False          # left safe
    finally:
        bench.close()
    (fault,) = [e for e in nb.events(engine.run_id) if e["kind"] == "instrument_fault"]
    assert fault["severity"] == "alarm" and fault["evidence"]["instrument"] == "SMU (Keithley 2450)"
    assert "step set-up" in fault["evidence"]["command"]
    assert "Execution error; :SOUR:CURR" in fault["evidence"]["detail"]       # the refused command, by name
    assert nb.samples(engine.run_id).size == engine.n_samples > 0
    nb.close()


def test_only_an_instrument_with_an_error_queue_can_refuse(db_path):
    stack = cell.from_template("sym-agc")
    bench = simulated_bench(stack, make_clock("max"))
    try:
        with pytest.raises(ValueError, match="keeps no error queue"):
            bench.servers["pressure"].inject("error")
    finally:
        bench.close()


class JumpAfter(InjectAfter):
    def on_batch(self, samples):
        self.batches += 1
        if self.batches == self.after:
            self.clock.jump(1800.0)      # half an hour passes in an instant


def test_a_clock_jump_loses_no_sample_and_keeps_the_step_timing(db_path):
    nb = Notebook(db_path)
    stack = cell.from_template("sym-agc")
    clock = make_clock("max")
    bench = simulated_bench(stack, clock)
    jumper = JumpAfter(None, None, after=3)
    jumper.clock = clock
    engine = RunEngine(db_path, nb.save_build(stack), stack, PROTOCOL, bench, clock, listeners=[jumper])
    try:
        assert engine.run() == "completed"
    finally:
        bench.close()
    samples = nb.samples(engine.run_id)
    assert samples.size == FULL_RUN_SAMPLES                  # the instrument took every reading it was due
    assert [s["n_samples"] for s in nb.steps(engine.run_id)] == [3600] * 4
    assert nb.events(engine.run_id) == []
    nb.close()


def test_a_run_longer_than_the_smu_buffer_clears_it_between_steps_and_keeps_every_sample(db_path):
    """The 2450 holds 100,000 readings; a week-long run takes more. Here the buffer holds
    5,000, so each one-hour step after the first needs it cleared: the samples and their times are
    those of a run that never needed to."""
    def run(capacity):
        nb = Notebook(db_path)
        stack = cell.from_template("sym-agc")
        clock = make_clock("max")
        bench = simulated_bench(stack, clock)
        bench.emulators["smu"].reset_capacity = capacity
        engine = RunEngine(db_path, nb.save_build(stack), stack, PROTOCOL, bench, clock)
        try:
            assert engine.run() == "completed"
        finally:
            bench.close()
        samples = nb.samples(engine.run_id)
        nb.close()
        return samples

    small, large = run(5_000), run(100_000)
    assert small.size == large.size == FULL_RUN_SAMPLES
    np.testing.assert_allclose(small["t"], np.arange(1, FULL_RUN_SAMPLES + 1), atol=1e-6)
    np.testing.assert_allclose(small["t"], large["t"], atol=1e-6)
    np.testing.assert_allclose(small["voltage"], large["voltage"], rtol=1e-9)
