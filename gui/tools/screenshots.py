"""Regenerates the screenshots in docs/: `python -m gui.tools.screenshots docs`.

Runs the station offscreen: the builder wizard with a three-electrode full cell and
its stack picture (builder-wizard), the same cell with a set-point above the fixture
limit (builder-problem); then, on the simulated bench, two channels at once, the bare
symmetric cell until its short trips the alarm (monitor), then the analysis view of that
run (station-analysis);
then headless runs of the paper's comparisons, shown in the analysis view with the other
cell overlaid (analysis-*)."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6 import QtCore, QtWidgets  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

import cell  # noqa: E402
from acquisition.protocol import preset  # noqa: E402
from acquisition.session import prepare_run  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from notebook import Notebook  # noqa: E402


def wait_for(app, condition, timeout_s: float = 60.0) -> None:
    timer = QtCore.QElapsedTimer()
    timer.start()
    while not condition():
        if timer.elapsed() > timeout_s * 1000:
            raise TimeoutError("the station did not reach the state to capture")
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)


def capture_builder(app, window, out: Path) -> None:
    builder = window.builder
    builder.select_template("full-agc-3e")
    table = builder.layers.model
    for layer, lot in enumerate(["Al-2024-22", "NMC-SC-07", "LP-118", "", "AgC-S3", "Li-0412"]):
        if lot:
            table.setData(table.index(table.row_of(layer), 4), lot)
    builder.cell_name.setText("CW-031")
    builder.operator.setText("CW")
    builder.go_to_step(1)
    builder.layers.select_layer(2)
    app.processEvents()
    window.grab().save(str(out / "builder-wizard.png"))
    builder.go_to_step(2)
    builder.area.setValue(0.785)
    builder.pressure.setValue(30.0)
    app.processEvents()
    window.grab().save(str(out / "builder-problem.png"))


def capture_monitor(app, window, out: Path) -> None:
    """Two channels: a three-electrode full cell in its rate test on channel 2, and on
    channel 1 (shown) the bare symmetric cell until its short trips the alarm; the
    cursor over the voltage plot (station-monitor-alarm)."""
    panel = window.run_panel
    for channel, template, protocol, speed in ((2, "full-agc-3e", "rate-test", "36000"),
                                               (1, "sym-bare", "plate-strip-0.16", "3600")):
        window.builder.select_template(template)
        window.builder.operator.setText("CW")
        panel.channel.setCurrentIndex(panel.channel.findData(channel))
        panel.protocol.setCurrentIndex(panel.protocol.findData(protocol))
        panel.speed.setCurrentIndex(panel.speed.findData(speed))
        window.start_run()
    wait_for(app, lambda: window.banner.isVisible())
    wait_for(app, lambda: window.run_panel.start.isEnabled())
    size = window.size()
    window.resize(1440, 900)
    window.refresh_channels()
    window.monitor.redraw()
    app.processEvents()
    view = window.monitor.traces["voltage"].widget.viewport()
    QTest.mouseMove(view, QtCore.QPoint(view.width() * 2 // 3, view.height() // 4))
    app.processEvents()
    window.grab().save(str(out / "station-monitor-alarm.png"))
    window.resize(size)


def headless_run(nb: Notebook, template: str, protocol: str, seed: int = 0) -> int:
    session = prepare_run(nb, cell.from_template(template), preset(protocol), speed="max", seed=seed)
    try:
        session.engine.run()
    finally:
        session.close()
    return session.engine.run_id


def capture_analysis(app, window, out: Path) -> None:
    """The paper's comparisons in the analysis view: with vs without Ag-C."""
    nb, view = window.notebook, window.analysis
    # (file, run shown, run overlaid, page, a setting of the page)
    shots = [
        ("analysis-cycling-overlay", ("full-agc", "rate-test", 0), ("full-bare", "rate-test", 2), "cycling", None),
        ("analysis-dqdv", ("full-agc", "rate-test", 0), None, "dqdv", "1, 4, 7, 10"),
        ("analysis-eis-overlay", ("sym-bare", "eis", 0), ("sym-agc", "eis", 0), "eis", None),
        ("analysis-gitt-overlay", ("half-agc", "gitt", 0), ("half-c", "gitt", 0), "gitt", None),
        ("analysis-three-electrode", ("full-agc-3e", "rate-test", 0), None, "three-electrode", None),
    ]
    made: dict[tuple, int] = {}
    while window.banner.isVisible():       # the alarm of the monitor shot, seen: out of the picture
        window.banner.acknowledge_current()
    window.tabs.setCurrentWidget(view)
    for name, shown, overlaid, kind, setting in shots:
        for spec in filter(None, (shown, overlaid)):
            if spec not in made:
                made[spec] = headless_run(nb, *spec)
        view.refresh_runs()
        view.show_run(nb, made[shown])
        wait_for(app, lambda: not view.busy)
        if overlaid:
            view.add_overlay(nb, made[overlaid])
            wait_for(app, lambda: not view.busy)
        view.show_analysis(kind)
        if setting:
            view.pages[kind].cycles.setText(setting)
            view.pages[kind].apply.click()
            wait_for(app, lambda: not view.busy)
        app.processEvents()
        window.grab().save(str(out / f"{name}.png"))


def capture_replay(app, nb: Notebook, out: Path) -> None:
    """The asymmetric cell's run replayed at 3600x, paused just after its short: the
    logged alarm and the re-evaluated one at the same place."""
    from gui.replay_window import ReplayWindow
    run_id = headless_run(nb, "asym-agc", "plate-strip-0.16", seed=1)
    reader = Notebook(nb.path, read_only=True)
    window = ReplayWindow(reader, run_id, speed=3600.0)
    window.show()
    window.cycle.setValue(4)
    window.seek_cycle(4)
    wait_for(app, lambda: any(e["origin"] == "replay" for e in window.player.replay_events)
             and window.monitor.points_drawn >= len(window.buffer) > 0)
    window.toggle_play()
    window.resize(1280, 800)
    app.processEvents()
    window.monitor.redraw()       # the heading says "paused" now, not at the next frame
    window.grab().save(str(out / "replay.png"))
    window.grab().save(str(out / "replay-1280x800.png"))
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    reader.close()


def main(out_dir: str) -> int:
    out = Path(out_dir)
    app = QtWidgets.QApplication(sys.argv[:1])
    nb = Notebook(Path(tempfile.mkdtemp()) / "notebook.sqlite")
    window = MainWindow(nb)
    window.show()
    capture_builder(app, window, out)
    capture_monitor(app, window, out)
    window.tabs.setCurrentWidget(window.analysis)
    wait_for(app, lambda: window.analysis.primary is not None and not window.analysis.busy)
    app.processEvents()
    window.grab().save(str(out / "station-analysis.png"))
    capture_analysis(app, window, out)
    capture_replay(app, nb, out)
    window.shutdown()
    window.close()
    window.deleteLater()
    app.processEvents()
    nb.close()
    print(f"screenshots written to {out}")
    return 0


def replay_only(out_dir: str) -> int:
    """Just the replay screenshot: `python -m gui.tools.screenshots docs replay`."""
    app = QtWidgets.QApplication(sys.argv[:1])
    nb = Notebook(Path(tempfile.mkdtemp()) / "notebook.sqlite")
    capture_replay(app, nb, Path(out_dir))
    nb.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "replay":
        sys.exit(replay_only(sys.argv[1]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs"))
