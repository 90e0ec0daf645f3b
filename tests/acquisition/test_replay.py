"""Replay of logged runs: the same stream as live, the detectors re-run with the
stored or new thresholds, seeking, pausing, looping, and the file never touched."""
from __future__ import annotations

import hashlib
import math
import time

import numpy as np
import pytest

from acquisition.replay import ReplayPlayer, replay_headless
from notebook import Notebook


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_headless_replay_fires_at_the_same_sample_as_live(shorted_run):
    path, run_id, live = shorted_run
    before = digest(path)
    result = replay_headless(path, run_id)
    assert [(e["kind"], e["sample_index"], e["t_s"]) for e in result["events"]] == \
        [(live["kind"], live["sample_index"], live["t_s"])]
    assert result["thresholds"]["hard_short"]["collapse_fraction"] == 0.25
    assert digest(path) == before


def test_new_thresholds_change_the_verdict(shorted_run):
    path, run_id, _ = shorted_run
    assert replay_headless(path, run_id, {"hard_short": {"collapse_fraction": 0.01}})["events"] == []
    with pytest.raises(ValueError, match="unknown threshold nerve for hard_short"):
        replay_headless(path, run_id, {"hard_short": {"nerve": 1}})
    with pytest.raises(ValueError, match="has no 'soft_short' detector"):
        replay_headless(path, run_id, {"soft_short": {"min_rise_v": 1}})


class Collector:
    def __init__(self):
        self.batches, self.events, self.statuses = [], [], []

    def on_batch(self, samples):
        self.batches.append(samples.copy())

    def on_event(self, event):
        self.events.append(event)

    def on_status(self, status, message):
        self.statuses.append(status)

    def on_spectrum(self, spectrum):
        pass


def test_a_fast_replay_streams_every_sample_and_both_alarms(shorted_run):
    path, run_id, live = shorted_run
    before = digest(path)
    sink = Collector()
    player = ReplayPlayer(path, run_id, speed=math.inf, listeners=[sink])
    player.start()
    player.join(30)
    player.close()
    with Notebook(path, read_only=True) as nb:     # what is stored, read apart from the player
        stored = nb.samples(run_id)
        assert stored.size == nb.run(run_id)["n_samples"] > live["sample_index"]
    assert np.concatenate(sink.batches).tobytes() == stored.tobytes()
    assert sorted((e["origin"], e["sample_index"]) for e in sink.events) == \
        [("original", live["sample_index"]), ("replay", live["sample_index"])]
    assert sink.statuses == ["running", "completed"]
    assert digest(path) == before


def wait_for(condition, timeout_s: float = 20.0) -> None:
    """Poll until `condition()` holds: the thread runs at its own pace on a loaded machine."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_paced_replay_seek_next_alarm_and_loop(shorted_run):
    path, run_id, live = shorted_run
    sink = Collector()
    player = ReplayPlayer(path, run_id, speed=3600.0, listeners=[sink], hold_at_end=True)   # an hour a second
    started = time.monotonic()
    player.start()
    wait_for(lambda: sum(b.size for b in sink.batches) >= 900)
    played, elapsed = sum(b.size for b in sink.batches), time.monotonic() - started
    # paced: it never runs ahead of an hour (3600 samples of 1 s) per second of wall time,
    # however slow the machine (it may only lag); 900 samples took at least 0.25 s
    assert played <= 3600 * elapsed + 1 and elapsed >= 900 / 3600
    assert played < player.samples.size
    assert player.next_alarm() == live["t_s"]      # jump to the short
    wait_for(lambda: any(e["origin"] == "original" for e in sink.events))
    wait_for(lambda: "ended" in sink.statuses)     # it reaches the end after the alarm, and waits
    player.pause()
    player.seek_cycle(2)
    assert player.samples["cycle"][player.position] == 2
    player.set_loop(7200.0, 7300.0)
    player.set_speed(math.inf)
    mark = len(sink.batches)
    player.resume()
    wait_for(lambda: sum(b.size for b in sink.batches[mark:]) >= 500)   # five times round the 100 s loop
    loop_batches = [b for b in sink.batches[mark:] if b.size]
    assert loop_batches
    assert all(7200.0 <= b["t"][0] and b["t"][-1] <= 7300.0 for b in loop_batches)
    player.close()
    with pytest.raises(ValueError, match="no cycle 99"):
        player.seek_cycle(99)


def test_replay_command_headless_json_and_bad_thresholds(shorted_run):
    import json
    import subprocess
    import sys

    from conftest import ROOT
    path, run_id, live = shorted_run

    def cli(*args):
        return subprocess.run([sys.executable, str(ROOT / "main.py"), "replay", "--db", str(path), "--run", str(run_id),
                               *args], cwd=ROOT, capture_output=True, text=True, timeout=120)

    out = json.loads(cli("--headless", "--json").stdout)
    assert out["events"][0]["t_s"] == live["t_s"] and out["events"][0]["kind"] == "hard_short"
    stricter = json.loads(cli("--headless", "--json", "--threshold", "hard_short.collapse_fraction=0.01").stdout)
    assert stricter["events"] == [] and stricter["thresholds"]["hard_short"]["collapse_fraction"] == 0.01
    bad = cli("--headless", "--threshold", "hard_short.collapse_fraction")
    assert bad.returncode == 2 and "KIND.NAME=VALUE" in bad.stderr
    bad = cli("--headless", "--threshold", "hard_short.bogus=1")
    assert bad.returncode == 2 and "unknown threshold bogus" in bad.stderr


def test_an_imported_run_replays_too(tmp_path):
    from conftest import TEST_DATA
    from notebook.importer import import_file
    path = tmp_path / "imported.sqlite"
    with Notebook(path) as nb:
        result = import_file(nb, TEST_DATA / "cycling" / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv")
    run_id = result.run_id
    replayed = replay_headless(path, run_id)
    # Li | graphite, 0.03-0.55 V: an anode half cell by its trace (analysis.cell_type), watched
    # for a sudden drop; no voltage window assumed for a cell the file does not describe
    assert set(replayed["thresholds"]) == {"sudden_drop"}
    sink = Collector()
    player = ReplayPlayer(path, run_id, speed=math.inf, listeners=[sink])
    player.start()
    player.join(30)
    player.close()
    assert sum(b.size for b in sink.batches) == 25162 and sink.statuses[-1] == "completed"


def test_an_imported_full_cell_replays_with_the_detectors_its_trace_calls_for(tmp_path):
    """The Neware full cell (3-4.5 V) has no build: replay picks the full-cell detectors as
    `analyze shorts` does, the soft-short capacity being the trace's median charge."""
    from conftest import TEST_DATA
    from notebook.importer import import_file
    path = tmp_path / "imported.sqlite"
    with Notebook(path) as nb:
        run_id = import_file(nb, TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv").run_id
    replayed = replay_headless(path, run_id)
    assert set(replayed["thresholds"]) == {"soft_short", "sudden_drop"}
    assert replayed["events"] == []              # a healthy cell: nothing fires, as in analyze shorts
    player = ReplayPlayer(path, run_id, speed=math.inf)
    try:
        kinds = {type(entry[0]).__name__ for entry in player.judge.entries}
    finally:
        player.close()
    assert kinds == {"SoftShortDetector", "SuddenDropDetector"}
