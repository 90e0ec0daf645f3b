"""The GUI never freezes (issue 10): whatever goes wrong on the bench of a running
channel (an instrument that times out, drops the connection, garbles or truncates a
reply, refuses a command or goes away; a fixture that leaks; a clock that jumps), the
engine thread deals with it while the event loop keeps turning, the run recovers or
ends safe as designed, and every sample taken is stored.

What makes a GUI freeze here is instrument I/O on its thread: a timed-out exchange blocks
for the 5 s timeout, times its retries. So the test checks that (1) no instrument
exchange runs on the GUI thread while the fault is dealt with, which no machine load can
change, and (2) the event loop never stops for STALL_LIMIT_S, far below any such block
and far above what a loaded machine's scheduler costs (a 200 ms limit on wall-clock time
failed in 2 of 4 runs under load). The 200 ms goal itself is a benchmark figure
(gui/tools/bench_stalls.py, `make bench`), measured against an idle window of the same run."""
from __future__ import annotations

import threading

import pytest

from gui.tools.bench_stalls import FAULTS, Ticks
from gui.main_window import MainWindow
from instruments.connection import Connection
from notebook import Notebook

STALL_LIMIT_S = 1.0


@pytest.fixture
def exchanges_on_the_gui_thread(monkeypatch):
    """Commands sent to an instrument from the GUI (main) thread, once `watch` is set."""
    seen, watch = [], threading.Event()
    exchange = Connection._exchange

    def spied(self, command, action):
        if watch.is_set() and threading.current_thread() is threading.main_thread():
            seen.append(f"{self.instrument}: {command}")
        return exchange(self, command, action)

    monkeypatch.setattr(Connection, "_exchange", spied)
    return seen, watch


@pytest.mark.parametrize("fault", list(FAULTS))
def test_the_event_loop_keeps_turning_through_bench_faults(qtbot, db_path, fault, exchanges_on_the_gui_thread):
    cause, kind, state = FAULTS[fault]
    on_gui, watch = exchanges_on_the_gui_thread
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
        with Ticks() as ticks:
            watch.set()
            before = engine.n_samples
            cause(window.session)
            if kind is None:      # nothing to report: the run just goes on
                qtbot.waitUntil(lambda: engine.n_samples > before + 200, timeout=20000)
            else:
                qtbot.waitUntil(lambda: any(e["kind"] == kind for e in engine.events), timeout=30000)
            # a source that cannot be reached is tried for safe-off (timeouts, retries) before the run fails
            # (three safe-off attempts of three 5 s tries each after the fault's own: about 55 s here)
            qtbot.waitUntil(lambda: engine.status == state, timeout=90000)
            qtbot.wait(1500)       # the monitor and the overview take it in
            watch.clear()
        assert on_gui == [], "instrument I/O on the GUI thread"
        assert len(ticks.times) > 10 and ticks.times[-1] - ticks.times[0] > 1.0
        assert ticks.longest_gap() < STALL_LIMIT_S, f"longest stall {ticks.longest_gap() * 1e3:.0f} ms"
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


def test_the_spy_sees_instrument_io_on_the_gui_thread(qtbot, db_path, exchanges_on_the_gui_thread):
    """The check above can fail: a query made from the GUI thread is caught."""
    on_gui, watch = exchanges_on_the_gui_thread
    nb = Notebook(db_path)
    window = MainWindow(nb)
    qtbot.addWidget(window)
    try:
        window.builder.select_template("sym-agc")
        window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("3600"))
        assert window.start_run()
        watch.set()
        window.session.engine.bench.pressure.read()       # what a careless GUI slot might do
        assert on_gui and on_gui[0].endswith(": A")
    finally:
        window.shutdown()
        nb.close()
