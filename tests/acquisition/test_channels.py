"""Eight cells at once on the simulated bench, each with its own state."""
from __future__ import annotations

import time

import pytest

import cell
from acquisition.channels import MAX_CHANNELS, ChannelManager
from acquisition.protocol import preset
from notebook import Notebook


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
