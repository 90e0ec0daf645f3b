"""The Neware BTS client against the emulated BTS server over real TCP: channel listing
(with the wrong-subdevid quirk), history paging checked against the emulator's own log
and counters, stop through the interface, and every kind of bad reply as one clear line."""
from __future__ import annotations

import socket
import socketserver
import threading

import numpy as np
import pytest
from cycler_fixtures import neware

from instruments.cyclers import CyclerError, client_for, parse_host
from instruments.cyclers.neware import PAGE, NewareClient


def connected(server, timeout_s: float = 5.0) -> NewareClient:
    client = NewareClient("127.0.0.1", server.port, timeout_s=timeout_s)
    client.connect()
    return client


def test_channels_are_matched_by_position_despite_the_wrong_subdevid():
    # 10 channels: 9 and 10 sit on subdevice 2, yet every getchlstatus answer says subdevid 1
    cells = ",".join(["sym-agc"] * 8 + ["full-agc", "full-agc"])
    with neware(cells, frozen_at=3600.0) as server:
        server.emulator.end_test(10)
        server.emulator.end_test(2, how="stopped")
        client = connected(server)
        infos = client.channels()
        client.close()
    assert [(i.unit, i.channel) for i in infos] == [("1", n) for n in range(1, 9)] + [("1.2", 1), ("1.2", 2)]
    states = {i.label: i.state for i in infos}
    assert states["unit 1.2 ch 2"] == "finished"       # matched by ids, this would be read as unit 1 ch 2
    assert states["unit 1 ch 2"] == "stopped"
    assert states["unit 1.2 ch 1"] == "running"
    assert infos[8].barcode == "SIM-9-full-agc" and infos[8].test_name == "test 109"


def test_history_pages_equal_the_emulators_log_and_its_capacity_counter():
    with neware("full-agc", interval=10.0, frozen_at=4 * 3600.0) as server:
        client = connected(server)
        key = client.channels()[0].key
        pages = list(client.history(key))
        log = server.emulator.channels[0].records()
        later = np.concatenate(list(client.history(key, since_point=1000)))
        client.close()
    got = np.concatenate(pages)
    assert [p.size for p in pages] == [PAGE, 440]                # paged as BTS clients page
    assert got.size == log.size == 4 * 360                      # 4 h at 10 s, from point 1
    for name in log.dtype.names:                                # every field, bit for bit
        np.testing.assert_array_equal(got[name], log[name], err_msg=name)
    assert later["point"][0] == 1001 and later.size == 440
    # The charge counter against a hand calculation: the first step is a C/3 charge, so
    # after k points it holds I x 10 s x k (Ah); the current it logs is the protocol's.
    charge = got[got["step"] == 1]
    i = charge["current_a"][0]
    np.testing.assert_allclose(charge["charge_ah"], i * 10.0 * np.arange(1, charge.size + 1) / 3600.0, rtol=1e-12)
    assert np.all(charge["discharge_ah"] == 0)
    assert np.all(np.diff(got["time_s"]) > 0)


def test_latest_reports_the_channel_now():
    with neware("sym-agc", frozen_at=1800.0) as server:
        client = connected(server)
        key = client.channels()[0].key
        snap = client.latest(key)
        client.close()
        ch = server.emulator.channels[0]
    assert snap.state == "running" and snap.step == 1 and snap.cycle == 1
    assert snap.time_s == 1800.0 and snap.current_a == pytest.approx(0.16e-3 * ch.stack.area_cm2)
    assert snap.voltage_v == ch.records()["voltage_v"][-1]


def test_stop_arrives_through_the_interface_and_halts_the_channel():
    with neware("sym-agc,sym-agc", frozen_at=600.0) as server:
        client = connected(server)
        infos = client.channels()
        answer = client.stop(infos[1].key)
        again = client.stop(infos[1].key)
        server.emulator.freeze(1200.0)
        states = client.states([i.key for i in infos])
        client.close()
        emulator = server.emulator
    assert answer.accepted and "ok" in answer.reply
    assert not again.accepted                                   # a stopped channel is answered false
    assert [s["channel"] for s in emulator.stops] == [2, 2] and emulator.stops[0]["t_s"] == 600.0
    assert states == {infos[0].key: "running", infos[1].key: "stopped"}
    assert emulator.channels[1].points == 60 and emulator.channels[0].points == 120   # logging ended at the stop


def test_a_channel_that_does_not_exist_is_refused():
    with neware("sym-agc", frozen_at=60.0) as server:
        client = connected(server)
        client.channels()
        answer = client.stop("27-1-1-8@127.0.0.1")
        client.close()
    assert not answer.accepted and server.emulator.stops == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_host_that_does_not_answer_names_host_and_command():
    client = NewareClient("127.0.0.1", free_port(), timeout_s=1.0)
    with pytest.raises(CyclerError) as caught:
        client.connect()
    text = str(caught.value)
    assert "127.0.0.1" in text and "command connect" in text and "no answer" in text and "\n" not in text


@pytest.mark.parametrize("fault, words", [
    ("garble", "does not parse"),
    ("partial", "closed the connection part-way"),
    ("drop", "closed the connection"),
    ("slow", "no reply within 0.3 s"),
])
def test_a_bad_reply_is_one_line_naming_the_command(fault, words):
    with neware("sym-agc", frozen_at=60.0) as server:
        server.emulator.slow_s = 1.0
        client = connected(server, timeout_s=0.3)
        server.emulator.inject(fault, match="getdevinfo")
        with pytest.raises(CyclerError) as caught:
            client.channels()
        assert not client.connected                  # a half-read reply is never taken for the next one's
        assert len(client.channels()) == 1           # the next request reconnects and is answered
        client.close()
    text = str(caught.value)
    assert words in text and "(command getdevinfo)" in text and "127.0.0.1" in text and "\n" not in text


class _JsonRpc(socketserver.BaseRequestHandler):
    """A cycler of another protocol on the port: answers anything with a JSON-RPC error line."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}\r\n')
        self.request.recv(65536)


def test_a_cycler_of_another_protocol_is_named_as_such():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _JsonRpc)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        client = client_for("neware", "127.0.0.1", server.server_address[1], timeout_s=0.5)
        with pytest.raises(CyclerError) as caught:
            client.connect()
    finally:
        server.shutdown()
        server.server_close()
    text = str(caught.value)
    assert "not a Neware BTS reply" in text and "jsonrpc" in text and "(command connect)" in text


def test_host_and_port_parsing():
    assert parse_host("10.0.0.5", "neware") == ("10.0.0.5", 502)
    assert parse_host("10.0.0.5:5020", "neware") == ("10.0.0.5", 5020)
    for bad in ("10.0.0.5:", "10.0.0.5:99999", ":502", "host:x"):
        with pytest.raises(ValueError, match="HOST"):
            parse_host(bad, "neware")
    with pytest.raises(ValueError, match="unknown cycler protocol"):
        parse_host("h", "biologic")


def test_a_bad_reply_about_one_channel_names_it():
    with neware("sym-agc,sym-agc", frozen_at=600.0) as server:
        client = connected(server)
        key = client.channels()[1].key
        server.emulator.inject("garble", match="download")
        with pytest.raises(CyclerError) as caught:
            list(client.history(key))
        client.close()
    text = str(caught.value)
    assert text.startswith("neware 127.0.0.1:") and "channel unit 1 ch 2:" in text and "(command download)" in text
