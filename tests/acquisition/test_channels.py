"""Eight cells at once on the simulated bench, each with its own state."""
from __future__ import annotations

import time

import pytest

import cell
from acquisition.channels import MAX_CHANNELS, ChannelManager
from acquisition.protocol import preset
from notebook import Notebook
from conftest import QuietListener


def wait_until(condition, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_eight_channels_run_concurrently_with_their_own_states(db_path):
    nb = Notebook(db_path)
    manager = ChannelManager(nb)
    try:
        templates = ["sym-agc", "sym-bare", "asym-agc", "sym-agc", "sym-agc", "sym-bare", "sym-agc", "asym-agc"]
        for k, template in enumerate(templates, start=1):
            manager.start(k, cell.from_template(template), preset("plate-strip-0.16", cycles=6), speed="max", seed=k)
        wait_until(lambda: not any(c.busy for c in manager.channels))
        rows = manager.overview()
        assert len(rows) == MAX_CHANNELS
        by_template = {}
        for row, template in zip(rows, templates):
            by_template.setdefault(template, set()).add(row["state"])
            if row["state"] == "shorted":
                assert "short" in row["alarm"]
            else:
                assert row["alarm"] is None and row["cycle"] == 6
        assert by_template["sym-agc"] == {"completed"}
        assert by_template["sym-bare"] == {"shorted"} and by_template["asym-agc"] == {"shorted"}
        # every channel's samples are in the notebook, each run its own
        runs = {r["run_id"]: r for r in nb.runs()}
        assert len(runs) == 8
        for channel in manager.channels:
            run_id = channel.session.engine.run_id
            assert nb.samples(run_id).size == runs[run_id]["n_samples"] == len(channel.buffer)
    finally:
        manager.shutdown()
        nb.close()


def test_stop_pause_and_bad_channel(db_path):
    nb = Notebook(db_path)
    manager = ChannelManager(nb)
    try:
        with pytest.raises(ValueError, match="channel must be 1 to 8"):
            manager.channel(9)
        with pytest.raises(ValueError, match="channel 2 has no run"):
            manager.stop(2)
        manager.start(2, cell.from_template("sym-agc"), preset("plate-strip-0.16"), speed="3600")
        with pytest.raises(ValueError, match="channel 2 is busy"):
            manager.start(2, cell.from_template("sym-agc"), preset("plate-strip-0.16"), speed="max")
        wait_until(lambda: len(manager.channel(2).buffer) > 100)
        manager.pause(2)
        wait_until(lambda: manager.channel(2).state == "paused")
        manager.stop(2)
        wait_until(lambda: not manager.channel(2).busy)
        assert manager.channel(2).state == "aborted"
    finally:
        manager.shutdown()
        nb.close()


# -- channels do not disturb one another (issue 19) --
# A short plate/strip (2 cycles of 2 x 30 min at 1.6 mA/cm2, 5 s samples: the bare cells
# short within it, the others complete) on a mix of cells, each with its own seed: what a
# channel records must not depend on what the others do.
MIX = [("sym-agc", 11), ("asym-agc", 12), ("sym-bare", 13), ("sym-agc", 14),
       ("sym-bare", 15), ("asym-agc", 16), ("sym-agc", 17), ("sym-bare", 18)]


FAULTED = 4          # a sym-agc cell that completes its 1440 samples when left alone


def short_protocol():
    return preset("plate-strip-0.16", current_density_mA_cm2=1.6, cycles=2, half_cycle_h=0.5, sample_interval_s=5.0)


def recorded(nb, channel):
    """(samples as bytes, events without their run id, uuid and wall-clock time) of a channel's run."""
    run_id = channel.session.engine.run_id
    events = [{k: v for k, v in e.items() if k not in ("run_id", "event_id", "id", "uuid", "wall_utc", "created_utc")}
              for e in nb.events(run_id)]
    return nb.samples(run_id).tobytes(), events, channel.state


def run_alone(path, index, template, seed):
    nb = Notebook(path)
    manager = ChannelManager(nb)
    try:
        manager.start(index, cell.from_template(template), short_protocol(), speed="max", seed=seed)
        wait_until(lambda: not manager.channel(index).busy)
        return recorded(nb, manager.channel(index))
    finally:
        manager.shutdown()
        nb.close()


class FaultAfter(QuietListener):
    """A listener that makes channel `index`'s SMU refuse its next source command once the
    run has `n` samples: in the engine's own thread, so at the same point of the run every
    time. (A refused command fails the run at once; an instrument gone takes its timeouts.)"""

    def __init__(self, manager, index, n):
        self.manager, self.index, self.n, self.seen, self.done = manager, index, n, 0, False

    def on_batch(self, samples):
        self.seen += samples.size
        if not self.done and self.seen >= self.n:
            self.done = True
            server = self.manager.channel(self.index).session.engine.bench.servers["smu"]
            server.inject("error", match=":SOUR:CURR")


def run_together(path, fault_on=None):
    nb = Notebook(path)
    manager = ChannelManager(nb)
    try:
        for index, (template, seed) in enumerate(MIX, start=1):
            listeners = [FaultAfter(manager, index, 500)] if index == fault_on else []
            manager.start(index, cell.from_template(template), short_protocol(), speed="max", seed=seed,
                          listeners=listeners)
        wait_until(lambda: not any(c.busy for c in manager.channels))
        return {index: recorded(nb, manager.channel(index)) for index in range(1, len(MIX) + 1)}
    finally:
        manager.shutdown()
        nb.close()


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    folder = tmp_path_factory.mktemp("alone")
    return {index: run_alone(folder / f"{index}.sqlite", index, template, seed)
            for index, (template, seed) in enumerate(MIX, start=1)}


def test_a_channel_records_the_same_bytes_alone_and_beside_seven_others(alone, tmp_path):
    together = run_together(tmp_path / "together.sqlite")
    states = {index: state for index, (_, _, state) in alone.items()}
    assert set(states.values()) == {"completed", "shorted"}       # both endings are compared
    for index in alone:
        samples, events, state = together[index]
        assert len(samples) > 0 and state == states[index]
        assert samples == alone[index][0], f"channel {index} differs from its run alone"
        assert events == alone[index][1]


def test_a_fault_on_one_channel_leaves_the_others_data_unchanged(alone, tmp_path):
    together = run_together(tmp_path / "faulted.sqlite", fault_on=FAULTED)
    samples, events, state = together[FAULTED]
    assert alone[FAULTED][2] == "completed"
    assert state == "failed" and any(e["kind"] == "instrument_fault" for e in events)
    assert 0 < len(samples) < len(alone[FAULTED][0])         # it stopped part-way ...
    assert samples == alone[FAULTED][0][:len(samples)]       # ... after recording what it would have
    for index in set(alone) - {FAULTED}:
        assert together[index] == alone[index], f"channel {index} changed when channel {FAULTED} failed"
