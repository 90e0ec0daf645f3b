"""`main.py cyclers` against the emulated Maccor tester and Arbin CTI server: channels
listed, both shorting cells of a cycler caught and stopped through its own interface
with the printed counts equal to the stored ones, and a port of the other protocol
refused in one line with exit status 2."""
from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from cycler_fixtures import channels
from instruments.sim.cyclers.servers import serve
from main import main
from notebook import Notebook

STOP_REPLIES = {"maccor": "reset (6,5) Result 'OK'", "arbin": "STOP feedback: stopped"}


@contextmanager
def cycler(protocol: str, cells: str, speed: float = 900.0):
    server = serve(protocol, channels(cells, sample_interval_s=10.0), speed=speed)
    try:
        yield server
    finally:
        server.close()


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("protocol, first", [("maccor", "unit 1 ch 1"), ("arbin", "unit SIM-ARBIN-1 ch 1")])
def test_add_lists_the_channels(capsys, protocol, first):
    with cycler(protocol, "full-agc,sym-agc") as server:
        server.emulator.end_test(2)
        code = main(["cyclers", "--add", protocol, f"127.0.0.1:{server.port}", "--json"])
    rows = lines(capsys.readouterr().out)
    assert code == 0
    assert [(r["channel"], r["state"]) for r in rows] == [(first, "running"), (first[:-1] + "2", "finished")]
    if protocol == "arbin":
        assert [r["barcode"] for r in rows] == ["SIM-1-full-agc", "SIM-2-sym-agc"]


@pytest.mark.parametrize("protocol", ["maccor", "arbin"])
def test_watch_until_done_stops_both_shorts_through_the_interface(tmp_path, capsys, protocol):
    db = tmp_path / "nb.sqlite"
    with cycler(protocol, "full-bare,full-bare") as server:
        code = main(["cyclers", "--watch", protocol, f"127.0.0.1:{server.port}", "--db", str(db), "--until-done",
                     "--json", "--poll", "0.02", "--timeout", "2"])
        emulator = server.emulator
    out = lines(capsys.readouterr().out)
    assert code == 0
    finals = [o for o in out if o["type"] == "channel"]
    assert [(f["status"], f["alarm"], f["stop_answer"]) for f in finals] == \
        [("shorted", "soft_short", STOP_REPLIES[protocol])] * 2
    assert sorted(s["channel"] for s in emulator.stops) == [1, 2]
    with Notebook(db) as nb:
        for f in finals:
            assert f["n_samples"] == nb.run(f["run_id"])["n_samples"] == nb.samples(f["run_id"]).size > 0


@pytest.mark.parametrize("asked, served, words", [("maccor", "arbin", "MacNet's JSON port"),
                                                  ("arbin", "maccor", "Arbin's CTI port")])
def test_a_port_of_the_other_protocol_is_one_line_and_status_2(capsys, asked, served, words):
    with cycler(served, "full-agc") as server:
        code = main(["cyclers", "--add", asked, f"127.0.0.1:{server.port}", "--timeout", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"error: {asked} 127.0.0.1:{server.port}: ") and words in err
