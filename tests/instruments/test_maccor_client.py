"""Our MacNet client against the emulated Maccor tester over real TCP on 127.0.0.1:
the channel list, readings checked against the emulator's own log (no point twice,
none skipped when polled faster than the tester logs), the stop (Reset) arriving
through the interface, and one-line errors for a dropped, garbled, cut or slow reply
and for a port that speaks another protocol."""
from __future__ import annotations

import json
import socket
from datetime import datetime

import numpy as np
import pytest

from cycler_fixtures import channels, log_rows, poll_history
from instruments.cyclers import client_for
from instruments.cyclers.base import FINISHED, RUNNING, STOPPED, CyclerError
from instruments.cyclers.maccor import MaccorClient
from instruments.sim.cyclers.arbin_emulator import ArbinEmulator, ArbinServer
from instruments.sim.cyclers.maccor_emulator import MaccorEmulator, MaccorServer


@pytest.fixture
def tester():
    # a record every 10 s of test time at 20x: one each 0.5 s, far slower than the 20 ms polls
    emulator = MaccorEmulator(channels("full-agc,half-agc:gitt,sym-agc", sample_interval_s=10.0), speed=20.0,
                              slow_s=2.5, started_utc=datetime(2026, 12, 2, 9, 30))
    server = MaccorServer(emulator)
    client = MaccorClient("127.0.0.1", server.port, timeout_s=1.0)
    yield emulator, server, client
    client.close()
    server.close()


def one_line(exc: CyclerError, port: int, channel: str | None, command: str) -> str:
    text = str(exc)
    assert "\n" not in text
    assert text.startswith(f"maccor 127.0.0.1:{port}" + (f" channel {channel}" if channel else ""))
    assert f"(command {command})" in text
    return text


def test_channel_list_states_and_test_start(tester):
    emulator, server, client = tester
    client.connect()
    emulator.end_test(3)
    listed = client.channels()
    assert [(c.key, c.channel) for c in listed] == [("1", 1), ("2", 2), ("3", 3)]
    assert [c.state for c in listed] == [RUNNING, RUNNING, FINISHED]
    # the test is named by its start on the tester's clock: the emulator's started_utc
    assert listed[0].test_name == listed[0].test_id == "started 2026-12-02 09:30"
    assert client.states(["3", "1"]) == {"3": FINISHED, "1": RUNNING}


def test_more_than_128_channels_are_asked_in_pages_of_128():
    server = MaccorServer(MaccorEmulator(channels(",".join(["sym-agc"] * 130))))
    try:
        client = MaccorClient("127.0.0.1", server.port, timeout_s=2.0)
        client.connect()
        asked = server.emulator.requests["(4,1)"]
        assert client.states([str(n) for n in range(1, 131)]) == {str(n): RUNNING for n in range(1, 131)}
        assert server.emulator.requests["(4,1)"] - asked == 2       # 128 + 2: the tester refuses Len > 128
        client.close()
    finally:
        server.close()


def test_history_matches_the_testers_log_without_gap_or_duplicate(tester):
    emulator, server, client = tester
    got = poll_history(client, "2", seconds=2.6)
    assert got.size >= 3
    assert np.array_equal(got["point"], np.arange(1, got.size + 1))       # dense, each once
    logged = log_rows(emulator.channels[1], got)
    first = int(logged["point"][0])
    assert np.array_equal(logged["point"], np.arange(first, first + got.size))  # no logged point skipped
    assert client.missed == 0
    # the GITT cell discharges first: MacNet sends |I| with RF1 = 2, the client signs it
    assert np.all(logged["current_a"] < 0)
    for name in ("time_s", "current_a", "voltage_v", "step", "cycle", "discharge_ah"):
        assert np.array_equal(got[name], logged[name]), name
    assert np.all(got["charge_ah"] == 0) and np.all(np.isnan(got["temperature_c"]))
    snap = client.latest("2")
    assert snap.points == emulator.channels[1].points
    assert snap.voltage_v == emulator.channels[1].records(snap.points, 1)["voltage_v"][0]


def test_a_repeated_reading_is_no_new_point(tester):
    emulator, server, client = tester
    emulator.speed = 1e-6          # the tester's clock all but stops: the readings do not change
    got = poll_history(client, "1", seconds=0.3)
    assert got.size <= 1


def test_stop_resets_the_channel_through_macnet(tester):
    emulator, server, client = tester
    poll_history(client, "1", seconds=0.6)
    answer = client.stop("1")
    assert answer.accepted and "(6,5)" in answer.reply and "'OK'" in answer.reply
    assert [s["channel"] for s in emulator.stops] == [1]
    assert client.states(["1", "2"]) == {"1": STOPPED, "2": RUNNING}
    assert emulator.channels[0].state == STOPPED


def test_a_cycler_that_is_down_and_back(tester):
    emulator, server, client = tester
    emulator.down()
    with pytest.raises(CyclerError) as err:
        client.connect()
    assert "closed the connection without replying" in one_line(err.value, server.port, None, "(1,2)")
    emulator.recover()
    client.connect()
    assert [c.channel for c in client.channels()] == [1, 2, 3]


def test_a_channel_the_tester_does_not_have_is_refused_before_sending(tester):
    emulator, server, client = tester
    client.connect()
    sent = client.requests
    with pytest.raises(CyclerError) as err:
        client.stop("4")
    assert "channels 1 to 3" in one_line(err.value, server.port, "4", "(6,5)")
    assert client.requests == sent


@pytest.mark.parametrize("fault, words", [("drop", "closed the connection without replying"),
                                          ("partial", "closed the connection part-way through its reply"),
                                          ("garble", "does not parse as JSON"),
                                          ("slow", "no reply within 1 s")])
def test_a_communication_fault_names_host_channel_and_command_and_the_next_poll_resumes(tester, fault, words):
    emulator, server, client = tester
    before = poll_history(client, "1", seconds=1.1)
    emulator.inject(fault, match="(4,7)")
    with pytest.raises(CyclerError) as err:
        list(client.history("1", int(before["point"][-1])))
    assert words in one_line(err.value, server.port, "1", "(4,7)")
    # the next request reconnects; points go on after the last one held, none twice
    after = poll_history(client, "1", seconds=1.1, since=int(before["point"][-1]))
    both = np.concatenate([before, after])
    assert np.array_equal(both["point"], np.arange(1, both.size + 1))
    assert np.all(np.diff(both["time_s"]) > 0)


def test_the_tester_refuses_an_unknown_function_with_a_jsonrpc_error(tester):
    emulator, server, client = tester
    with socket.create_connection(("127.0.0.1", server.port), timeout=1) as s:
        s.sendall(json.dumps({"jsonrpc": "2.0", "method": "MacNet", "params": {"FClass": 9, "FNum": 1},
                              "id": 7}).encode())
        reply = json.loads(s.recv(4096))
        assert reply["error"]["message"] == "Invalid FClass" and reply["id"] == 7
        s.sendall(json.dumps({"jsonrpc": "2.0", "method": "MacNet", "params": {"FClass": 4, "FNum": 1, "Chan": 0,
                                                                             "Len": 129}, "id": 8}).encode())
        assert json.loads(s.recv(4096))["error"]["message"] == "Illegal value"
        s.sendall(b"\xdd\xdd not json at all")
        assert json.loads(s.recv(4096))["error"]["message"] == "Parse error"


def test_a_host_that_does_not_answer():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # bound, not listening: the connection is refused
        client = client_for("maccor", "127.0.0.1", port, timeout_s=0.5)
        with pytest.raises(CyclerError) as err:
            client.connect()
    assert "no answer" in one_line(err.value, port, None, "connect")


def test_an_arbin_port_is_not_taken_for_macnet():
    server = ArbinServer(ArbinEmulator(channels("full-agc")))
    try:
        with pytest.raises(CyclerError) as err:
            MaccorClient("127.0.0.1", server.port, timeout_s=0.5).connect()
        assert "MacNet's JSON port" in one_line(err.value, server.port, None, "(1,2)")
    finally:
        server.close()


def test_a_neware_port_is_not_taken_for_macnet():
    neware = pytest.importorskip("instruments.sim.cyclers.neware_emulator")
    server = neware.NewareServer(neware.NewareEmulator(channels("full-agc")))
    try:
        with pytest.raises(CyclerError) as err:
            MaccorClient("127.0.0.1", server.port, timeout_s=0.5).connect()
        text = one_line(err.value, server.port, None, "(1,2)")
        assert "no reply within 0.5 s" in text and "MacNet's JSON port" in text
    finally:
        server.close()
