"""The GUI never freezes (issue 10): while a run's instrument times out and is
reconnected on the engine thread, the event loop keeps turning (stall < 200 ms)."""
from __future__ import annotations

import time

from PySide6 import QtCore

from gui.main_window import MainWindow
from notebook import Notebook


def test_the_event_loop_keeps_turning_through_instrument_timeouts(qtbot, db_path):
    nb = Notebook(db_path)
    window = MainWindow(nb)
    qtbot.addWidget(window)
    window.show()
    try:
        window.builder.select_template("sym-agc")
        window.run_panel.speed.setCurrentIndex(window.run_panel.speed.findData("3600"))
        assert window.start_run()
        qtbot.waitUntil(lambda: window.monitor.points_drawn > 100, timeout=20000)
        server = window.session.engine.bench.servers["smu"]
        server.inject("timeout", count=2)            # the SMU stays silent twice: ~10 s of retries
        ticks = []
        timer = QtCore.QTimer(interval=10)
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start()
        qtbot.waitUntil(lambda: any(e["kind"] == "instrument_retry" for e in window.session.engine.events), timeout=20000)
        qtbot.wait(1000)
        timer.stop()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        assert len(gaps) > 50 and max(gaps) < 0.2
    finally:
        window.shutdown()
        nb.close()
