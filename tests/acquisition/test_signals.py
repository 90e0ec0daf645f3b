"""Ctrl-C (SIGINT) and SIGTERM on a headless `main.py run`, as an operator or a service
manager sends them: the run ends `aborted` with the signal as its reason, the source is
switched off, the terminal gets one line and no traceback, and the exit status is the
shell's 128 + signal (130, 143). Issue 19: the run used to be recorded `completed`,
with a KeyboardInterrupt traceback, and once with the source left on.

Two benches: the simulated one, run inside the CLI's process; and an emulated Keithley
2450 served from this test's process and opened by the CLI as hardware (`--bench hw`),
so that the instrument's own output state is seen here, independently of the engine."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import cell
from conftest import ROOT
from instruments.clock import WallClock
from instruments.sim.cells import sim_cell_for
from instruments.sim.keithley2450_emulator import Keithley2450Emulator
from instruments.sim.scpi_server import ScpiServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals; Windows gets SIGBREAK, untested here")

EXPECTED = {signal.SIGINT: ("stopped by SIGINT (Ctrl-C)", 130), signal.SIGTERM: ("stopped by SIGTERM", 143)}


def start_cli(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "run", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_runs(db) -> list[tuple]:
    """(status, message, n_samples) of every run, read-only, [] while the notebook is not there yet."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT status, message, n_samples FROM runs ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []       # being created


def wait_for(condition, timeout_s: float, what: str, proc: subprocess.Popen):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {what}: rc {proc.returncode}, {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    proc.communicate(timeout=10)
    pytest.fail(f"no {what} within {timeout_s} s")


def stop_with(proc: subprocess.Popen, signum: int) -> tuple[int, str, str]:
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        pytest.fail(f"the run did not end within 60 s of {signal.Signals(signum).name}")
    return proc.returncode, out, err


def check_terminal(rc: int, out: str, err: str, signum: int) -> None:
    reason, code = EXPECTED[signum]
    assert rc == code
    assert "Traceback" not in err and "Traceback" not in out
    assert err == ""
    (line,) = out.splitlines()             # one line, naming the status and the reason
    assert line.startswith("run 1: aborted after ") and line.endswith(f": {reason}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_aborts_a_simulated_run_with_its_reason(tmp_path, signum):
    db = tmp_path / "n.sqlite"
    proc = start_cli("sym-agc", "plate-strip-0.16", "--speed", "36000", "--db", db)
    wait_for(lambda: (runs := read_runs(db)) and runs[0][2] > 0, 60, "samples in the notebook", proc)
    rc, out, err = stop_with(proc, signum)
    check_terminal(rc, out, err, signum)
    ((status, message, n_samples),) = read_runs(db)
    assert (status, message) == ("aborted", EXPECTED[signum][0])
    assert 0 < n_samples < 50 * 2 * 3600        # part of the run, all of it stored
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        stored = sum(n for (n,) in conn.execute("SELECT n FROM sample_chunks"))
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events")]
    assert stored == n_samples
    assert kinds == []          # no safe-off retry or alarm: the first switch-off read back off


@pytest.fixture
def served_smu():
    """An emulated 2450 on a simulated Li | Li cell in real time, served on loopback."""
    emulator = Keithley2450Emulator(sim_cell_for(cell.from_template("sym-agc"), 0), WallClock())
    server = ScpiServer(emulator)
    yield emulator, server
    server.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_leaves_the_instrument_output_off(tmp_path, served_smu, signum):
    emulator, server = served_smu
    assignment = tmp_path / "instruments.json"
    assignment.write_text(json.dumps({"smu": {"resource": server.resource_name, "driver": "Keithley2450"}}))
    protocol = tmp_path / "plate.json"
    protocol.write_text(json.dumps({"name": "plate", "voltage_limit_v": 1.0, "program": [
        {"kind": "cc", "label": "plate", "current": 0.16, "unit": "mA/cm2", "duration_s": 600,
         "sample_interval_s": 0.02}]}))
    db = tmp_path / "n.sqlite"
    proc = start_cli("sym-agc", protocol, "--bench", "hw", "--instruments", assignment, "--db", db)
    wait_for(lambda: emulator.output_on and (runs := read_runs(db)) and runs[0][2] > 0, 60,
             "current flowing and samples stored", proc)
    assert emulator.source_current == pytest.approx(0.16e-3)
    rc, out, err = stop_with(proc, signum)
    check_terminal(rc, out, err, signum)
    assert not emulator.output_on and emulator.source_current == 0.0 and emulator.output_mode == "HIMP"
    assert read_runs(db)[0][:2] == ("aborted", EXPECTED[signum][0])


def test_the_handlers_stop_instead_of_interrupting_and_are_put_back():
    import os
    from acquisition.interrupts import stop_on_signals
    before = signal.getsignal(signal.SIGINT)
    asked = []
    with stop_on_signals(asked.append) as requests:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)      # a second signal repeats the stop; the first one's reason is kept
        deadline = time.monotonic() + 5
        while len(asked) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)                      # handlers run in the main thread between bytecodes
    assert asked == ["stopped by SIGTERM", "stopped by SIGTERM"]
    assert requests.exit_code == 143
    assert signal.getsignal(signal.SIGINT) is before
