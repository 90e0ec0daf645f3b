"""The station watching an emulated Maccor tester and an emulated Arbin cycler at once,
each with a healthy full cell and one that soft-shorts on its first charge: both shorts
caught after the simulated cell's own short onset, each channel stopped through its
own interface (MacNet Reset, CTI STOP), no alarm on the healthy cells, and the runs in
the notebook. A CTI user without control rights gets the "keeps running" banner and
the cycler receives no stop."""
from __future__ import annotations

import threading
import time

import pytest

from cycler_fixtures import channels
from acquisition.cycler_watch import CyclerWatch, WatchSettings
from instruments.cyclers.arbin import ArbinClient
from instruments.cyclers.maccor import MaccorClient
from instruments.sim.cyclers.arbin_emulator import ArbinEmulator, ArbinServer
from instruments.sim.cyclers.maccor_emulator import MaccorEmulator, MaccorServer
from notebook.store import Notebook

# a point every 10 s of test time; the short comes ~0.7 h into the first C/3 charge
SPEED, SAMPLE_S, POLL_S, WAIT_S = 900.0, 10.0, 0.02, 90.0


class Watching:
    """A CyclerWatch on its own thread, as the station runs one per cycler."""

    def __init__(self, path, client, **settings):
        self.events: list[dict] = []
        self.watch = CyclerWatch(path, client, WatchSettings(poll_s=POLL_S, **settings),
                                 on_event=lambda event, ch: self.events.append(event))
        self.thread = threading.Thread(target=self.watch.run, daemon=True)
        self.thread.start()

    def kinds(self, run_id: int) -> list[str]:
        return [e["kind"] for e in self.events if e["run_id"] == run_id]

    def wait_closed(self, channel_key: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if any(ch.info.key == channel_key and ch.done for ch in self.watch.channels):
                return
            time.sleep(0.05)
        raise AssertionError(f"channel {channel_key} was not closed within {WAIT_S} s: {self.events[-3:]}")

    def wait_for(self, kind: str) -> dict:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = [e for e in self.events if e["kind"] == kind]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no {kind} event within {WAIT_S} s: {self.events[-3:]}")

    def end(self) -> None:
        self.watch.stop()
        self.thread.join(timeout=10)


@pytest.fixture
def cyclers():
    maccor = MaccorEmulator(channels("full-agc,full-bare", sample_interval_s=SAMPLE_S), speed=SPEED)
    arbin = ArbinEmulator(channels("full-agc,full-bare", sample_interval_s=SAMPLE_S, seed=5), speed=SPEED)
    servers = [MaccorServer(maccor), ArbinServer(arbin)]
    yield maccor, arbin, servers
    for server in servers:
        server.close()


def test_both_shorts_are_caught_and_stopped_through_each_interface(tmp_path, cyclers):
    maccor, arbin, (maccor_server, arbin_server) = cyclers
    path = tmp_path / "lab.solidstack"
    watches = [Watching(path, MaccorClient("127.0.0.1", maccor_server.port, timeout_s=2.0)),
               Watching(path, ArbinClient("127.0.0.1", arbin_server.port, timeout_s=2.0))]
    try:
        for w in watches:
            w.wait_closed("2")
    finally:
        for w in watches:
            w.end()
    for emulator, w, stop_words in ((maccor, watches[0], "reset (6,5) Result 'OK'"),
                                    (arbin, watches[1], "STOP feedback: stopped")):
        healthy, shorting = w.watch.channels
        onset = emulator.channels[1].cell.shorted_at          # the simulated cell's own record
        assert onset is not None and emulator.channels[0].cell.shorted_at is None
        alarm = next(e for e in w.events if e["run_id"] == shorting.run_id and e["severity"] == "alarm")
        assert alarm["kind"] == "soft_short"
        assert onset <= alarm["t_s"] <= onset + 1800.0
        # the stop went through the interface, after the alarm, and the cycler said yes
        assert [s["channel"] for s in emulator.stops] == [2]
        assert emulator.stops[0]["t_s"] >= alarm["t_s"]
        answer = next(e for e in w.events if e["kind"] == "cycler_stop_answer")
        assert answer["evidence"] == {"accepted": True, "reply": stop_words}
        assert shorting.status == "shorted"
        assert not any(e["severity"] == "alarm" for e in w.events if e["run_id"] == healthy.run_id)
    with Notebook(path, read_only=True) as nb:
        runs = {r["id"]: r for r in (nb.run(ch.run_id) for w in watches for ch in w.watch.channels)}
        assert len(runs) == 4
        for w in watches:
            healthy, shorting = w.watch.channels
            assert runs[shorting.run_id]["status"] == "shorted"
            assert runs[healthy.run_id]["status"] == "aborted"        # watching ended; its test goes on
            assert runs[shorting.run_id]["n_samples"] == shorting.n_samples > 0
            assert any(e["kind"] == "cycler_stop_answer" for e in nb.events(shorting.run_id))
            assert nb.samples(shorting.run_id).size == shorting.n_samples


def test_without_control_rights_the_banner_says_the_cycler_keeps_running(tmp_path, cyclers):
    maccor, arbin, (maccor_server, arbin_server) = cyclers
    arbin.allow_control = False
    w = Watching(tmp_path / "lab.solidstack", ArbinClient("127.0.0.1", arbin_server.port, timeout_s=2.0))
    try:
        banner = w.wait_for("cycler_no_stop")
    finally:
        w.end()
    shorting = w.watch.channels[1]
    kinds = w.kinds(shorting.run_id)
    assert banner["run_id"] == shorting.run_id and "keeps running" in banner["message"]
    assert "soft_short" in kinds and "cycler_stop_request" not in kinds
    assert arbin.stops == [] and arbin.channels[1].state == "running"
