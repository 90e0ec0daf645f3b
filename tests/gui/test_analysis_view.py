"""The analysis view as an operator uses it: open a run of the notebook, move between the
analyses that fit it, choose cycles and circuits, overlay a second cell (with vs without
Ag-C), export tables and plots, and cancel long work without the window freezing.

Runs come from the simulated bench, made headless once per module (as in
tests/acquisition/test_paper_numbers.py); expected values are worked out here from the
stored samples, from the simulated cell's open-circuit curve (tests/nmc_ocv.py) and from
DOMAIN.md, not from the code under test or the engine's own step table."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from PySide6 import QtCore, QtGui

import cell
import gui.analysis_worker
from acquisition.protocol import preset
from acquisition.session import prepare_run
from gui.analysis_view import AnalysisView
from notebook import Notebook

ACTIVE_MASS_G = 9.412 * 0.85 / 1000      # full-agc / full-bare: 9.412 mg/cm2 NMC sheet, 85 % active, 1 cm2


@pytest.fixture(scope="module")
def notebook_runs(tmp_path_factory):
    """A notebook with the paper's comparisons: full cells with and without Ag-C (rate
    test), symmetric cells with and without Ag-C (EIS). -> (path, {name: run id})."""
    path = tmp_path_factory.mktemp("analysis-view") / "notebook.sqlite"
    made = {}
    with Notebook(path) as nb:
        for name, template, protocol, seed in (("agc", "full-agc", "rate-test", 0), ("bare", "full-bare", "rate-test", 2),
                                               ("sym-bare", "sym-bare", "eis", 0), ("sym-agc", "sym-agc", "eis", 0)):
            session = prepare_run(nb, cell.from_template(template), preset(protocol), speed="max", seed=seed)
            try:
                session.engine.run()
            finally:
                session.close()
            made[name] = session.engine.run_id
    return path, made


@pytest.fixture
def view(qtbot, notebook_runs):
    path, _ = notebook_runs
    with Notebook(path) as nb:
        widget = AnalysisView(nb)
    widget.resize(1280, 760)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def settle(qtbot, view, timeout=30000):
    qtbot.waitUntil(lambda: not view.busy, timeout=timeout)


def discharge_mah_per_cycle(path, run_id) -> list[float]:
    """By hand from the stored samples: each sample's current over the interval it closes,
    summed over the discharging samples of each cycle."""
    with Notebook(path, read_only=True) as nb:
        samples = nb.samples(run_id)
    dt = np.diff(samples["t"], prepend=samples["t"][0])
    out = []
    for cycle in np.unique(samples["cycle"]):
        d = (samples["cycle"] == cycle) & (samples["current"] < 0)
        out.append(float(-np.sum(samples["current"][d] * dt[d]) / 3.6))
    return out


def colours_in(image: QtGui.QImage) -> set[str]:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.width() * image.height())
    return {f"#{value & 0xFFFFFF:06x}" for value in np.unique(pixels)}


def test_load_switch_overlay_and_export(qtbot, view, notebook_runs, tmp_path):
    path, runs = notebook_runs
    view.show_run(path, runs["agc"])
    assert view.busy                                   # the work runs on the worker, not in this call
    settle(qtbot, view)
    # a full cell: cycling, dQ/dV and the soft-short replay; no GITT, EIS, three-electrode
    assert [view.tabs.widget(k).kind for k in range(view.tabs.count())] == ["cycling", "dqdv", "shorts"]
    assert view.tabs.tabText(1) == "Profiles && dQ/dV"
    assert "8 mg active" in view.heading.text() and "100 µm" in view.heading.text()

    # cycling: discharge capacity per gram against the samples, summed by hand
    per_cycle = view.pages["cycling"].tables()["per cycle"]
    expected = [mah / ACTIVE_MASS_G for mah in discharge_mah_per_cycle(path, runs["agc"])]
    assert len(expected) == 12
    assert per_cycle["Discharge (mAh/g)"].tolist() == pytest.approx(expected, rel=1e-9)
    # Fig 5b at C/10, which the model is calibrated to at a group's last cycle: to one 10 s sample
    assert per_cycle["Discharge (mAh/g)"].iloc[2] == pytest.approx(174.0, abs=200 * 0.1 * 10 / 3600)
    rate = view.pages["cycling"].tables()["rate"]
    assert rate["C-rate (C)"].tolist() == pytest.approx([0.1, 0.2, 1 / 3, 0.5], rel=1e-6)   # the SMU's set-points

    # switch to dQ/dV and choose cycles: peaks of just those cycles
    view.show_analysis("dqdv")
    page = view.pages["dqdv"]
    assert page.cycles.text() == "1, 5, 10, 12"       # first, last and round multiples between
    page.cycles.setText("2, 11")
    qtbot.keyClick(page.cycles, QtCore.Qt.Key.Key_Return)
    settle(qtbot, view)
    peaks = page.tables()["peaks"]
    assert set(peaks["Cycle"]) == {2, 11}
    main_charge = peaks[peaks["Direction"] == "charge"].groupby("Cycle")["dQ/dV (mAh/V)"].idxmax()
    # Fig 5e's behaviour at higher rate: the oxidation peak moves up
    assert peaks.loc[main_charge[11], "Peak voltage (V)"] > peaks.loc[main_charge[2], "Peak voltage (V)"]
    # ... to where the simulated NMC's OCV peaks lie, +- I x R (tests/nmc_ocv.py), to one 5 mV bin
    from conftest import ir_drop_v, ocv_peak_voltages
    main, upper = ocv_peak_voltages()[[0, 3]]
    assert peaks.loc[main_charge[2], "Peak voltage (V)"] == pytest.approx(main + ir_drop_v(0.1, 2), abs=0.005)
    assert peaks.loc[main_charge[11], "Peak voltage (V)"] == pytest.approx(upper + ir_drop_v(0.5, 11), abs=0.005)
    # a bad cycle list is refused with a message and changes nothing
    page.cycles.setText("2, eleven")
    qtbot.keyClick(page.cycles, QtCore.Qt.Key.Key_Return)
    assert not view.busy and "whole numbers" in page.notes.text()
    assert set(page.tables()["peaks"]["Cycle"]) == {2, 11}

    # overlay the cell without Ag-C: both runs in the tables, its soft short replayed
    view.add_overlay(path, runs["bare"])
    settle(qtbot, view)
    view.show_analysis("cycling")
    per_cycle = view.pages["cycling"].tables()["per cycle"]
    assert per_cycle.columns[0] == "Run"
    assert list(dict.fromkeys(per_cycle["Run"])) == [f"#{runs['agc']} full-agc", f"#{runs['bare']} full-bare"]
    shorts = view.pages["shorts"].tables()["replayed"]
    with Notebook(path, read_only=True) as nb:
        (logged,) = nb.events(runs["bare"])
    bare = shorts[shorts["Run"] == f"#{runs['bare']} full-bare"]
    assert bare["Detector"].tolist() == ["soft_short"]
    assert bare["Time (h)"].iloc[0] == pytest.approx(logged["t_s"] / 3600)      # the verdict reached live
    assert bare["Sample"].iloc[0] == logged["sample_index"]
    assert (shorts["Run"] == f"#{runs['agc']} full-agc").sum() == 0            # the Ag-C cell never shorted

    # export a table as CSV and a plot as PNG and SVG; read them back
    csv = view.export_table("cycling", "per cycle", tmp_path / "cycles.csv")
    back = pd.read_csv(csv, encoding="utf-8-sig")
    agc = back[back["Run"] == f"#{runs['agc']} full-agc"]
    assert agc["Discharge (mAh/g)"].tolist() == pytest.approx(expected, rel=1e-9)
    assert agc["CE (%)"].iloc[1] == pytest.approx(100 * expected[1] / per_cycle["Charge (mAh/g)"].iloc[1], rel=1e-9)
    png = view.export_plot("cycling", "capacity", tmp_path / "capacity.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QtGui.QImage(str(png))
    assert image.width() == 1600
    assert {"#0072b2", "#d55e00"} <= colours_in(image)           # both runs are drawn, in their colours
    svg = view.export_plot("cycling", "capacity", tmp_path / "capacity.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "Capacity (mAh/g)" in svg
    with pytest.raises(ValueError, match=".png or .svg"):
        view.export_plot("cycling", "capacity", tmp_path / "capacity.jpg")
    with pytest.raises(OSError):
        view.export_table("cycling", "per cycle", tmp_path / "no-such-folder" / "cycles.csv")

    (tmp_path / "all").mkdir()
    written = view.export_page("shorts", tmp_path / "all")
    assert sorted(p.name for p in written) == sorted(
        [f"run{runs['agc']}-shorts-{n}.csv" for n in ("replayed", "logged-live", "summary")]
        + [f"run{runs['agc']}-shorts-voltage.{s}" for s in ("png", "svg")])

    view.remove_overlays()
    assert "Run" not in view.pages["cycling"].tables()["per cycle"].columns


def test_eis_of_symmetric_cells_with_and_without_ag_c(qtbot, view, notebook_runs):
    path, runs = notebook_runs
    view.show_run(path, runs["sym-bare"])
    settle(qtbot, view)
    assert [view.tabs.widget(k).kind for k in range(view.tabs.count())] == ["eis", "drt"]    # one spectrum
    view.add_overlay(path, runs["sym-agc"])
    settle(qtbot, view)
    parameters = view.pages["eis"].tables()["parameters"]
    per_interface = parameters.dropna(subset=["Per interface (ohm cm²)"]).set_index("Run")["Per interface (ohm cm²)"]
    # Fig 2c; tolerances: the spread over seeds 0-5 of a circle fit by hand (test_paper_numbers.py)
    assert per_interface[f"#{runs['sym-bare']} sym-bare"] == pytest.approx(6.59, rel=0.01)
    assert per_interface[f"#{runs['sym-agc']} sym-agc"] == pytest.approx(0.58, rel=0.04)
    spectrum = view.pages["eis"].tables()["spectrum"]
    assert {"Frequency (Hz)", "Z' (ohm)", "-Z'' (ohm)", "Residual Re (%)"} <= set(spectrum.columns)

    page = view.pages["eis"]
    page.circuit.setEditText("R0-p(R1,CPE1")
    qtbot.mouseClick(page.fit, QtCore.Qt.MouseButton.LeftButton)
    assert not view.busy and "expected ',' or ')'" in page.notes.text()
    page.circuit.setEditText("R0-p(R1,CPE1)-p(R2,CPE2)")
    qtbot.mouseClick(page.fit, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, view)
    summary = page.tables()["summary"]
    assert set(summary.loc[summary["Quantity"] == "Circuit", "Value"]) == {"R0-p(R1,CPE1)-p(R2,CPE2)"}


def test_long_work_shows_progress_and_can_be_cancelled(qtbot, view, notebook_runs, monkeypatch):
    """An analysis that would run until cancelled: the event loop keeps running, progress
    shows, Cancel stops it, Resume computes what is missing."""
    path, runs = notebook_runs
    real_compute = gui.analysis_worker.compute
    started = threading.Event()

    def endless(kind, run, options, progress):
        started.set()
        for k in range(100000):
            progress(min(k / 200, 0.99), f"working on {kind}")      # raises once cancelled
            threading.Event().wait(0.01)
        raise AssertionError("the job was never cancelled")

    monkeypatch.setattr(gui.analysis_worker, "compute", endless)
    view.show_run(path, runs["agc"])
    qtbot.waitUntil(started.is_set, timeout=10000)
    qtbot.waitUntil(lambda: view.progress.value() > 0 and "Working on" in view.status.text(), timeout=10000)
    assert view.cancel_button.isVisible()
    qtbot.mouseClick(view.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, view, timeout=5000)
    assert "Cancelled" in view.status.text() and view.resume_button.isVisible()
    assert "not computed yet" in view.pages["cycling"].notes.text()

    monkeypatch.setattr(gui.analysis_worker, "compute", real_compute)
    qtbot.mouseClick(view.resume_button, QtCore.Qt.MouseButton.LeftButton)
    settle(qtbot, view)
    assert not view.resume_button.isVisible()
    assert len(view.pages["cycling"].tables()["per cycle"]) == 12


def test_a_run_that_cannot_be_read_is_named(qtbot, view, notebook_runs):
    path, runs = notebook_runs
    view.show_run(path, 999)
    settle(qtbot, view)
    assert "Run #999 cannot be analysed: no run 999" in view.heading.text()
    assert view.tabs.count() == 0
    view.show_run(path, runs["sym-agc"])
    view.add_overlay(path, 998)
    settle(qtbot, view)
    assert "#998 (cannot be read: no run 998" in view.heading.text()
    assert len(view.pages["eis"].tables()["parameters"]) == 4           # the run shown, alone
