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


def test_a_lost_connection_shows_on_the_tile_and_never_as_an_alarm(qtbot, tmp_path):
    with Notebook(tmp_path / "nb.sqlite") as nb:
        view = CyclerView(nb)
        qtbot.addWidget(view)
        raised = []
        view.alarm.connect(lambda run_id, text: raised.append(text))
        server = NewareServer(NewareEmulator(channels("sym-agc,full-agc", sample_interval_s=SAMPLE_S), speed=2000.0))
        try:
            view.add_cycler("neware", "127.0.0.1", server.port, poll_s=POLL_S, backoff_s=0.05)
            qtbot.waitUntil(lambda: len(view.tiles) == 2 and all(f.latest for f in view.feeds()), timeout=10000)
            server.emulator.down()
            qtbot.waitUntil(lambda: all(t.state.text().startswith("RECONNECTING") for t in view.tiles.values()),
                            timeout=10000)
            before = [f.buffer.total for f in view.feeds()]
            server.emulator.recover()
            qtbot.waitUntil(lambda: all(t.state.text().startswith("RUNNING") for t in view.tiles.values()),
                            timeout=10000)
            qtbot.waitUntil(lambda: all(f.buffer.total > n for f, n in zip(view.feeds(), before)), timeout=10000)
        finally:
            view.shutdown()
            server.close()
        assert raised == [] and all(f.alarm is None for f in view.feeds())
        for feed in view.feeds():
            events = nb.events(feed.run_id)
            kinds = [e["kind"] for e in events]
            assert "cycler_disconnected" in kinds and "cycler_reconnected" in kinds
            assert not [e for e in events if e["severity"] == "alarm"]
            # every point the cycler logged up to the end of the watch, each once, across the gap
            samples = nb.samples(feed.run_id)
            assert samples.size == feed.buffer.total and (samples["t"][1:] > samples["t"][:-1]).all()
            assert nb.run(feed.run_id)["status"] == "aborted"       # the watch ended, the test goes on


def test_the_simulated_neware_unit_catches_its_shorting_cell(qtbot, tmp_path):
    with Notebook(tmp_path / "nb.sqlite") as nb:
        view = CyclerView(nb)
        qtbot.addWidget(view)
        try:
            cycler = view.add_simulated_neware(speed=8000.0, poll_s=POLL_S)
            qtbot.waitUntil(lambda: len(view.tiles) == 8, timeout=10000)
            qtbot.waitUntil(lambda: any(f.stop_note == "stopped" for f in view.feeds()), timeout=30000)
            stops = list(cycler.server.emulator.stops)
        finally:
            view.shutdown()
        seen = [(f.info.barcode, f.alarm, f.stop_note) for f in view.feeds()]
        alarmed = [f for f in view.feeds() if f.alarm is not None]
        assert len(alarmed) == 1, (seen, stops)
        bare = alarmed[0]
        assert bare.info.barcode == "SIM-4-full-bare" and [s["channel"] for s in stops] == [4], (seen, stops)
        assert view.ordered_tiles()[0].feed is bare


def test_the_add_dialog_lists_channels_and_names_a_bad_address(qtbot):
    from gui.cycler_view import AddCyclerDialog
    dialog = AddCyclerDialog()
    qtbot.addWidget(dialog)
    dialog.host.setText("127.0.0.1:99999")
    dialog.list_channels()
    assert "99999" in dialog.note.text() and "HOST[:PORT]" in dialog.note.text()
    server = NewareServer(NewareEmulator(channels("sym-agc,full-bare", sample_interval_s=SAMPLE_S), speed=100.0))
    try:
        dialog.host.setText(f"127.0.0.1:{server.port}")
        dialog.list_channels()
        qtbot.waitUntil(lambda: dialog.table.rowCount() == 2, timeout=10000)
        rows = [[dialog.table.item(r, c).text() for c in (0, 1, 3)] for r in range(2)]
        assert rows == [["unit 1 ch 1", "running", "SIM-1-sym-agc"], ["unit 1 ch 2", "running", "SIM-2-full-bare"]]
    finally:
        server.close()
    # nothing listens there now: one line naming the host and the command
    qtbot.waitUntil(lambda: dialog.list_button.isEnabled(), timeout=5000)
    dialog.list_channels()
    qtbot.waitUntil(lambda: dialog.list_button.isEnabled(), timeout=15000)
    assert "127.0.0.1" in dialog.note.text() and "command" in dialog.note.text(), dialog.note.text()


def test_a_cycler_that_does_not_answer_is_named_in_one_line_and_nothing_is_stored(qtbot, tmp_path):
    server = NewareServer(NewareEmulator(channels("sym-agc", sample_interval_s=SAMPLE_S), speed=100.0))
    port = server.port
    server.close()                           # nothing listens on that port now
    with Notebook(tmp_path / "nb.sqlite") as nb:
        view = CyclerView(nb)
        qtbot.addWidget(view)
        view.add_cycler("neware", "127.0.0.1", port, poll_s=POLL_S)
        qtbot.waitUntil(lambda: not view.problem.isHidden(), timeout=15000)
        view.shutdown()
        (line,) = view.problem.text().splitlines()
        assert line.startswith(f"Not watched: neware 127.0.0.1:{port}: ") and line.endswith("(command connect)"), line
        assert view.tiles == {} and nb.runs() == []


def test_policy_alarm_only_says_the_cycler_keeps_running_and_sends_no_stop(qtbot, tmp_path):
    with Notebook(tmp_path / "nb.sqlite") as nb:
        view = CyclerView(nb)
        qtbot.addWidget(view)
        raised = []
        view.alarm.connect(lambda run_id, text: raised.append((run_id, text)))
        server = NewareServer(NewareEmulator(channels("full-bare", sample_interval_s=SAMPLE_S), speed=SPEED))
        try:
            view.add_cycler("neware", "127.0.0.1", server.port, policy="alarm", poll_s=POLL_S)
            qtbot.waitUntil(lambda: bool(raised), timeout=30000)
            view.refresh()
            (tile,) = view.tiles.values()
            assert tile.stop.text() == "KEEPS RUNNING" and tile.alarm.text().startswith("⚠ soft short")
            assert tile.feed.monitor.output == "unknown"        # the monitor says the output may be on
        finally:
            view.shutdown()
            server.close()
        (run_id, text), = raised
        assert "the cycler keeps running the channel" in text and "stop requested" not in text
        assert server.emulator.stops == [] and server.emulator.channels[0].state == "running"
        assert nb.run(run_id)["status"] == "shorted"
