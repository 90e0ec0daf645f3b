"""What the analysis view computes for a run, without Qt: the build's figures, which
analyses fit which cell, default options, the detectors replayed, the labelled tables."""
from __future__ import annotations

import subprocess
import sys
import numpy as np
import pandas as pd
import pytest

import cell
from acquisition.alarms import detectors_for
from analysis.shorts import SoftShortDetector
from conftest import ROOT
from gui.analysis_runs import (RunData, analyses_for, build_basis, compute, default_cycles, pick_spectrum,
                               short_detectors, tables, write_csv)
from notebook import empty_samples


def test_loads_without_qt():
    code = ("import sys, gui.analysis_runs\n"
            "leaked = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]\n"
            "assert not leaked, leaked\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_what_the_build_says():
    full = build_basis(cell.from_template("full-agc"))
    # NMC sheet 9.412 mg/cm2 at 85 % active on 1 cm2; 1C = 200 mA/g
    assert full.mass_mg == pytest.approx(9.412 * 0.85)
    assert full.one_c_mA == pytest.approx(9.412 * 0.85 * 0.2)
    assert full.capacity_mAh == pytest.approx(9.412 * 0.85 * 0.2)
    assert full.thickness_um == pytest.approx(100.0)          # Al 10 + NMC 28 + LPSCl 40 + Ag-C 2 + Li 20
    assert full.ce_convention == "discharge/charge" and not full.symmetric
    assert full.interlayer == "Ag-C" and full.interlayer_um == 2.0
    half = build_basis(cell.from_template("half-c"))
    assert half.ce_convention == "charge/discharge" and half.mass_mg is None and half.interlayer == "C"
    assert build_basis(cell.from_template("sym-agc")).symmetric
    assert build_basis(cell.from_template("sym-bare")).symmetric
    assert not build_basis(cell.from_template("asym-agc")).symmetric


def fake_run(template: str, *, current: float = 1e-4, ref: float | None = None, spectra: int = 0,
             detectors: dict | None = None, cycles: int = 1) -> RunData:
    stack = cell.from_template(template)
    samples = empty_samples(20 * cycles)
    samples["t"] = np.arange(1, samples.size + 1, dtype=float)
    samples["current"] = np.where(np.arange(samples.size) % 20 < 10, current, -current)
    samples["voltage"] = 3.7
    samples["cycle"] = np.arange(samples.size) // 20 + 1
    if ref is not None:
        samples["ref"] = ref
    provenance = {} if detectors is None else {"detectors": detectors}
    spectra_list = [{"spectrum": k, "t_s": 600.0 * (k + 1), "cycle": 1, "freq_hz": np.array([1.0]),
                     "z": np.array([1 - 1j])} for k in range(spectra)]
    return RunData(1, 1, "completed", "test", stack, build_basis(stack), samples, spectra_list, [], provenance)


HARD = {"hard_short": {}}


@pytest.mark.parametrize("template, kwargs, expected", [
    ("sym-bare", {"detectors": HARD}, ["plate-strip", "shorts"]),
    # an EIS run: no current flowed; one spectrum: its fit and DRT, no impedance over the run
    ("sym-bare", {"current": 0.0, "spectra": 1, "detectors": HARD}, ["eis", "drt"]),
    ("asym-agc", {"detectors": HARD}, ["plate-strip", "shorts"]),
    ("full-agc", {"detectors": {"soft_short": {"capacity_mAh": 1.6}}}, ["cycling", "dqdv", "shorts"]),
    # a pressure detector judges readings, not the sample stream: nothing to replay
    ("full-agc-3e", {"ref": 0.002, "detectors": {"pressure_drift": {}}}, ["cycling", "dqdv", "three-electrode"]),
    ("half-agc", {"detectors": {}}, ["gitt"]),
    ("half-c", {"spectra": 2, "detectors": {"voltage_limit": {"v_min": -0.2, "v_max": 2.0}}}, ["gitt", "eis", "eis-run", "drt", "shorts"]),
])
def test_the_analyses_that_fit_a_run(template, kwargs, expected):
    assert analyses_for(fake_run(template, **kwargs)) == expected


def test_the_detectors_replayed_are_those_the_run_stored():
    stored = {"soft_short": {"capacity_mAh": 2.5, "min_rise_v": 0.01}, "pressure_drift": {"tolerance_mpa": 0.5}}
    (detector,) = short_detectors(fake_run("full-agc", detectors=stored))
    assert isinstance(detector, SoftShortDetector) and detector.settings.capacity_mAh == 2.5
    assert detector.settings.min_rise_v == 0.01
    # a run without stored settings gets what the engine would choose for its build, in its order
    expected = [type(d) for d in detectors_for(cell.from_template("full-agc")) if hasattr(d, "update")]
    assert [type(d) for d in short_detectors(fake_run("full-agc"))] == expected
    soft = [d for d in short_detectors(fake_run("full-agc")) if isinstance(d, SoftShortDetector)]
    assert soft[0].settings.capacity_mAh == pytest.approx(9.412 * 0.85 * 0.2)      # the build's theoretical capacity
    with pytest.raises(ValueError, match="'warm_short' detector this version does not know"):
        short_detectors(fake_run("full-agc", detectors={"warm_short": {}}))
    with pytest.raises(ValueError, match="hard_short detector do not fit this version"):
        short_detectors(fake_run("sym-bare", detectors={"hard_short": {"collapse": 0.2}}))


def test_default_cycles_and_spectra():
    assert default_cycles(fake_run("full-agc", cycles=500)) == (1, 100, 200, 300, 400, 500)
    assert default_cycles(fake_run("full-agc", cycles=12)) == (1, 5, 10, 12)
    assert default_cycles(fake_run("full-agc", cycles=3)) == (1, 2, 3)
    run = fake_run("sym-agc", current=0.0, spectra=3)
    assert pick_spectrum(run)["spectrum"] == 2 and pick_spectrum(run, 1)["spectrum"] == 1
    with pytest.raises(ValueError, match="has no spectrum 7; it has 0 to 2"):
        pick_spectrum(run, 7)
    with pytest.raises(ValueError, match="has no impedance spectra"):
        pick_spectrum(fake_run("sym-agc"))


def test_tables_carry_units_and_export_as_read(tmp_path):
    run = fake_run("full-agc", cycles=3)
    result = compute("cycling", run, {})
    frames = tables("cycling", result, run)
    per_cycle = frames["per cycle"]
    # 10 samples of 1 s at 0.1 mA each way: 1/3600 mAh, per gram of 8.0002 mg active
    assert per_cycle["Charge (mAh)"].tolist() == pytest.approx([1e-4 * 10 / 3.6] * 3)
    assert per_cycle["Discharge (mAh/g)"].tolist() == pytest.approx([1e-4 * 10 / 3.6 / 8.0002e-3] * 3)
    assert per_cycle["CE (%)"].tolist() == pytest.approx([100.0] * 3)
    assert per_cycle["Discharge energy (mWh)"].tolist() == pytest.approx([3.7 * 1e-4 * 10 / 3.6] * 3)
    unitless = {"Cycle", "First cycle", "Last cycle", "Cycles"}
    for name in ("per cycle", "rate"):
        for header in frames[name].columns:
            assert header in unitless or (header.endswith(")") and "(" in header), header
    write_csv(per_cycle, tmp_path / "cycles.csv")
    assert (tmp_path / "cycles.csv").read_bytes()[:3] == b"\xef\xbb\xbf"      # UTF-8 BOM: spreadsheets read "²"
    back = pd.read_csv(tmp_path / "cycles.csv", encoding="utf-8-sig")
    assert list(back.columns) == list(per_cycle.columns) and "Charge (mAh/cm²)" in back.columns
    assert back["Charge (mAh)"].tolist() == pytest.approx(per_cycle["Charge (mAh)"].tolist(), rel=1e-12)
