"""Watching an emulated Neware BTS over real TCP: history then live with no gap and no
duplicate (checked against the emulator's own log), the paper's shorting cells caught
and stopped through the interface with no false alarm on the others, communication
faults logged as events that never mark a run shorted, and the watched runs replaying
like any run."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from cycler_fixtures import neware

import cell
from acquisition.cycler_watch import CyclerWatch, WatchSettings
from acquisition.replay import replay_headless
from instruments.cyclers.neware import NewareClient
from notebook import Notebook


def watch_until(path, server, done, settings=WatchSettings(poll_s=0.05, backoff_s=0.05), timeout_s=40.0,
                during=None):
    """Run a CyclerWatch in a thread until done(watch) or the timeout; `during(watch)`
    runs once the first round is through (to inject faults mid-run)."""
    watch = CyclerWatch(path, NewareClient("127.0.0.1", server.port, timeout_s=2.0), settings)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while watch.rounds < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    if during is not None:
        during(watch)
    while not done(watch) and time.monotonic() < deadline:
        time.sleep(0.02)
    watch.stop("the test is over")
    thread.join(10)
    assert not thread.is_alive()
    return watch


def stored_equal_logged(nb, ch, emulator):
    """The run's samples are the first n points of the channel's log, each once, in order."""
    samples = nb.samples(ch.run_id)
    log = emulator.channels[ch.info.channel - 1].records()[: samples.size]
    assert samples.size == ch.n_samples == ch.last_point > 0
    np.testing.assert_array_equal(samples["t"], log["time_s"])
    np.testing.assert_array_equal(samples["voltage"], log["voltage_v"])
    np.testing.assert_array_equal(samples["current"], log["current_a"])
    np.testing.assert_array_equal(samples["cycle"], log["cycle"])
    return samples


def alarms(nb, run_id):
    return [e for e in nb.events(run_id) if e["severity"] == "alarm"]


def test_both_shorting_cells_are_caught_and_stopped_through_the_interface(tmp_path):
    path = tmp_path / "nb.sqlite"
    with neware(speed=20000.0) as server:
        emulator = server.emulator
        watch = watch_until(path, server, lambda w: sum(ch.done for ch in w.channels) >= 2)
        by_channel = {ch.info.channel: ch for ch in watch.channels}
        with Notebook(path) as nb:
            runs = {n: nb.run(ch.run_id) for n, ch in by_channel.items()}
            # the stops arrived through the interface, for the two bare-Li cells only
            assert sorted(s["channel"] for s in emulator.stops) == [1, 3]
            assert all(s["answer"] == "ok" for s in emulator.stops)
            assert runs[1]["status"] == runs[3]["status"] == "shorted"
            assert runs[2]["status"] == runs[4]["status"] == "aborted"      # still running when the watch ended
            assert alarms(nb, by_channel[2].run_id) == alarms(nb, by_channel[4].run_id) == []
            # the alarms lie where the simulated cells really shorted (their own record of it)
            (hard,) = alarms(nb, by_channel[1].run_id)
            (soft,) = alarms(nb, by_channel[3].run_id)
            truth_li, truth_full = emulator.channels[0].cell.shorted_at, emulator.channels[2].cell.shorted_at
            assert hard["kind"] == "hard_short" and truth_li <= hard["t_s"] <= truth_li + 60
            assert soft["kind"] == "soft_short" and truth_full <= soft["t_s"] <= truth_full + 30 * 10
            assert 8.5 * 3600 < hard["t_s"] < 10.5 * 3600          # the paper's asymmetric cell: ~9.5 h
            kinds = [e["kind"] for e in nb.events(by_channel[1].run_id)]
            assert kinds.index("hard_short") < kinds.index("cycler_stop_request") < kinds.index("cycler_stop_answer")
            for n in (1, 3):                                     # every point the cycler logged, up to its stop
                samples = stored_equal_logged(nb, by_channel[n], emulator)
                assert samples.size == emulator.channels[n - 1].points
            assert runs[1]["source"] == "neware 127.0.0.1 unit 1 ch 1"
            assert nb.provenance(by_channel[1].run_id)["detectors"]["hard_short"]["collapse_fraction"] == 0.25
            # step summaries: the charge the cycler's own counter gives for the first plating step
            first = nb.steps(by_channel[1].run_id)[0]
            log = emulator.channels[0].records()
            assert first["charge_mah"] == pytest.approx(log["charge_ah"][log["step"] == 1][-1] * 1e3, rel=1e-9)
        # a watched run replays like any run: the same alarm at the same sample
        for n, live in ((1, hard), (3, soft)):
            replayed = replay_headless(path, by_channel[n].run_id)
            assert replayed["events"][0]["sample_index"] == live["sample_index"]
            assert replayed["events"][0]["kind"] == live["kind"]


def test_policy_alarm_raises_the_alarm_but_sends_no_stop(tmp_path):
    path = tmp_path / "nb.sqlite"
    with neware("full-bare", speed=20000.0) as server:
        watch = watch_until(path, server, lambda w: w.channels and w.channels[0].alarm is not None,
                            WatchSettings(poll_s=0.05, policy="alarm"))
        assert server.emulator.stops == [] and server.emulator.channels[0].state == "running"
    with Notebook(path) as nb:
        run = nb.run(watch.channels[0].run_id)
        kinds = [e["kind"] for e in nb.events(run["id"])]
    assert run["status"] == "shorted" and "soft_short" in kinds and "cycler_stop_request" not in kinds


def test_a_dropped_connection_and_a_garbled_reply_lose_nothing_and_alarm_nothing(tmp_path):
    path = tmp_path / "nb.sqlite"

    def faults(watch):
        # three outages, each over before the next: the reconnection waits 0.05, 0.1, 0.2 s
        server.emulator.inject("drop", count=3, match="download")
        time.sleep(0.8)
        server.emulator.inject("garble", match="getchlstatus")
        time.sleep(0.8)
        server.emulator.inject("partial", match="download")
        time.sleep(0.8)
        server.emulator.end_test(1)

    with neware("sym-agc", speed=20000.0) as server:
        watch = watch_until(path, server, lambda w: w.channels[0].done, during=faults)
        (ch,) = watch.channels
        with Notebook(path) as nb:
            run = nb.run(ch.run_id)
            events = nb.events(ch.run_id)
            samples = stored_equal_logged(nb, ch, server.emulator)
        assert samples.size == server.emulator.channels[0].points      # the whole test, every point once
    assert np.all(np.diff(samples["t"]) > 0)
    kinds = [e["kind"] for e in events]
    # each lost contact is logged, and each return (a drop right after a reconnection is a new loss)
    assert kinds.count("cycler_disconnected") == kinds.count("cycler_reconnected") >= 3
    assert {e["severity"] for e in events if e["kind"] == "cycler_disconnected"} == {"warning"}
    assert any("does not parse" in e["message"] for e in events)
    assert [e for e in events if e["severity"] == "alarm"] == []
    assert run["status"] == "completed" and run["message"] == "the cycler's test ended"


def test_the_watcher_polls_at_a_bounded_rate(tmp_path):
    with neware("sym-agc,sym-agc,sym-agc", speed=20000.0) as server:
        watch = watch_until(tmp_path / "nb.sqlite", server, lambda w: False,
                            WatchSettings(poll_s=0.25), timeout_s=1.3)
        counts = dict(server.emulator.requests)
    # ~1 s of watching at 0.25 s a round: at most 6 rounds of one status request each
    assert 3 <= counts["getchlstatus"] - 1 <= 6
    assert watch.rounds == counts["getchlstatus"] - 1


def test_a_barcode_naming_a_saved_build_links_the_run_to_it(tmp_path):
    path = tmp_path / "nb.sqlite"
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc", name="SIM-1-sym-agc"))
    seen = {}

    def look(watch):
        with Notebook(path, read_only=True) as nb:
            seen.update({r["id"]: (r["status"], r["source"]) for r in map(nb.run, (1, 2))})

    with neware("sym-agc,full-agc", speed=20000.0) as server:
        watch = watch_until(path, server, lambda w: w.channels[0].n_samples > 100, timeout_s=10, during=look)
    linked, other = watch.channels
    # while watched, each channel is a running run named for its source
    assert seen == {1: ("running", "neware 127.0.0.1 unit 1 ch 1"), 2: ("running", "neware 127.0.0.1 unit 1 ch 2")}
    with Notebook(path) as nb:
        assert nb.run(linked.run_id)["build_id"] == build_id
        assert set(nb.provenance(linked.run_id)["detectors"]) == {"hard_short", "voltage_limit"}
        assert nb.run(other.run_id)["build_id"] not in (build_id,)
        assert nb.build(nb.run(other.run_id)["build_id"]).template == "imported"     # a placeholder, no cell


def test_a_li_li_cell_watched_from_its_start_waits_for_both_directions_before_choosing(tmp_path):
    # Polled from the first point, the trace is for an hour a one-way plating (like an anode
    # half cell's); the first few stripping points must not settle it as one.
    with neware("sym-agc", speed=4000.0) as server:
        watch = watch_until(tmp_path / "nb.sqlite", server, lambda w: w.channels[0].detectors is not None,
                            WatchSettings(poll_s=0.02), timeout_s=10)
    (ch,) = watch.channels
    chosen = next(e for e in ch.events if e["kind"] == "cycler_detectors")
    assert [d.kind for d in ch.detectors] == ["hard_short"]
    assert chosen["evidence"]["cell_type"] == "symmetric" and chosen["t_s"] > 3600.0


def test_a_stop_that_never_arrives_is_retried_then_raised_as_an_alarm(tmp_path):
    with neware("full-bare", speed=20000.0) as server:
        server.emulator.inject("drop", count=3, match="stop")
        watch = watch_until(tmp_path / "nb.sqlite", server,
                            lambda w: sum(e["kind"] == "cycler_stop_failed" for e in w.channels[0].events) == 3)
        assert server.emulator.stops == [] and server.emulator.channels[0].state == "running"
    failed = [e for e in watch.channels[0].events if e["kind"] == "cycler_stop_failed"]
    assert [e["severity"] for e in failed] == ["warning", "warning", "alarm"]
    assert "STOP THE CHANNEL AT THE CYCLER" in failed[-1]["message"] and "command stop" in failed[-1]["message"]
    assert watch.channels[0].status == "shorted"


def test_a_test_replaced_during_an_outage_closes_the_run_without_taking_the_new_tests_points(tmp_path):
    from acquisition.cycler_sim import parse_cells, sim_channels
    taken = {}

    def replace_test(watch):
        time.sleep(0.2)
        server.emulator.down()
        server.emulator.inject("drop")              # the open connection goes too
        time.sleep(0.3)
        taken["old"] = server.emulator.channels[0]
        (fresh,) = sim_channels(parse_cells("sym-agc"), seed=5)
        fresh.test_id = 999
        server.emulator.channels[0] = fresh
        server.emulator.recover()

    with neware("sym-agc", speed=20000.0) as server:
        watch = watch_until(tmp_path / "nb.sqlite", server, lambda w: w.channels[0].done, during=replace_test,
                            timeout_s=15)
        (ch,) = watch.channels
        with Notebook(tmp_path / "nb.sqlite") as nb:
            run = nb.run(ch.run_id)
            samples = nb.samples(ch.run_id)
    old = taken["old"].records()[: samples.size]
    assert run["status"] == "aborted" and "replaced on the cycler by test 999" in run["message"]
    np.testing.assert_array_equal(samples["voltage"], old["voltage_v"])    # only the old test's points
    assert [e["severity"] for e in nb_events(tmp_path / "nb.sqlite", ch.run_id) if e["severity"] == "alarm"] == []


def nb_events(path, run_id):
    with Notebook(path) as nb:
        return nb.events(run_id)
