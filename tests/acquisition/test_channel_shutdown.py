"""What a channel says about its source (on while its run goes, off once the engine made it
safe, unknown if switching off failed), and the station closing: runs still going end as
"station closed", with an event saying so, and a run that had ended keeps its own ending."""
from __future__ import annotations

import time

import cell
from acquisition.channels import STATION_CLOSED, Channel, ChannelManager
from acquisition.engine import OPERATOR_STOP
from acquisition.protocol import preset
from notebook import Notebook


def wait_until(condition, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_the_output_follows_what_the_engine_reports():
    channel = Channel(1)
    assert channel.summary()["output"] == "off"                      # no run: nothing sourced
    channel.on_status("running", "")
    assert channel.output == "on"
    channel.on_event({"severity": "warning", "kind": "instrument_retry", "message": "retry"})
    assert channel.output == "on"
    channel.on_event({"severity": "alarm", "kind": "instrument_fault", "message": "gone"})
    assert channel.output == "on"                    # reported before the engine switches off: not yet known off
    channel.on_event({"severity": "alarm", "kind": "hard_short", "message": "short"})
    assert channel.output == "off"
    channel.on_status("running", "")                 # resumed after a pause
    channel.on_event({"severity": "alarm", "kind": "safe_off_failed", "message": "may still be on"})
    channel.on_status("failed", "could not switch the source off")
    assert channel.output == "unknown" and channel.summary()["output"] == "unknown"


def test_closing_the_station_stops_running_runs_as_station_closed(db_path):
    nb = Notebook(db_path)
    manager = ChannelManager(nb)
    try:
        going = manager.start(1, cell.from_template("sym-agc"), preset("plate-strip-0.16"), speed="600")
        shorted = manager.start(2, cell.from_template("sym-bare"), preset("plate-strip-0.16"), speed="max", seed=1)
        wait_until(lambda: manager.channel(2).state == "shorted" and going.engine.n_samples > 10)
        assert manager.channel(1).output == "on" and manager.channel(2).output == "off"
        assert [c.index for c in manager.running()] == [1]
        manager.shutdown()
        assert manager.channel(1).output == "off"
        run, ended = nb.run(going.engine.run_id), nb.run(shorted.engine.run_id)
        assert (run["status"], run["message"]) == ("aborted", STATION_CLOSED) != ("aborted", OPERATOR_STOP)
        (event,) = nb.events(going.engine.run_id)
        assert (event["kind"], event["severity"], event["evidence"]) == (
            "run_stopped", "info", {"reason": STATION_CLOSED, "status": "aborted"})
        assert event["sample_index"] == run["n_samples"] - 1
        assert ended["status"] == "shorted" and [e["kind"] for e in nb.events(shorted.engine.run_id)] == ["hard_short"]
    finally:
        manager.shutdown()
        nb.close()
