"""Our Arbin CTI client against the emulated CTI server over real TCP on 127.0.0.1:
the binary framing checked byte by byte against the document's sizes, login, the
channel list, readings checked against the emulator's own log (no point twice, none
skipped when polled faster than the channel logs), the stop arriving through the
interface, and one-line errors for a dropped, garbled, cut or slow feedback, a refused
login, and a port that speaks another protocol."""
from __future__ import annotations

import socket
import struct

import numpy as np
import pytest

from cycler_fixtures import channels, log_rows, poll_history
from instruments.cyclers import arbin
from instruments.cyclers.arbin import ArbinClient, step_and_cycle
from instruments.cyclers.base import FINISHED, RUNNING, STOPPED, CyclerError
from instruments.sim.cyclers.arbin_emulator import ArbinEmulator, ArbinServer
from instruments.sim.cyclers.maccor_emulator import MaccorEmulator, MaccorServer


@pytest.fixture
def cti():
    # a point every 10 s of test time at 20x: one each 0.5 s, far slower than the 20 ms polls
    emulator = ArbinEmulator(channels("full-agc,half-agc:gitt,sym-agc", sample_interval_s=10.0), speed=20.0,
                             slow_s=2.5, temperature_c=24.5)
    server = ArbinServer(emulator)
    client = ArbinClient("127.0.0.1", server.port, timeout_s=1.0)
    yield emulator, server, client
    client.close()
    server.close()


def one_line(exc: CyclerError, port: int, channel: str | None, command: str) -> str:
    text = str(exc)
    assert "\n" not in text
    assert text.startswith(f"arbin 127.0.0.1:{port}" + (f" channel {channel}" if channel else ""))
    assert f"(command {command})" in text
    return text


def test_message_sizes_and_lengths_follow_the_protocol_document():
    # ArbinCTI Protocol v1.1: the login request is 86 bytes with dwLen 74; a request's
    # dwLen is its length less 12, a feedback's its whole length (1779 for one channel).
    login = arbin.request(arbin.LOGIN, b"a" * 64)
    assert len(login) == 86 and struct.unpack_from("<I", login, 8)[0] == 74
    assert login[:8] == b"\xdd" * 7 + b"\x11"
    assert struct.unpack_from("<H", login, 84)[0] == sum(login[:84]) & 0xFFFF
    assert len(arbin.request(arbin.STOP, bytes(106))) == 128
    info = arbin.feedback(arbin.CHANNEL_INFO_FEEDBACK, bytes(4 + arbin.CHANNEL.size))
    assert len(info) == 1779 and struct.unpack_from("<I", info, 8)[0] == 1779
    # the published example's status sits at byte 28 and the voltage at byte 1701
    assert 20 + 4 + arbin.CHANNEL.size - struct.calcsize("<dd12f14H") + 16 == 1701


def test_step_and_cycle_text():
    assert step_and_cycle("[1] 1: Step_A, Rest") == (1, 1)
    assert step_and_cycle("[12] 3: Step_C, Charge") == (3, 12)
    assert step_and_cycle("N/A") == (-1, -1)


def test_login_and_channel_list(cti):
    emulator, server, client = cti
    client.connect()
    assert client.channel_count == 3 and client.serial == emulator.serial and client.can_stop
    emulator.end_test(3)
    listed = client.channels()
    assert [(c.key, c.channel) for c in listed] == [("1", 1), ("2", 2), ("3", 3)]
    assert [c.state for c in listed] == [RUNNING, RUNNING, FINISHED]
    assert [c.barcode for c in listed] == [ch.barcode for ch in emulator.channels]
    assert listed[1].test_name == listed[1].test_id == "gitt-102"
    assert client.states(["3", "1"]) == {"3": FINISHED, "1": RUNNING}


def test_history_matches_the_channels_log_without_gap_or_duplicate(cti):
    emulator, server, client = cti
    got = poll_history(client, "2", seconds=2.6)
    assert got.size >= 3
    assert np.array_equal(got["point"], np.arange(1, got.size + 1))
    logged = log_rows(emulator.channels[1], got)
    first = int(logged["point"][0])
    assert np.array_equal(logged["point"], np.arange(first, first + got.size))
    # CTI carries readings as f32: equal to the log to float32 precision
    for name in ("current_a", "voltage_v", "discharge_ah"):
        assert np.array_equal(got[name], logged[name].astype(np.float32).astype(float)), name
    assert np.array_equal(got["time_s"], logged["time_s"])          # f64 on the wire
    assert np.all(got["current_a"] < 0)                              # GITT discharges first
    assert np.array_equal(got["step"], logged["step"]) and np.array_equal(got["cycle"], logged["cycle"])
    assert np.all(got["temperature_c"] == 24.5)                      # the channel's aux temperature


def test_states_and_history_of_a_round_cost_one_request_per_channel(cti):
    emulator, server, client = cti
    client.connect()
    poll_history(client, "1", seconds=0.6)
    sent = client.requests
    client.states(["1", "2"])
    list(client.history("1", 10**6))
    list(client.history("2", 10**6))
    assert client.requests - sent == 2


def test_a_reading_flagged_comm_failure_is_not_taken(cti):
    emulator, server, client = cti
    before = poll_history(client, "1", seconds=0.6)
    emulator.comm_failures.add(1)
    assert poll_history(client, "1", seconds=1.1, since=int(before["point"][-1])).size == 0
    emulator.comm_failures.clear()
    after = poll_history(client, "1", seconds=0.6, since=int(before["point"][-1]))
    assert after.size and int(after["point"][0]) == int(before["point"][-1]) + 1


def test_stop_arrives_through_cti(cti):
    emulator, server, client = cti
    poll_history(client, "1", seconds=0.6)
    answer = client.stop("1")
    assert answer.accepted and answer.reply == "STOP feedback: stopped"
    assert [s["channel"] for s in emulator.stops] == [1]
    assert client.states(["1", "2"]) == {"1": STOPPED, "2": RUNNING}


def test_a_user_without_control_rights_cannot_stop(cti):
    emulator, server, client = cti
    emulator.allow_control = False
    client.connect()
    assert client.can_stop is False


def test_a_refused_login_is_one_line(cti):
    emulator, server, _ = cti
    client = ArbinClient("127.0.0.1", server.port, timeout_s=1.0, user="admin", password="wrong")
    with pytest.raises(CyclerError) as err:
        client.connect()
    assert "refused user 'admin'" in one_line(err.value, server.port, None, "LOGIN")


@pytest.mark.parametrize("fault, words", [("drop", "closed the connection without replying"),
                                          ("partial", "closed the connection part-way through its reply"),
                                          ("garble", "checksum does not match"),
                                          ("slow", "no reply within 1 s")])
def test_a_communication_fault_names_host_channel_and_command_and_the_next_poll_resumes(cti, fault, words):
    emulator, server, client = cti
    before = poll_history(client, "1", seconds=1.1)
    emulator.inject(fault, match="GET_CHANNELS_INFO")
    with pytest.raises(CyclerError) as err:
        list(client.history("1", int(before["point"][-1])))
    assert words in one_line(err.value, server.port, "1", "GET_CHANNELS_INFO")
    after = poll_history(client, "1", seconds=1.1, since=int(before["point"][-1]))
    both = np.concatenate([before, after])
    assert np.array_equal(both["point"], np.arange(1, both.size + 1))
    assert np.all(np.diff(both["time_s"]) > 0)


def test_a_cycler_that_is_down_and_back(cti):
    emulator, server, client = cti
    emulator.down()
    with pytest.raises(CyclerError) as err:
        client.connect()
    assert "closed the connection without replying" in one_line(err.value, server.port, None, "LOGIN")
    emulator.recover()
    client.connect()
    assert [c.channel for c in client.channels()] == [1, 2, 3]


def test_a_channel_the_cycler_does_not_have(cti):
    emulator, server, client = cti
    client.connect()
    with pytest.raises(CyclerError) as err:
        client.stop("9")
    assert "channels 1 to 3" in one_line(err.value, server.port, "9", "STOP")


def test_the_emulator_closes_on_a_message_without_the_cti_header(cti):
    emulator, server, client = cti
    with socket.create_connection(("127.0.0.1", server.port), timeout=1) as s:
        s.sendall(b"<not cti>" * 4)
        assert s.recv(100) == b""


def test_a_maccor_port_is_not_taken_for_cti():
    server = MaccorServer(MaccorEmulator(channels("full-agc")))
    try:
        with pytest.raises(CyclerError) as err:
            ArbinClient("127.0.0.1", server.port, timeout_s=0.5).connect()
        text = one_line(err.value, server.port, None, "LOGIN")
        assert "is not an Arbin CTI feedback" in text and "Arbin's CTI port" in text
    finally:
        server.close()


def test_a_neware_port_is_not_taken_for_cti():
    neware = pytest.importorskip("instruments.sim.cyclers.neware_emulator")
    server = neware.NewareServer(neware.NewareEmulator(channels("full-agc")))
    try:
        with pytest.raises(CyclerError) as err:
            ArbinClient("127.0.0.1", server.port, timeout_s=0.5).connect()
        assert "Arbin's CTI port" in one_line(err.value, server.port, None, "LOGIN")
    finally:
        server.close()
