"""Issue 18's smaller frictions, each as the operator met it: the Analysis run picker
showing a finished run as running and comparing a run with itself, a replay that looked
like a live run with a 4 px seek bar, an idle monitor with meaningless axes, the
temperature axis labels overlapping, and two "Start" buttons meaning different things.
Real widgets, real notebooks."""
from __future__ import annotations

import numpy as np
import pytest

import cell
from gui.analysis_view import AnalysisView
from notebook import Notebook, empty_samples
from notebook.writer import RunWriter


def cycling_samples(n: int) -> np.ndarray:
    s = empty_samples(n)
    s["t"] = np.arange(1, n + 1, dtype=float)
    s["current"] = np.where((s["t"] // 600) % 2 == 0, 1.6e-4, -1.6e-4)
    s["voltage"] = 0.01 * np.sign(s["current"])
    s["cycle"] = 1 + s["t"] // 1200
    return s


@pytest.fixture
def two_runs(db_path):
    """A finished run, and a run still going (its writer open): (path, finished, writer, going)."""
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-bare", name="BE-010"))
    done = RunWriter(db_path)
    finished = done.start_run(build_id, "plate-strip-0.16", '{"cycles": 2}', {"app_version": "test"})
    done.append(cycling_samples(2400))
    done.finish("completed")
    going = RunWriter(db_path)
    running = going.start_run(build_id, "plate-strip-0.16", '{"cycles": 2}', {"app_version": "test"})
    going.append(cycling_samples(1200))
    return db_path, finished, going, running


def picker_texts(picker) -> dict:
    return {picker.itemData(k): picker.itemText(k) for k in range(picker.count())}


def test_the_analysis_run_picker_shows_stored_status_and_follows_a_run_ending(qtbot, two_runs):
    path, finished, writer, running = two_runs
    view = AnalysisView(path)
    qtbot.addWidget(view)
    view.show()
    assert " · completed · " in picker_texts(view.run_picker)[finished]
    assert " · running · " in picker_texts(view.run_picker)[running]
    view.show_run(path, running)
    qtbot.waitUntil(lambda: not view.busy and running in view.runs, timeout=30000)
    assert view.runs[running].status == "running" and "running" in view.heading.text()
    writer.append(cycling_samples(2400)[1200:])
    writer.finish("completed")
    view.hide()                       # another tab on screen while the run ends
    view.show()
    assert " · completed · " in picker_texts(view.run_picker)[running]
    qtbot.waitUntil(lambda: not view.busy and running in view.runs, timeout=30000)
    assert view.runs[running].status == "completed" and "completed" in view.heading.text()
    assert view.runs[running].samples.size == 2400            # read again: the whole run
    view.shutdown()


def test_compare_defaults_to_no_run_and_never_offers_the_run_shown(qtbot, two_runs):
    path, finished, writer, running = two_runs
    writer.finish("completed")
    view = AnalysisView(path)
    qtbot.addWidget(view)
    view.show_run(path, finished)
    assert view.overlay_picker.currentData() is None and view.overlay_picker.currentText() == "— choose a run —"
    assert finished not in picker_texts(view.overlay_picker) and running in picker_texts(view.overlay_picker)
    assert not view.add_overlay_button.isEnabled()
    view._picked_overlay()
    assert view.overlays == []
    view.overlay_picker.setCurrentIndex(view.overlay_picker.findData(running))
    assert view.add_overlay_button.isEnabled()
    view.add_overlay_button.click()
    assert view.overlays == [running]
    view.show_run(path, running)      # the other run shown: now the first is offered, the shown one is not
    assert running not in picker_texts(view.overlay_picker) and finished in picker_texts(view.overlay_picker)
    assert view.overlay_picker.currentData() is None
    view.shutdown()


# -- the monitor: empty plots, and labels that fit a short strip --
def all_traces(n: int) -> np.ndarray:
    """Ten hours with every trace measured; temperature swings 24.2-25.8 °C."""
    data = empty_samples(n)
    k = np.arange(n)
    data["t"] = k * 1.0
    data["current"] = np.where(k % 7200 < 3600, 1.6e-4, -1.6e-4)
    data["voltage"] = 3.7 + 0.3 * np.sin(k / 5000.0)
    data["ref"] = 3.6 + 0.3 * np.sin(k / 5000.0)
    data["pressure"] = 5.0 + 0.002 * np.cos(k / 7.0)
    data["temperature"] = 25.0 + 0.8 * np.sin(k / 3000.0)
    data["cycle"] = k // 7200 + 1
    return data


def drawn_labels(axis) -> list:
    """The value labels an axis paints now: (rect, text), from pyqtgraph's own draw specs."""
    from PySide6 import QtGui
    image = QtGui.QImage(10, 10, QtGui.QImage.Format.Format_ARGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [(rect, text) for rect, _flags, text in specs[2]]


@pytest.fixture
def monitor(qtbot):
    from gui.monitor import MonitorWidget
    widget = MonitorWidget()
    qtbot.addWidget(widget)
    widget.resize(900, 800)
    widget.show()
    yield widget
    widget.detach()


def test_an_idle_monitor_shows_no_meaningless_scale(qtbot, monitor):
    from acquisition.live import LiveBuffer
    from gui.monitor import MonitorFeed
    monitor.show_idle("Channel 2: no run yet.")
    qtbot.wait(50)
    for name in ("voltage", "current"):
        plot = monitor.traces[name].plot
        assert drawn_labels(plot.getAxis("left")) == [] and drawn_labels(plot.getAxis("bottom")) == []
        assert not plot.ctrl.xGridCheck.isChecked() and not plot.ctrl.yGridCheck.isChecked()
    buffer = LiveBuffer()
    monitor.attach(MonitorFeed(buffer, title="Channel 2 · run #4"))
    assert drawn_labels(monitor.traces["voltage"].plot.getAxis("left")) == []      # attached, no sample yet
    buffer.append(all_traces(3600))
    monitor.redraw()
    qtbot.wait(50)
    voltage = [text for _, text in drawn_labels(monitor.traces["voltage"].plot.getAxis("left"))]
    assert voltage and all(3.4 <= float(t) <= 4.0 for t in voltage)          # the data's values, not 0.2 ... 0.8
    assert drawn_labels(monitor.traces["temperature"].plot.getAxis("bottom"))  # time under the lowest only
    assert drawn_labels(monitor.traces["voltage"].plot.getAxis("bottom")) == []
    assert monitor.traces["voltage"].plot.ctrl.yGridCheck.isChecked()
    monitor.show_idle("Channel 2: no run yet.")                             # back to idle: blank again
    assert drawn_labels(monitor.traces["voltage"].plot.getAxis("left")) == []


@pytest.mark.parametrize("height", [480, 600, 800])
def test_the_temperature_labels_never_overlap(qtbot, monitor, height):
    from acquisition.live import LiveBuffer
    from gui.monitor import MonitorFeed
    buffer = LiveBuffer()
    buffer.append(all_traces(36_000))
    monitor.resize(900, height)
    monitor.attach(MonitorFeed(buffer, title="Channel 1 · run #3"))
    qtbot.wait(100)
    monitor.redraw()
    for name in ("temperature", "pressure", "voltage"):
        labels = drawn_labels(monitor.traces[name].plot.getAxis("left"))
        assert labels, f"{name}: no value on its axis at {height} px"
        rects = [rect for rect, _ in labels]
        for k, a in enumerate(rects):
            for b in rects[k + 1:]:
                assert not a.intersects(b), f"{name} at {height} px: {[t for _, t in labels]} overlap"
    # 24.2-25.8 °C: the labels name values inside that range
    assert all(24.2 <= float(text) <= 25.8 for _, text in drawn_labels(monitor.traces["temperature"].plot.getAxis("left")))


# -- one word, one meaning --
def test_start_means_start_a_run_and_says_on_which_channel(window):
    from PySide6 import QtWidgets
    from gui.builder_wizard import START
    window.builder.go_to_step(START)
    assert window.builder.next.text() == "Begin with this ▶"
    assert window.run_panel.start.text() == "Start run on channel 1"
    window.run_panel.channel.setCurrentIndex(window.run_panel.channel.findData(3))   # the operator picks channel 3
    assert window.channel == 3 and window.run_panel.start.text() == "Start run on channel 3"
    window.select_channel(5)                                                          # a tile of the overview
    assert window.run_panel.start.text() == "Start run on channel 5"
    starts = {b.text() for b in window.findChildren(QtWidgets.QAbstractButton) if b.text().lstrip("&").startswith("Start")}
    assert starts == {"Start run on channel 5"}


def test_the_impedance_plots_are_blank_until_the_first_sweep(qtbot, monitor):
    from acquisition.live import LiveBuffer
    from gui.monitor import MonitorFeed
    buffer = LiveBuffer()
    buffer.append(all_traces(600))
    monitor.attach(MonitorFeed(buffer, title="Channel 1 · run #5", expects_eis=True))
    qtbot.wait(50)
    assert monitor.eis_column.isVisible()
    for plot in (monitor.nyquist, monitor.bode_phase):
        assert drawn_labels(plot.getPlotItem().getAxis("left")) == []
    f = np.logspace(6, np.log10(20), 11)
    z = 10 + 60 / (1 + 1j * f / 1e3)                      # R0 + R||C: Z' from 10 to 70 ohm
    buffer.on_spectrum({"t_s": 600.0, "cycle": 1, "freq_hz": f, "z": z, "amplitude_v": 0.01})
    monitor.redraw()
    qtbot.wait(50)
    values = [float(t) for _, t in drawn_labels(monitor.nyquist.getPlotItem().getAxis("bottom"))]
    assert values and min(values) >= 0 and max(values) <= 80
