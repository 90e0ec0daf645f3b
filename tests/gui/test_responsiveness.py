"""The GUI never freezes (issue 10): whatever goes wrong on the bench of a running
channel (an instrument that times out, drops the connection, garbles or truncates a
reply, refuses a command or goes away; a fixture that leaks; a clock that jumps), the
engine thread deals with it while the event loop keeps turning (no stall of 200 ms or
more), the run recovers or ends safe as designed, and every sample taken is stored."""
from __future__ import annotations

import time

import pytest
from PySide6 import QtCore

from gui.main_window import MainWindow
from notebook import Notebook


def _smu(fault, **kwargs):
    return lambda session: session.engine.bench.servers["smu"].inject(fault, **kwargs)


def _leak(session):
    session.engine.bench.emulators["pressure"].fixture.leak_mpa_s = 0.05


def _jump(session):
    session.engine.clock.jump(1800.0)


def _smu_down(session):
    server = session.engine.bench.servers["smu"]
    server.inject("down")
    server.inject("disconnect")      # the open session drops too: the next exchange fails


# fault -> (how to cause it, the event kind it leaves, the run's state afterwards)
FAULTS = {
    "timeout": (_smu("timeout", count=2), "instrument_retry", "running"),
    "disconnect": (_smu("disconnect"), "instrument_retry", "running"),
    "garbage": (_smu("garbage"), "instrument_retry", "running"),
    "truncated reply": (_smu("truncate", match=":TRAC:DATA?"), "instrument_retry", "running"),
    "refused command": (_smu("error", match=":SOUR:CURR"), "instrument_fault", "failed"),
    "instrument down": (_smu_down, "instrument_fault", "failed"),
    "pressure leak": (_leak, "pressure_drift", "aborted"),
    "clock jump": (_jump, None, "running"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_event_loop_keeps_turning_through_bench_faults(qtbot, db_path, fault):
    cause, kind, state = FAULTS[fault]
    nb = Notebook(db_path)
    window = MainWindow(nb)
    qtbot.addWidget(window)
    window.show()
    try:
        window.builder.select_template("sym-agc")
        window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("3600"))
        assert window.start_run()
        qtbot.waitUntil(lambda: window.monitor.points_drawn > 100, timeout=20000)
        engine = window.session.engine
        ticks = []
        timer = QtCore.QTimer(interval=10)
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start()
        before = engine.n_samples
        cause(window.session)
        if kind is None:      # nothing to report: the run just goes on
            qtbot.waitUntil(lambda: engine.n_samples > before + 200, timeout=20000)
        else:
            qtbot.waitUntil(lambda: any(e["kind"] == kind for e in engine.events), timeout=30000)
        qtbot.waitUntil(lambda: engine.status == state, timeout=10000)
        qtbot.wait(1500)       # the monitor and the overview take it in
        timer.stop()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        assert sum(gaps) > 1.0 and max(gaps) < 0.2, f"longest stall {max(gaps) * 1e3:.0f} ms"   # over > 1 s
        if state != "running":
            assert window.banner.isVisible() and window.overview.tiles[1].status.state == state
        window.manager.stop(1)
        qtbot.waitUntil(lambda: not engine.running, timeout=20000)
        assert nb.samples(engine.run_id).size == engine.n_samples >= before   # nothing taken is lost
        if state == "running":
            assert engine.n_samples > before                                   # ... and the run went on
    finally:
        window.shutdown()
        nb.close()
