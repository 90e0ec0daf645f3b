"""The station's Cyclers tab watching three emulated cyclers at once (Neware BTS, Maccor
MacNet, Arbin CTI, each over real TCP on 127.0.0.1): 24 channels, two of them shorting
(the asymmetric AGC cell's hard short on the Neware, the bare full cell's soft short on
the Maccor). Both shorts are caught and stopped through each cycler's own interface
(the emulators' record of the stops they received), no other channel alarms, the tiles
put the alarms first, the filters select what they say, the selected tile's plots draw
its samples, the banner latches the alarm with the stop and the cycler's answer, and the
watched runs are in the notebook and replay to the same alarm."""
from __future__ import annotations

import pytest
from PySide6 import QtCore

from cycler_fixtures import channels
from acquisition.replay import replay_headless
from gui.cycler_view import CyclerView
from instruments.sim.cyclers.arbin_emulator import ArbinEmulator, ArbinServer
from instruments.sim.cyclers.maccor_emulator import MaccorEmulator, MaccorServer
from instruments.sim.cyclers.neware_emulator import NewareEmulator, NewareServer
from notebook import Notebook

SPEED, SAMPLE_S, POLL_S = 8000.0, 10.0, 0.05
HEALTHY = "sym-agc,full-agc,sym-agc,full-agc,sym-agc,full-agc,sym-agc"
CELLS = {"neware": "asym-agc," + HEALTHY,       # ch 1: the hard short, ~9.5 h into plating
         "maccor": "full-bare," + HEALTHY,       # ch 1: the soft short on the first C/3 charge
         "arbin": "full-agc," + HEALTHY}         # none shorts


@pytest.fixture
def cyclers():
    made = {"neware": (NewareEmulator, NewareServer), "maccor": (MaccorEmulator, MaccorServer),
            "arbin": (ArbinEmulator, ArbinServer)}
    servers = {}
    for seed, (name, (emulator, server)) in enumerate(made.items()):
        servers[name] = server(emulator(channels(CELLS[name], sample_interval_s=SAMPLE_S, seed=10 * seed),
                                        speed=SPEED))
    yield servers
    for server in servers.values():
        server.close()


def test_three_cyclers_watched_at_once_from_the_station(qtbot, window, db_path, cyclers):
    view: CyclerView = window.cyclers
    window.tabs.setCurrentWidget(view)
    window.resize(1280, 800)
    for name, server in cyclers.items():
        view.add_cycler(name, "127.0.0.1", server.port, policy="stop", poll_s=POLL_S)
    qtbot.waitUntil(lambda: len(view.tiles) == 24, timeout=20000)
    shorting = {("neware", 1), ("maccor", 1)}

    def closed(protocol: str, channel: int) -> bool:
        return any(f.cycler.protocol == protocol and f.info.channel == channel and f.status != "running"
                   for f in view.feeds())

    qtbot.waitUntil(lambda: all(closed(*c) for c in shorting), timeout=60000)
    view.refresh()
    feeds = {(f.cycler.protocol, f.info.channel): f for f in view.feeds()}

    # each short stopped through its own cycler's interface, channel 1 only, answered
    assert [s["channel"] for s in cyclers["neware"].emulator.stops] == [1]
    assert [s["channel"] for s in cyclers["maccor"].emulator.stops] == [1]
    assert cyclers["arbin"].emulator.stops == []
    assert feeds[("neware", 1)].status == feeds[("maccor", 1)].status == "shorted"
    assert feeds[("neware", 1)].stop_note == feeds[("maccor", 1)].stop_note == "stopped"
    # no false alarm on the 22 others, which go on running
    assert {k for k, f in feeds.items() if f.alarm is not None} == shorting
    assert all(f.running for k, f in feeds.items() if k not in shorting)

    # tiles: alarms first (Neware before Maccor, as added), then every cycler's channels in order
    order = [(t.feed.cycler.protocol, t.feed.info.channel) for t in view.ordered_tiles()]
    assert order[:2] == [("neware", 1), ("maccor", 1)]
    assert order[2:] == [(p, n) for p in ("neware", "maccor", "arbin") for n in range(1, 9) if (p, n) not in shorting]
    assert "SHORTED" in view.ordered_tiles()[0].state.text() and view.ordered_tiles()[0].stop.text() == "stopped"
    # filters
    view.set_filters(alarm_only=True)
    assert {(t.feed.cycler.protocol, t.feed.info.channel) for t in view.ordered_tiles()} == shorting
    view.set_filters(running_only=True)
    assert len(view.ordered_tiles()) == 22
    arbin = next(c.name for c in view.cyclers if c.protocol == "arbin")
    view.set_filters(cycler=arbin)
    assert [t.feed.info.channel for t in view.ordered_tiles()] == list(range(1, 9))
    assert all(t.isVisible() for t in view.ordered_tiles())
    assert sum(t.isVisible() for t in view.tiles.values()) == 8
    view.set_filters()
    assert len(view.ordered_tiles()) == 24

    # the banner latched both runs, each with the stop request and the cycler's answer
    hard, soft = feeds[("neware", 1)], feeds[("maccor", 1)]
    assert set(window.banner.latched) == {hard.run_id, soft.run_id}
    for feed in (hard, soft):
        text = window.banner.latched[feed.run_id].message
        assert text.startswith(f"{feed.cycler.name} {feed.info.label}: {feed.alarm}"), text
        assert "stop requested" in text and "the cycler answered" in text, text
    assert view.ordered_tiles()[0].latched

    # selecting a tile shows its run's plots, drawn from its samples
    qtbot.mouseClick(view.ordered_tiles()[0], QtCore.Qt.MouseButton.LeftButton)
    assert view.monitor.feed is hard.monitor
    qtbot.waitUntil(lambda: view.monitor.points_drawn > 0, timeout=5000)
    assert view.monitor.points_drawn == hard.buffer.total
    assert f"run #{hard.run_id}" in view.monitor.heading.text()

    # in the notebook as the live buffer had them; replay finds the same alarm
    emulators = {"neware": cyclers["neware"].emulator, "maccor": cyclers["maccor"].emulator}
    with Notebook(db_path, read_only=True) as nb:
        for (protocol, channel), feed in ((k, feeds[k]) for k in sorted(shorting)):
            run = nb.run(feed.run_id)
            assert run["status"] == "shorted"
            assert run["source"] == f"{protocol} 127.0.0.1 unit {feed.info.unit} ch {channel}"
            assert nb.samples(feed.run_id).size == feed.buffer.total > 0
            if protocol == "neware":     # BTS downloads every logged point; MacNet gives the readings as polled
                assert feed.buffer.total == emulators[protocol].channels[channel - 1].points
            (live,) = [e for e in nb.events(feed.run_id) if e["severity"] == "alarm"]
            assert live["kind"] == {"neware": "hard_short", "maccor": "soft_short"}[protocol]
            replayed = replay_headless(db_path, feed.run_id)
            assert replayed["events"][0]["kind"] == live["kind"]
            assert replayed["events"][0]["sample_index"] == live["sample_index"]
