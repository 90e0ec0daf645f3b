"""The live monitor as an operator uses it: a long history drawn from the pyramid,
following the newest samples, zooming without stopping the stream, the cursor
read-out, export of the view, EIS sweeps from the simulated bench, per-cycle figures
of a real run, and the latched alarm banner."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtTest import QTest

import cell
from acquisition.live import LiveBuffer
from acquisition.protocol import EisStep, preset
from acquisition.session import prepare_run
from gui.monitor import MonitorFeed, MonitorWidget
from notebook import Notebook
from notebook.samples import empty_samples


def history(n: int, start: int = 0) -> np.ndarray:
    data = empty_samples(n)
    k = np.arange(start, start + n)
    data["t"] = k * 1.0
    data["current"] = np.where(k % 7200 < 3600, 1.6e-4, -1.6e-4)
    data["voltage"] = 3.7 + 0.3 * np.sin(k / 5000.0) + 1e-3 * np.cos(k * 1.7)
    data["voltage"][k == 1_234_567] = 4.5        # one spike in the whole history
    data["pressure"] = 5.0
    data["cycle"] = k // 7200 + 1
    return data


@pytest.fixture
def monitor(qtbot):
    widget = MonitorWidget()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.detach()


def wheel(view, steps: int = 1) -> None:
    """What a mouse wheel does over a plot."""
    viewport = view.viewport()
    centre = QtCore.QPointF(viewport.rect().center())
    event = QtGui.QWheelEvent(centre, QtCore.QPointF(viewport.mapToGlobal(centre.toPoint())), QtCore.QPoint(0, 0),
                              QtCore.QPoint(0, 120 * steps), QtCore.Qt.MouseButton.NoButton,
                              QtCore.Qt.KeyboardModifier.NoModifier, QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QtWidgets.QApplication.sendEvent(viewport, event)


def x_range(monitor) -> list[float]:
    return monitor.traces["voltage"].plot.getViewBox().viewRange()[0]


def test_a_long_history_is_drawn_as_its_envelope_and_follows_the_stream(qtbot, monitor):
    buffer = LiveBuffer()
    data = history(2_000_000)
    buffer.append(data)
    feed = MonitorFeed(buffer, title="Channel 1 · bench")
    monitor.attach(feed)
    qtbot.waitUntil(lambda: monitor.points_drawn == 2_000_000)
    x, y = monitor.traces["voltage"].curve.getData()
    width = monitor.traces["voltage"].plot.getViewBox().width()
    assert x.size <= 2 * 4 * (width + 2)                 # about the screen, not the run
    assert np.nanmax(y) == 4.5                            # a one-sample spike is never lost
    assert np.nanmin(y) == pytest.approx(data["voltage"].min())
    assert monitor.traces["pressure"].widget.isVisible() and not monitor.traces["ref"].widget.isVisible()
    assert "2,000,000 samples" in monitor.progress.text() and "Cycle 278" in monitor.progress.text()
    # new samples arrive: drawn on the next frames, the view keeps the newest at its right edge
    buffer.append(history(36_000, start=2_000_000))
    qtbot.waitUntil(lambda: monitor.points_drawn == 2_036_000)
    assert x_range(monitor)[1] == pytest.approx(2_035_999 / 3600, rel=0.03)
    assert x_range(monitor)[1] >= 2_035_999 / 3600


def test_zooming_stops_following_but_never_the_stream(qtbot, monitor):
    buffer = LiveBuffer()
    data = history(210_000)
    buffer.append(data[:200_000])
    # the middle of the run is no longer in memory sample by sample: it is read back
    monitor.attach(MonitorFeed(buffer, history=lambda start, stop: data[start:stop]))
    qtbot.waitUntil(lambda: monitor.points_drawn == 200_000)
    wheel(monitor.traces["voltage"].widget, 6)           # zoom in around the middle
    assert not monitor.follow.isChecked()
    zoomed = x_range(monitor)
    assert zoomed[1] - zoomed[0] < 0.5 * 200_000 / 3600
    # the run goes on: samples keep being taken in, the view stays where the operator put it
    buffer.append(data[200_000:])
    qtbot.waitUntil(lambda: monitor.points_drawn == 210_000)
    assert x_range(monitor) == pytest.approx(zoomed)
    # linked plots show the same span; deep in, the raw samples themselves are drawn
    assert monitor.traces["current"].plot.getViewBox().viewRange()[0] == pytest.approx(zoomed)
    for _ in range(8):
        wheel(monitor.traces["voltage"].widget, 3)
    qtbot.waitUntil(lambda: not monitor._view_dirty)
    x, y = monitor.traces["voltage"].curve.getData()
    k = np.searchsorted(data["t"], x[0] * 3600)
    assert 10 <= y.size < 1000
    np.testing.assert_array_equal(y, data["voltage"][k : k + y.size])
    # "Show all" follows the whole run again
    qtbot.mouseClick(monitor.show_all, QtCore.Qt.MouseButton.LeftButton)
    assert monitor.follow.isChecked()
    lo, hi = x_range(monitor)
    assert lo <= 0 and hi >= 209_999 / 3600


def zoom_to(monitor, qtbot, t0_h: float, t1_h: float) -> None:
    monitor.follow.setChecked(False)
    monitor.traces["voltage"].plot.setXRange(t0_h, t1_h, padding=0)
    qtbot.waitUntil(lambda: not monitor._view_dirty)


def test_an_old_stretch_no_longer_in_memory_is_read_back_from_the_notebook(qtbot, monitor, db_path):
    """A run whose oldest hours the live buffer has let go of (a small buffer here, a
    long run on a station): zooming into them draws every stored sample, read back."""
    from notebook.writer import RunWriter
    data = history(300_000)
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(db_path)
    run_id = writer.start_run(build_id, "synthetic", "{}", {})
    for start in range(0, data.size, 7_000):
        writer.append(data[start : start + 7_000])
    writer.finish("completed")
    with Notebook(db_path, read_only=True) as nb:
        buffer = LiveBuffer(keep=20_000, keep_blocks=512)
        for start in range(0, data.size, 5_000):
            buffer.append(data[start : start + 5_000])
        monitor.attach(MonitorFeed(buffer, history=lambda a, b: nb.sample_range(run_id, a, b)))
        qtbot.waitUntil(lambda: monitor.points_drawn == data.size)
        zoom_to(monitor, qtbot, 10_000 / 3600, 10_500 / 3600)
        x, y = monitor.traces["voltage"].curve.getData()
        k = int(np.searchsorted(data["t"], x[0] * 3600))
        np.testing.assert_array_equal(y, data["voltage"][k : k + y.size])
        assert x[0] <= 10_000 / 3600 and x[-1] >= 10_500 / 3600
        # the cursor there reads the stored sample
        view = monitor.traces["voltage"].widget
        QTest.mouseMove(view.viewport(), view.viewport().rect().center() + QtCore.QPoint(3, 0))  # not where the next test moves
        assert "nearest sample #10,2" in monitor.cursor_readout.text()


def test_without_a_notebook_an_old_stretch_is_drawn_coarser_but_never_wrong(qtbot, monitor):
    data = history(300_000)
    buffer = LiveBuffer(keep=20_000, keep_blocks=512)
    for start in range(0, data.size, 5_000):
        buffer.append(data[start : start + 5_000])
    monitor.attach(MonitorFeed(buffer))
    qtbot.waitUntil(lambda: monitor.points_drawn == data.size)
    zoom_to(monitor, qtbot, 10_000 / 3600, 10_500 / 3600)
    x, y = monitor.traces["voltage"].curve.getData()
    assert 2 <= x.size < 500                   # blocks, not samples
    shown = (data["t"] >= x[0] * 3600) & (data["t"] < x[-1] * 3600 + 1024)
    assert np.nanmax(y) >= data["voltage"][(data["t"] >= 10_000) & (data["t"] <= 10_500)].max()
    assert np.nanmax(y) <= data["voltage"][shown].max() and np.nanmin(y) >= data["voltage"][shown].min()


def test_a_constant_trace_shows_its_value_on_a_narrow_axis(qtbot, monitor):
    """The first half cycle: 0.16 mA, constant. The axis shows 0.16 mA, not ±0.5 A."""
    data = history(2_000)
    buffer = LiveBuffer()
    buffer.append(data)
    monitor.attach(MonitorFeed(buffer))
    qtbot.waitUntil(lambda: monitor.points_drawn == 2_000)
    # the behaviour, not the monitor's constants: the level sits mid-axis on a span of a few
    # per cent of its value (neither a unit-wide span nor one too narrow to read)
    for name, level in (("current", 1.6e-4), ("pressure", 5.0)):
        lo, hi = monitor.traces[name].plot.getViewBox().viewRange()[1]
        assert (lo + hi) / 2 == pytest.approx(level, rel=1e-3), name
        assert 0.01 * level < hi - lo < 0.2 * level, (name, lo, hi)
    # a trace that varies is fitted to what is in view: all of it, with an even margin that
    # leaves it most of the axis
    lo, hi = monitor.traces["voltage"].plot.getViewBox().viewRange()[1]
    v = data["voltage"]
    assert lo < v.min() and v.max() < hi and v.min() - lo == pytest.approx(hi - v.max(), rel=1e-6)
    assert 0.8 < np.ptp(v) / (hi - lo) < 0.98


def test_the_cursor_reads_out_the_nearest_sample_with_units(qtbot, monitor):
    buffer = LiveBuffer()
    data = history(100_000)
    buffer.append(data)
    # the middle of the run is no longer in memory sample by sample: read back, as from the notebook
    monitor.attach(MonitorFeed(buffer, history=lambda start, stop: data[start:stop]))
    qtbot.waitUntil(lambda: monitor.points_drawn == 100_000)
    view = monitor.traces["voltage"].widget
    centre = view.viewport().rect().center()
    QTest.mouseMove(view.viewport(), centre)
    t_h = view.getPlotItem().getViewBox().mapSceneToView(view.mapToScene(centre)).x()
    k = int(np.argmin(np.abs(data["t"] - t_h * 3600)))
    sample = data[k]
    text = monitor.cursor_readout.text()
    assert f"t = {t_h:.4f} h" in text and f"#{k:,} " in text
    assert f"V = {sample['voltage']:.4g} V" in text and "I = 160 µA" in text and "P = 5.000 MPa" in text
    assert all(trace.cursor_v.isVisible() for trace in monitor.traces.values())
    assert monitor.traces["voltage"].cursor_h.isVisible() and not monitor.traces["current"].cursor_h.isVisible()


def test_the_current_view_exports_as_png_and_svg(qtbot, monitor, tmp_path):
    buffer = LiveBuffer()
    buffer.append(history(50_000))
    monitor.attach(MonitorFeed(buffer))
    qtbot.waitUntil(lambda: monitor.points_drawn == 50_000)
    png = monitor.export_view(tmp_path / "view.png")
    image = QtGui.QImage(str(png))
    assert image.size() == monitor.plots.size()
    svg = ET.parse(monitor.export_view(tmp_path / "view.svg")).getroot()
    polylines = [e for e in svg.iter() if e.tag.endswith("polyline") or e.tag.endswith("path")]
    assert len(polylines) > 10                            # vector traces, not a picture of them
    assert "Cell voltage" in (tmp_path / "view.svg").read_text()
    with pytest.raises(ValueError, match=".png or .svg"):
        monitor.export_view(tmp_path / "view.jpg")


def test_eis_sweeps_from_the_bench_appear_as_nyquist_and_bode(qtbot, monitor, db_path):
    buffer = LiveBuffer()
    protocol = preset("eis", repeats=2, rest_s=60.0)
    stack = cell.from_template("sym-agc")
    with Notebook(db_path) as nb:
        session = prepare_run(nb, stack, protocol, speed="max", listeners=[buffer])
        feed = MonitorFeed(buffer, progress=session.engine.progress,
                           expects_eis=any(isinstance(s, EisStep) for s in protocol.expand(stack)))
        monitor.attach(feed)
        assert monitor.eis_column.isVisible()           # shown from the start: this run sweeps
        try:
            session.engine.start()
            qtbot.waitUntil(lambda: monitor._spectra_drawn[0] == 2, timeout=60000)
        finally:
            session.engine.join(60)
            session.close()
    last = buffer.spectra[-1]
    curves = monitor.nyquist.getPlotItem().listDataItems()
    assert len(curves) == 2
    x, y = curves[-1].getData()
    np.testing.assert_allclose(x, last["z"].real)
    np.testing.assert_allclose(y, -last["z"].imag)
    magnitude = monitor.bode_mag.getPlotItem().listDataItems()[-1].getOriginalDataset()[1]   # not the log10 shown
    np.testing.assert_allclose(magnitude, np.abs(last["z"]))
    assert "sweep 2" in monitor.nyquist_title.text() and "51 points, 10 mV" in monitor.nyquist_title.text()


def test_progress_and_per_cycle_figures_of_a_real_run(qtbot, monitor, db_path):
    buffer = LiveBuffer()
    with Notebook(db_path) as nb:
        session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=3, half_cycle_h=0.1),
                              speed="max", listeners=[buffer])
        feed = MonitorFeed(buffer, title="Channel 1", progress=session.engine.progress)
        monitor.attach(feed)
        session.engine.run()
        session.close()
    feed.state = session.engine.status
    monitor.redraw()
    assert session.engine.status == "completed"
    text = monitor.progress.text()
    assert "Cycle 3" in text and "step 6 of 6" in text and "elapsed 36 min" in text and "remaining —" in text
    # 0.16 mA/cm2 on 1 cm2 for 0.1 h: 0.016 mAh each way
    figures = monitor.cycle_figures.text()
    assert "Last full cycle 2: Q+ 0.016 mAh, Q− 0.016 mAh" in figures and "CE (Q−/Q+) 100.00%" in figures
    assert monitor.heading.text() == "Channel 1 — completed"


def test_the_readout_says_output_off_once_the_source_is_made_safe(qtbot):
    """The last sample was taken while sourcing -160 uA; once the engine made the source
    safe, that current no longer flows, so the readout must not show it."""
    monitor = MonitorWidget()
    qtbot.addWidget(monitor)
    buffer = LiveBuffer()
    batch = empty_samples(3)
    batch["t"], batch["voltage"], batch["current"] = [1.0, 2.0, 3.0], [-0.004, -0.004, -0.0039], -160e-6
    buffer.append(batch)
    feed = MonitorFeed(buffer, title="Channel 1", state="running")
    monitor.attach(feed)
    assert "I = -160 µA" in monitor.progress.text() and "OUTPUT" not in monitor.progress.text()
    feed.state, feed.output = "shorted", "off"
    monitor.redraw()
    text = monitor.progress.text()
    assert "OUTPUT OFF" in text and "I = " not in text and "µA" not in text
    assert "last V = -3.9 mV" in text
    feed.output = "unknown"       # switching off failed: never claim it is off
    monitor.redraw()
    assert "OUTPUT MAY BE ON" in monitor.progress.text() and "OUTPUT OFF" not in monitor.progress.text()
