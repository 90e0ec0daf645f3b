"""The run engine on the simulated bench through the real driver: complete runs, the
paper's asymmetric-cell short, the safe state, and stopping."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import cell
from acquisition.live import LiveBuffer
from acquisition.protocol import preset
from acquisition.session import prepare_run
from notebook import Notebook


class Recorder:
    """A RunListener that keeps what it hears and checks the cell was safe first."""

    def __init__(self, emulator=None):
        self.batches, self.events, self.statuses = [], [], []
        self.emulator = emulator
        self.output_on_at_event = None

    def on_batch(self, samples):
        self.batches.append(samples.size)

    def on_event(self, event):
        if self.emulator is not None:
            self.output_on_at_event = self.emulator.output_on
        self.events.append(event)

    def on_status(self, status, message):
        self.statuses.append(status)

    def on_spectrum(self, spectrum):
        self.spectra = getattr(self, "spectra", []) + [spectrum]


def run(db_path, template, protocol, seed=0, speed="max", extra_listeners=()):
    nb = Notebook(db_path)
    recorder = Recorder()
    session = prepare_run(nb, cell.from_template(template), protocol, speed=speed, seed=seed,
                          listeners=[recorder, *extra_listeners])
    recorder.emulator = session.engine.bench.emulators["smu"]
    return nb, session, recorder


def test_agc_cell_completes_every_cycle_and_every_sample_is_stored(db_path):
    buffer = LiveBuffer()
    nb, session, rec = run(db_path, "sym-agc", preset("plate-strip-0.16", cycles=3), extra_listeners=[buffer])
    try:
        assert session.engine.run() == "completed"
    finally:
        session.close()
    run_id = session.engine.run_id
    samples = nb.samples(run_id)
    assert samples.size == 3 * 2 * 3600 == session.engine.n_samples == len(buffer) == sum(rec.batches)
    assert rec.statuses == ["running", "completed"]
    assert nb.run(run_id)["status"] == "completed"
    steps = nb.steps(run_id)
    assert [s["label"] for s in steps] == ["plate", "strip"] * 3
    # 0.16 mA for 1 h = 0.16 mAh each half cycle
    assert [s["charge_mah"] for s in steps] == pytest.approx([0.16] * 6, rel=1e-3)
    assert np.all(samples["current"][samples["step"] % 2 == 0] > 0)
    prov = __import__("json").loads(nb.run(run_id)["provenance_json"])
    assert "MODEL 2450" in prov["instruments"]["smu"]["idn"] and prov["stack"]["template"] == "sym-agc"
    assert not rec.emulator.output_on
    nb.close()


def test_asymmetric_cell_shorts_near_9_5_h_and_is_made_safe_first(db_path):
    nb, session, rec = run(db_path, "asym-agc", preset("plate-strip-0.16", cycles=50), seed=1)
    try:
        status = session.engine.run()
    finally:
        session.close()
    assert status == "shorted"
    assert len(rec.events) == 1 and rec.events[0]["kind"] == "hard_short"
    assert rec.output_on_at_event is False          # safe before anyone was told
    t_short = rec.events[0]["t_s"] / 3600
    assert t_short == pytest.approx(9.5, rel=0.10)
    # the detector fired at the sample where the simulated cell shorted (run time starts
    # when the SMU buffer is cleared, after the fixture reached its pressure)
    shorted_at = rec.emulator.cell.shorted_at - rec.emulator.buffer_t0
    assert rec.events[0]["t_s"] == pytest.approx(shorted_at, abs=1.0)
    stored = nb.events(session.engine.run_id)
    assert stored[0]["sample_index"] == rec.events[0]["sample_index"]
    assert nb.samples(session.engine.run_id)["t"][stored[0]["sample_index"]] == stored[0]["t_s"]
    assert nb.run(session.engine.run_id)["status"] == "shorted"
    nb.close()


def test_agc_symmetric_cell_does_not_trip_over_many_cycles(db_path):
    nb, session, rec = run(db_path, "sym-agc", preset("plate-strip-0.16", cycles=15), seed=4)
    try:
        assert session.engine.run() == "completed"
    finally:
        session.close()
    assert rec.events == []
    nb.close()


def test_stop_ends_the_run_aborted_with_output_off(db_path):
    nb, session, rec = run(db_path, "sym-agc", preset("plate-strip-0.16", cycles=50), speed="36000")
    engine = session.engine
    started = threading.Event()
    rec.on_batch = lambda samples: started.set()
    engine.start()
    assert started.wait(10)
    engine.stop()
    engine.join(10)
    session.close()
    assert engine.status == "aborted"
    assert not rec.emulator.output_on
    assert nb.run(engine.run_id)["status"] == "aborted"
    assert nb.samples(engine.run_id).size == engine.n_samples > 0
    nb.close()


def test_an_invalid_build_is_refused_before_anything_is_saved(db_path):
    nb = Notebook(db_path)
    with pytest.raises(ValueError, match="area"):
        prepare_run(nb, cell.from_template("sym-bare", area_cm2=0), preset("plate-strip-0.16"), speed="max")
    assert nb.conn.execute("SELECT COUNT(*) FROM builds").fetchone()[0] == 0
    nb.close()


@pytest.mark.parametrize("kwargs, message", [
    ({"cycles": 0}, r"steps\[0\]\.repeat: must be at least 1"),
    ({"half_cycle_h": 0}, r"steps\[0\]\.steps\[0\]\.duration_s: must be above 0"),
    ({"current_density_mA_cm2": 0}, r"needs a current")])
def test_protocol_values_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        preset("plate-strip-0.16", **kwargs)


class StatusWatcher(Recorder):
    """Pauses the run after `pause_after` batches, resumes it once it reports paused."""

    def __init__(self, engine_ref, pause_after=None):
        super().__init__()
        self.engine_ref, self.pause_after, self.seen_paused = engine_ref, pause_after, []

    def on_batch(self, samples):
        super().on_batch(samples)
        if self.pause_after is not None and len(self.batches) == self.pause_after:
            self.engine_ref[0].pause()

    def on_status(self, status, message):
        super().on_status(status, message)
        if status == "paused":
            self.seen_paused.append((message, self.emulator.output_on))
            self.engine_ref[0].resume()


def test_pause_makes_the_cell_safe_and_resume_finishes_the_step(db_path):
    nb = Notebook(db_path)
    ref = [None]
    watcher = StatusWatcher(ref, pause_after=4)
    session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=1), speed="max",
                          listeners=[watcher])
    ref[0] = session.engine
    watcher.emulator = session.engine.bench.emulators["smu"]
    try:
        assert session.engine.run() == "completed"
    finally:
        session.close()
    assert watcher.seen_paused == [("paused by the operator", False)]     # output was off while paused
    assert watcher.statuses == ["running", "paused", "running", "completed"]
    steps = nb.steps(session.engine.run_id)
    # the paused step still delivered its full hour of charge
    assert [round(s["charge_mah"], 4) for s in steps] == [0.16, 0.16]
    assert nb.samples(session.engine.run_id).size == 7200
    nb.close()


def test_an_alarm_can_pause_instead_of_stopping(db_path):
    nb = Notebook(db_path)
    ref = [None]
    watcher = StatusWatcher(ref)
    stack = cell.from_template("asym-agc")
    session = prepare_run(nb, stack, preset("plate-strip-0.16", cycles=6), speed="max", seed=1, listeners=[watcher])
    session.engine.on_trip = "pause"
    ref[0] = session.engine
    watcher.emulator = session.engine.bench.emulators["smu"]
    try:
        status = session.engine.run()
    finally:
        session.close()
    assert status == "completed"             # the operator resumed; the fresh detector judges from there
    assert watcher.seen_paused[0] == ("paused after an alarm: resume or stop", False)
    assert [e["kind"] for e in nb.events(session.engine.run_id)] == ["hard_short"]
    nb.close()


def test_progress_counts_down_to_the_end(db_path):
    nb, session, rec = run(db_path, "sym-agc", preset("plate-strip-0.16", cycles=2))
    seen = []
    rec.on_batch = lambda samples: seen.append(session.engine.progress())
    try:
        session.engine.run()
    finally:
        session.close()
    assert seen[0]["n_steps"] == 4 and seen[0]["remaining_s"] == pytest.approx(4 * 3600 - seen[0]["t_s"], abs=700)
    assert seen[-1]["step"] == 3 and seen[-1]["cycle"] == 2 and seen[-1]["remaining_s"] < 700
    nb.close()


def test_thresholds_can_be_edited_per_run_and_are_kept(db_path):
    nb = Notebook(db_path)
    session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=1), speed="max",
                          detector_overrides={"hard_short": {"collapse_fraction": 0.5, "hold_samples": 8}})
    try:
        session.engine.run()
    finally:
        session.close()
    stored = __import__("json").loads(nb.run(session.engine.run_id)["provenance_json"])["detectors"]
    assert stored["hard_short"]["collapse_fraction"] == 0.5 and stored["hard_short"]["hold_samples"] == 8
    with pytest.raises(ValueError, match="unknown threshold sensitivity for hard_short"):
        prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16"), detector_overrides={"hard_short": {"sensitivity": 2}})
    with pytest.raises(ValueError, match="collapse_fraction must be between 0 and 1"):
        prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16"), detector_overrides={"hard_short": {"collapse_fraction": 3}})
    with pytest.raises(ValueError, match="no 'soft_short' detector watches"):
        prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16"), detector_overrides={"soft_short": {}})
    nb.close()


class Leak(Recorder):
    def on_batch(self, samples):
        super().on_batch(samples)
        if len(self.batches) == 5:
            # The emulated regulator (5 s lag) wins back all but about leak x max(5 s, the
            # engine's poll) between readings; polls are at most 20 s while current flows,
            # so 0.05 MPa/s leaves about 1 MPa below the set-point, past the 0.5 MPa tolerance.
            self.emulator_fixture.leak_mpa_s = 0.05


def test_a_leaking_fixture_raises_a_pressure_drift_alarm(db_path):
    nb = Notebook(db_path)
    leak = Leak()
    session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=5), speed="max",
                          listeners=[leak])
    leak.emulator = session.engine.bench.emulators["smu"]
    leak.emulator_fixture = session.engine.bench.emulators["pressure"].fixture
    try:
        assert session.engine.run() == "aborted"    # not a short: the cell was made safe all the same
    finally:
        session.close()
    (event,) = nb.events(session.engine.run_id)
    assert event["kind"] == "pressure_drift" and event["evidence"]["setpoint_mpa"] == 5.0
    assert event["evidence"]["pressure_mpa"] < 4.5
    assert leak.output_on_at_event is False
    nb.close()
