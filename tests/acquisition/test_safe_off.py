"""The source ends off however a run ends: a crash inside the engine (a detector or a
listener raising, even a BaseException like KeyboardInterrupt) leaves it off and the
run not `completed`; a switch-off whose read-back fails is retried on a fresh session;
one that never succeeds is an alarm event. All on the simulated bench, through the real
driver and emulator; the faults go in through real seams (a detector, a listener, the
emulator's fault injection, a stale reply on the instrument session)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

import cell
from acquisition.engine import RunEngine
from acquisition.protocol import preset
from acquisition.session import prepare_run
from instruments.bench import simulated_bench
from instruments.clock import make_clock
from notebook import Notebook
from conftest import QuietListener

PROTOCOL = preset("plate-strip-0.16", cycles=2)


class Crash(BaseException):
    """Neither an Exception nor an interrupt: what `except Exception` lets through."""


@dataclass(frozen=True)
class NoSettings:
    """What the run's provenance records for the exploding detector."""


class ExplodingDetector:
    """A detector with a bug: it raises on its `after`-th batch."""
    kind = "exploding"
    settings = NoSettings()

    def __init__(self, error: BaseException, after: int = 3):
        self.error, self.after, self.calls = error, after, 0

    def update(self, t, current, voltage):
        self.calls += 1
        if self.calls == self.after:
            raise self.error
        return None


class ExplodingListener(QuietListener):
    def __init__(self, error: BaseException, after: int = 3):
        self.error, self.after, self.batches = error, after, 0

    def on_batch(self, samples):
        self.batches += 1
        if self.batches == self.after:
            raise self.error


def session_for(nb, listeners=()):
    return prepare_run(nb, cell.from_template("sym-agc"), PROTOCOL, speed="max", seed=0, listeners=listeners)


@pytest.mark.parametrize("seam", ["detector", "listener"])
@pytest.mark.parametrize("error, status", [
    (RuntimeError("detector bug"), "failed"),
    (KeyboardInterrupt(), "aborted"),
    (Crash("not an Exception"), "aborted"),
])
def test_a_crash_inside_the_engine_leaves_the_source_off_and_the_run_not_completed(db_path, seam, error, status):
    with Notebook(db_path) as nb:
        listeners = [ExplodingListener(error)] if seam == "listener" else []
        session = session_for(nb, listeners)
        engine = session.engine
        if seam == "detector":
            engine.detectors.append(ExplodingDetector(error))
        smu = engine.bench.emulators["smu"]
        try:
            if isinstance(error, Exception):
                assert engine.run() == status
            else:
                with pytest.raises(type(error)):   # closed safely, then passed on to whoever stops the program
                    engine.run()
        finally:
            session.close()
        assert not smu.output_on and smu.source_current == 0.0 and smu.output_mode == "HIMP"
        run = nb.run(engine.run_id)
        assert run["status"] == status == engine.status
        assert type(error).__name__ in run["message"]
        # what was measured before the crash is kept, and it is not a whole run
        assert 0 < nb.samples(engine.run_id).size == run["n_samples"] < 2 * 2 * 3600
        assert not [e for e in nb.events(engine.run_id) if e["kind"].startswith("safe_off")]


class StaleReplyThenStop(ExplodingListener):
    """Leaves an unread `*OPC?` reply on the SMU's session, as an exchange cut off after
    its write and before its read does (the Ctrl-C seen in issue 19), then asks for a
    stop. Each later command then reads the reply before its own, and the switch-off's
    read-back of :OUTP? gets the "1" meant for :OUTP OFF;*OPC?."""

    def __init__(self, engine):
        super().__init__(None)
        self.engine = engine

    def on_batch(self, samples):
        self.batches += 1
        if self.batches == 3:
            self.engine.bench.smu.connection.resource.write("*OPC?")
            self.engine.stop()


def test_a_switch_off_that_reads_back_on_is_retried_on_a_fresh_session(db_path):
    with Notebook(db_path) as nb:
        session = session_for(nb)
        engine = session.engine
        engine.listeners.append(StaleReplyThenStop(engine))
        smu = engine.bench.emulators["smu"]
        try:
            assert engine.run() == "aborted"
        finally:
            session.close()
        assert not smu.output_on
        events = nb.events(engine.run_id)
        (retry,) = [e for e in events if e["kind"] == "safe_off_retry"]
        assert retry["severity"] == "warning" and "output still on after switching off (reads '1')" in retry["message"]
        assert not [e for e in events if e["kind"] == "safe_off_failed"]
        assert nb.run(engine.run_id)["message"] == "stopped by the operator"


def test_a_source_that_will_not_switch_off_is_an_alarm(db_path):
    with Notebook(db_path) as nb:
        stack = cell.from_template("sym-agc")
        clock = make_clock("max")
        bench = simulated_bench(stack, clock, timeout_ms=200)
        engine = RunEngine(db_path, nb.save_build(stack), stack, PROTOCOL, bench, clock)

        class DropOutputCommands(ExplodingListener):
            def on_batch(self, samples):
                self.batches += 1
                if self.batches == 3:
                    # every :OUTP command goes unanswered and undone from here on
                    bench.servers["smu"].inject("timeout", count=1000, match=":OUTP")
                    engine.stop()

        engine.listeners.append(DropOutputCommands(None))
        try:
            assert engine.run() == "aborted"
        finally:
            bench.close()
        assert bench.emulators["smu"].output_on          # the emulator never got the command: it really is on
        events = nb.events(engine.run_id)
        assert [e["attempt"] for e in (e["evidence"] for e in events if e["kind"] == "safe_off_retry")] == [1, 2, 3]
        (alarm,) = [e for e in events if e["kind"] == "safe_off_failed"]
        assert alarm["severity"] == "alarm" and "THE SOURCE MAY STILL BE ON" in alarm["message"]
        assert ":OUTP" in alarm["evidence"]["detail"]
        run = nb.run(engine.run_id)
        assert run["status"] == "aborted" and "could not switch the source off" in run["message"]
