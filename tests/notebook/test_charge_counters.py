"""The instrument's own charge counter, read from real files (tests/data) and synthetic
EC-Lab exports: dq_Ah and meta["counter"], current derived from the counter where the
file has no measured current (never from a set-point column), per-cycle capacities
within 0.1 % of the file's own counter or cycle table, and what an import stores."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import counters
from analysis.cycling import cycle_summary
from conftest import TEST_DATA
from gui.analysis_runs import compute, load_run
from notebook import Notebook

from notebook.formats import FormatError, read_timeseries
from notebook.importer import import_file, step_summaries, samples_of

CYCLING = TEST_DATA / "cycling"
JDB = CYCLING / "jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"
BIOL = CYCLING / "biol.mpr"
GCPL0 = CYCLING / "GCPL-0.mpr"
NEWARE = CYCLING / "nw_regular_export_ife_example.csv"


def summary_of(series):
    f = series.frame
    return cycle_summary(f.t_s, f.current_A, f.voltage_V, f.get("cycle"), step=f.get("step"),
                         dq_Ah=f["dq_Ah"].to_numpy(), counter=series.meta["counter"])


def running_counter_cycles(series, column: str) -> pd.DataFrame:
    """Per cycle from the file's counter read independently of dq_Ah: the rise and fall
    of the running (Q-Qo) over each cycle's samples, by hand."""
    f = series.frame
    raw = galvani_column(series.source, column) / 1000.0
    step = np.diff(raw, prepend=0.0)
    return counters.per_cycle(step, f["cycle"].to_numpy())


def galvani_column(path, name):
    from galvani import BioLogic
    return np.asarray(BioLogic.MPRfile(str(path)).data[name], dtype=float)


# -- real EC-Lab binary files -------------------------------------------------------------------
@pytest.mark.parametrize("path", [JDB, BIOL])
def test_mpr_cycles_are_within_0p1_percent_of_the_running_counter(path):
    pytest.importorskip("galvani")
    series = read_timeseries(path)
    assert series.meta["counter"] == "dq/mA.h"
    s = summary_of(series)
    truth = running_counter_cycles(series, "(Q-Qo)/mA.h").set_index("cycle")
    ours = s.cycles.set_index("cycle")
    for way in ("charge", "discharge"):
        ref = truth.loc[ours.index, f"{way}_mAh"].to_numpy()
        got = ours[f"{way}_mAh"].to_numpy()
        has = ref > 1e-3 * ref.max()
        np.testing.assert_allclose(got[has], ref[has], rtol=1e-3)
    assert s.warnings == []


def test_jdb_current_comes_from_the_counter_not_the_set_point():
    pytest.importorskip("galvani")
    series = read_timeseries(JDB)
    assert "derived from the charge counter 'dq/mA.h'" in series.warnings[0]
    f = series.frame
    setpoint = galvani_column(JDB, "control/V/mA") * 1e-3
    ns = f["step"].to_numpy()
    # in its CC steps the derived current is the set 88.796 uA, within the counter's resolution
    cc = (ns > 0) & (ns == np.roll(ns, 1))
    np.testing.assert_allclose(f["current_A"].to_numpy()[cc], setpoint[cc], rtol=2e-3)
    # the rest's last point (t = 3600 s, Ns 0) already holds the next set-point, -88.796 uA,
    # while the counter shows nothing passed: the set-point column is not the current
    last_rest = np.flatnonzero(ns == 0)[-1]
    assert setpoint[last_rest] == pytest.approx(-88.796e-6, rel=1e-5)
    assert f["dq_Ah"].iloc[last_rest] == 0 and f["current_A"].iloc[last_rest] == 0
    s = summary_of(series)
    # the file's half cycle 2 (cycle 2's charge): its own Q charge/discharge at the end, 0.986781 mAh
    q = galvani_column(JDB, "Q charge/discharge/mA.h")
    half = galvani_column(JDB, "half cycle")
    assert s.cycles.set_index("cycle").loc[2, "charge_mAh"] == pytest.approx(q[half == 2][-1], rel=1e-6)


def test_biol_eis_steps_are_not_charge_and_open_no_cycles():
    pytest.importorskip("galvani")
    s = summary_of(read_timeseries(BIOL))
    # four charges and EIS steps with a mean AC current of either sign; no discharge at all
    assert s.cycles["cycle"].tolist() == [1]
    # dq/mA.h summed against the running (Q-Qo)/mA.h at the end: the same count (float32 steps)
    assert s.cycles["charge_mAh"].iloc[0] == pytest.approx(galvani_column(BIOL, "(Q-Qo)/mA.h")[-1], rel=1e-6)
    assert "integrated current agrees within 0.01 %" in s.notes[0]


def test_gcpl0_without_current_gives_no_cycles_and_no_error():
    pytest.importorskip("galvani")
    series = read_timeseries(GCPL0)
    assert (series.frame["current_A"] == 0).all() and (series.frame["dq_Ah"] == 0).all()
    s = summary_of(series)
    assert s.cycles.empty and "no current flowed" in s.notes[-1]


# -- the Neware nested export -------------------------------------------------------------------
def test_neware_counter_and_vendor_table_agree_within_0p1_percent():
    series = read_timeseries(NEWARE)
    assert series.meta["counter"] == "Capacity(Ah)"
    s = summary_of(series)
    vendor = series.meta["vendor_cycles"]
    assert s.cycles["cycle"].tolist() == vendor["cycle"].tolist()
    # the vendor's table carries 5 decimals of Ah (0.01 mAh): 0.1 % of the 22.56 mAh first charge is 0.02 mAh
    np.testing.assert_allclose(s.cycles["charge_mAh"], vendor["charge_mAh"], rtol=1e-3)
    np.testing.assert_allclose(s.cycles["discharge_mAh"], vendor["discharge_mAh"], rtol=1e-3)
    # each step's dq adds up to the step's capacity the step row gives (line 16: CC Chg 0.02256 Ah)
    f = series.frame
    assert f.loc[f["step"] == 2, "dq_Ah"].sum() == pytest.approx(0.022564143, abs=1e-12)
    assert f.loc[f["step"] == 4, "dq_Ah"].sum() == pytest.approx(-0.330669612, abs=1e-12)
    # the records count whole seconds: the integrated current is within 0.2 % of the counter
    assert counters.worst_difference(s.counter_check) < 2e-3 and s.warnings == []


# -- synthetic EC-Lab text exports ----------------------------------------------------------------
NAMES = ["mode", "ox/red", "Ns", "time/s", "dq/mA.h", "(Q-Qo)/mA.h", "control/V/mA", "Ewe/V", "half cycle",
         "cycle number"]


def write_gcpl(path, current_column: str | None = None, counter: bool = True, current_error: float = 0.0):
    """A GCPL export in EC-Lab's layout (as gcpl.issue_149.mpt): per cycle a 10 s rest,
    +30 uA for 10 s and -30 uA for 10 s, one point a second, a step's first point 1 ms
    after the last of the step before. `control/V/mA` holds the set-point, and during
    each rest the NEXT step's (+30 uA) as EC-Lab does: true charge 30 uA x 10 s each way
    = 8.3333e-5 mAh a half cycle."""
    names = [n for n in NAMES if counter or n not in ("dq/mA.h", "(Q-Qo)/mA.h")]
    if current_column:
        names.append(current_column)
    rows, t, q = [], 30.0, 0.0
    for cycle in range(3):
        for ns, amps_ma in ((0, 0.0), (1, 0.03), (2, -0.03)):
            for k in range(11):
                dt = (1e-3 if ns or cycle else 0.0) if k == 0 else 1.0
                t += dt
                dq = amps_ma * dt / 3600.0 if k else 0.0
                q += dq
                values = {"mode": 3 if ns == 0 else 1, "ox/red": int(amps_ma > 0), "Ns": ns, "time/s": t,
                          "dq/mA.h": dq, "(Q-Qo)/mA.h": q, "control/V/mA": 0.03 if ns == 0 else amps_ma,
                          "Ewe/V": 3.42 + 0.01 * np.sign(amps_ma), "half cycle": 2 * cycle + (ns == 2),
                          "cycle number": cycle, current_column: amps_ma * (1.0 + current_error)}
                rows.append("\t".join(f"{values[n]:.15E}" if isinstance(values[n], float) else str(values[n])
                                      for n in names))
    header = ["EC-Lab ASCII FILE", "Nb header lines : 5", "", "Galvanostatic Cycling with Potential Limitation",
              "\t".join(names)]
    path.write_text("\n".join(header + rows) + "\n", encoding="latin-1")
    return path


def test_mpt_without_current_takes_the_counter_not_the_control_column(tmp_path):
    series = read_timeseries(write_gcpl(tmp_path / "gcpl.mpt"))
    f = series.frame
    assert series.meta["counter"] == "dq/mA.h"
    # rests pass no current, whatever control/V/mA says; CC steps pass their 30 uA
    assert (f.loc[f["step"] == 0, "current_A"] == 0).all()
    np.testing.assert_allclose(f.loc[f["step"] == 1, "current_A"], 30e-6, rtol=1e-9)
    s = summary_of(series)
    assert s.cycles["charge_mAh"].tolist() == pytest.approx([0.03 * 10 / 3600] * 3, rel=1e-9)
    assert s.cycles["discharge_mAh"].tolist() == pytest.approx([0.03 * 10 / 3600] * 3, rel=1e-9)
    assert s.warnings == []
    # the set-point column integrated the old way (each point back to the one before, from
    # t = 0) would have given the first charge +300 % (the 30 s before the first point) and later ones +10 %
    setpoint = np.where(f["step"] == 2, -0.03, 0.03) * 1e-3
    old = counters.per_cycle(setpoint * np.diff(f["t_s"], prepend=0.0) / 3600, f["cycle"].to_numpy())
    assert old["charge_mAh"].iloc[0] / s.cycles["charge_mAh"].iloc[0] > 4


def test_mpt_with_neither_current_nor_counter_is_refused(tmp_path):
    path = write_gcpl(tmp_path / "bare.mpt", counter=False)
    with pytest.raises(FormatError, match=r"bare\.mpt.*expected a current column 'I/mA' or '<I>/mA', or a charge "
                                          r"counter 'dq/mA\.h' or '\(Q-Qo\)/mA\.h' to derive it from; 'control/V/mA' is the set-point, not the current"):
        read_timeseries(path)


def test_mpt_with_a_measured_current_keeps_it_and_checks_it_against_the_counter(tmp_path):
    series = read_timeseries(write_gcpl(tmp_path / "measured.mpt", "<I>/mA", current_error=0.02))
    assert series.warnings == [] or "derived" not in " ".join(series.warnings)
    s = summary_of(series)
    assert s.cycles["charge_mAh"].tolist() == pytest.approx([0.03 * 10 / 3600] * 3, rel=1e-9)   # the counter's
    (warning,) = s.warnings
    assert "by up to 2 % (over 0.5 %)" in warning


# -- the import ----------------------------------------------------------------------------------
def test_import_stores_the_counter_table_and_warns_when_the_current_disagrees(tmp_path):
    path = write_gcpl(tmp_path / "measured.mpt", "<I>/mA", current_error=0.02)
    nb = Notebook(tmp_path / "nb.sqlite")
    result = import_file(nb, path)
    assert any("differs from the instrument's counter dq/mA.h by up to 2 %" in w for w in result.warnings)
    stored = json.loads(nb.conn.execute("SELECT provenance_json FROM runs WHERE id = ?",
                                        (result.run_id,)).fetchone()[0])["import"]
    assert stored["counter"] == "dq/mA.h"
    # the counter kept per segment (rest, charge, discharge of each cycle: the two that moved)
    assert len(stored["counter_segments"]) == 6
    half = 0.03 * 10 / 3600e3          # Ah each way
    assert [q for seg in stored["counter_segments"] for q in seg[1:]] == pytest.approx([half, 0, 0, half] * 3,
                                                                                       rel=1e-9, abs=1e-15)
    assert [r["cycle"] for r in stored["counter_check"]] == [1, 2, 3]
    assert [r["charge_mAh_counter"] for r in stored["counter_check"]] == pytest.approx([0.03 * 10 / 3600] * 3,
                                                                                       rel=1e-9)
    # 2 % high, plus the 1 ms each step's first point is credited (10.001 s against the counter's 10 s)
    assert [r["charge_diff"] for r in stored["counter_check"]] == pytest.approx([1.02 * 10.001 / 10 - 1] * 3, rel=1e-6)
    assert any("differs" in w for w in stored["warnings"])
    # the run's analysis takes the stored counter as its reference, with the same warning
    s = compute("cycling", load_run(nb.path, result.run_id), {})
    assert s.cycles["charge_mAh"].tolist() == pytest.approx([0.03 * 10 / 3600] * 3, rel=1e-9)
    assert any("by up to 2 %" in w for w in s.warnings)
    nb.close()


def test_imported_real_files_analyse_within_0p1_percent_of_their_counters(tmp_path):
    pytest.importorskip("galvani")
    nb = Notebook(tmp_path / "nb.sqlite")
    for path in (JDB, BIOL, NEWARE):
        series = read_timeseries(path)
        truth = counters.per_cycle(series.frame["dq_Ah"].to_numpy(), series.frame["cycle"].to_numpy())
        result = import_file(nb, path)
        s = compute("cycling", load_run(nb.path, result.run_id), {})
        assert s.notes[0].startswith(f"charge from the instrument's counter {series.meta['counter']}")
        got = s.cycles.set_index("cycle")
        ref = truth.set_index("cycle").loc[got.index]
        for way in ("charge", "discharge"):
            has = ref[f"{way}_mAh"].to_numpy() > 0
            np.testing.assert_allclose(got[f"{way}_mAh"].to_numpy()[has], ref[f"{way}_mAh"].to_numpy()[has], rtol=1e-3)
    gcpl0 = import_file(nb, GCPL0)
    assert compute("cycling", load_run(nb.path, gcpl0.run_id), {}).cycles.empty
    nb.close()


def test_step_summaries_credit_no_rest_at_the_next_steps_current(tmp_path):
    series = read_timeseries(write_gcpl(tmp_path / "gcpl.mpt"))
    samples, _ = samples_of(series)
    steps = step_summaries(samples)
    charges = [s["charge_mah"] for s in steps if s["label"] == "charge"]
    # 10 s at 30 uA, and the 1 ms between the rest's last point and the step's first (1e-4)
    assert charges == pytest.approx([0.03 * 10.001 / 3600] * 3, rel=1e-9)
    # credited from the rest's last point, 1 ms before its own first; the record's first point
    # (t = 30 s) for one interval (1 s), not from t = 0
    assert steps[1]["t_start"] == pytest.approx(40.0, abs=1e-9) and steps[0]["t_start"] == pytest.approx(29.0)


def test_a_coarse_counter_is_compared_by_cycle_not_sample_by_sample():
    """A counter that moves in 0.1 mAh steps (as Landt's export) reads no change at most
    samples that did pass charge: only whole steps it never moved in are rest."""
    from analysis.counters import import_check
    t = np.arange(0.0, 72000.0, 10.0)                     # 10 h at 1 mA: 10 mAh, then 10 h back
    current = np.where(t < 36000.0, 1e-3, -1e-3)
    step = np.where(t < 36000.0, 1, 2)
    cycle = np.ones(t.size, dtype=np.int64)
    passed = np.concatenate(([0.0], current[1:] * 10.0 / 3600.0))   # Ah over each interval
    exact = np.cumsum(passed)
    coarse = np.round(exact / 1e-5) * 1e-5                  # a counter that shows 0.01 mAh steps
    dq = np.diff(coarse, prepend=0.0)
    assert (dq == 0).mean() > 0.6                          # mostly "no change" sample to sample
    checked, warning = import_check(t, current, step, cycle, dq, "Capacity", None)
    (row,) = checked["counter_check"]
    assert abs(row["charge_diff"]) < 1e-3 and abs(row["discharge_diff"]) < 1e-3 and warning is None


# -- the command line ------------------------------------------------------------------------------
def analyze_json(*args) -> dict:
    import subprocess
    import sys
    from conftest import ROOT
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "analyze", "cycling", *map(str, args), "--json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_analyze_cycling_of_a_file_and_of_its_import_use_the_counter(tmp_path):
    path = write_gcpl(tmp_path / "measured.mpt", "<I>/mA", current_error=0.02)
    out = analyze_json(path)
    assert [c["charge_mAh"] for c in out["cycles"]] == pytest.approx([0.03 * 10 / 3600] * 3, rel=1e-9)
    assert "charge from the instrument's counter dq/mA.h; integrated current differs by up to 2 %" in out["notes"]
    assert any("by up to 2 % (over 0.5 %)" in w for w in out["warnings"])
    # 2 % high, plus the 1 ms credited to each step's first point (10.001 s against 10 s)
    assert out["counter_check"][0]["charge_diff"] == pytest.approx(1.02 * 10.001 / 10 - 1, rel=1e-6)
    db = tmp_path / "nb.sqlite"
    with Notebook(db) as nb:
        run_id = import_file(nb, path).run_id
    stored = analyze_json("--db", db, "--run", run_id)
    assert [c["charge_mAh"] for c in stored["cycles"]] == pytest.approx([0.03 * 10 / 3600] * 3, rel=1e-9)
    assert any("by up to 2 % (over 0.5 %)" in w for w in stored["warnings"])
