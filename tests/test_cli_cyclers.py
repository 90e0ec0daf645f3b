"""`main.py cycler-sim` and `main.py cyclers`: the emulator served until a signal stops
it, channels listed, every channel watched headless with one JSON object per line, and
each bad input (no answer, garbled reply, another protocol, bad address) one line and
exit status 2 with nothing written."""
from __future__ import annotations

import json
import signal
import socket
import socketserver
import subprocess
import sys
import threading

from conftest import ROOT
from cycler_fixtures import neware

from instruments.cyclers.neware import NewareClient
from main import main
from notebook import Notebook


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_add_lists_the_channels_with_state_and_test(capsys):
    with neware(frozen_at=600.0) as server:
        server.emulator.end_test(2)
        code = main(["cyclers", "--add", "neware", f"127.0.0.1:{server.port}", "--json"])
    rows = lines(capsys.readouterr().out)
    assert code == 0
    assert [(r["channel"], r["state"], r["test_name"], r["barcode"]) for r in rows] == [
        ("unit 1 ch 1", "running", "test 101", "SIM-1-asym-agc"), ("unit 1 ch 2", "finished", "test 102", "SIM-2-sym-agc"),
        ("unit 1 ch 3", "running", "test 103", "SIM-3-full-bare"), ("unit 1 ch 4", "running", "test 104", "SIM-4-full-agc")]


def test_watch_until_done_catches_and_stops_both_shorts(tmp_path, capsys):
    db = tmp_path / "nb.sqlite"
    with neware("asym-agc,full-bare", speed=20000.0) as server:
        code = main(["cyclers", "--watch", "neware", f"127.0.0.1:{server.port}", "--db", str(db), "--until-done",
                     "--json", "--poll", "0.05"])
        emulator = server.emulator
    out = lines(capsys.readouterr().out)
    assert code == 0
    finals = [o for o in out if o["type"] == "channel"]
    events = [o for o in out if o["type"] == "event"]
    assert [(f["channel"], f["status"], f["alarm"]) for f in finals] == [
        ("unit 1 ch 1", "shorted", "hard_short"), ("unit 1 ch 2", "shorted", "soft_short")]
    assert sorted(s["channel"] for s in emulator.stops) == [1, 2]
    with Notebook(db) as nb:
        for f, channel in zip(finals, emulator.channels):
            # the count printed is the count stored, and every point the cycler logged
            assert f["n_samples"] == nb.run(f["run_id"])["n_samples"] == channel.points
            assert f["stop_answer"] == "stop_resp 'ok'"
    kinds = [(e["channel"], e["kind"], e["severity"]) for e in events]
    assert ("unit 1 ch 1", "cycler_stop_request", "info") in kinds and ("unit 1 ch 2", "cycler_stop_answer", "info") in kinds
    assert sum(e["severity"] == "alarm" for e in events) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _JsonRpc(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"Parse error"},"id":null}\r\n')
        self.request.recv(65536)


def refused(capsys, argv: list[str], *words: str) -> None:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    for word in words:
        assert word in err, err


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    db = tmp_path / "nb.sqlite"
    port = free_port()
    refused(capsys, ["cyclers", "--watch", "neware", f"127.0.0.1:{port}", "--db", str(db), "--timeout", "1"],
            f"127.0.0.1:{port}", "command connect", "no answer")
    with neware("sym-agc", frozen_at=60.0) as server:
        server.emulator.inject("garble", match="getdevinfo")
        refused(capsys, ["cyclers", "--watch", "neware", f"127.0.0.1:{server.port}", "--db", str(db)],
                "does not parse", "command getdevinfo")
    other = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _JsonRpc)
    other.daemon_threads = True
    threading.Thread(target=other.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        refused(capsys, ["cyclers", "--add", "neware", f"127.0.0.1:{other.server_address[1]}", "--timeout", "0.5"],
                "not a Neware BTS reply", "command connect")
    finally:
        other.shutdown()
        other.server_close()
    refused(capsys, ["cyclers", "--add", "neware", "127.0.0.1:99999"], "HOST[:PORT]")
    with Notebook(db) as nb:
        assert nb.runs() == [] and nb.builds() == []


def test_cycler_sim_serves_until_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "cycler-sim", "neware", "--cells",
                             "sym-agc,full-agc:rate-test", "--speed", "1000", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        ready = json.loads(proc.stdout.readline())
        client = NewareClient("127.0.0.1", ready["port"], timeout_s=5)
        client.connect()
        infos = client.channels()
        client.close()
        assert [(c["template"], c["protocol"]) for c in ready["channels"]] == [
            ("sym-agc", "plate-strip-0.16"), ("full-agc", "rate-test")]
        assert [i.barcode for i in infos] == ["SIM-1-sym-agc", "SIM-2-full-agc"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cycler_sim_refuses_unknown_cells():
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "cycler-sim", "neware", "--cells", "sym-agc,nope"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "unknown template 'nope'" in result.stderr
