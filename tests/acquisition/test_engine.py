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
