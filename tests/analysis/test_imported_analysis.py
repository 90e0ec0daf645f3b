"""Analysis of runs imported from real instrument files, and of such files directly, with
no extra options (issue 14, items 4 and 5): mAh, CE and Wh always, checked against the
Neware file's own cycle table; specific figures only once the run is linked to a build
or given its area and masses (then checked by hand); what is unknown stays unknown, in
tables and JSON alike; the short detectors of a file are chosen from its trace."""
from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import cell
from analysis.cell_type import guess_cell_type, trace_detectors
from analysis.short_report import short_report
from conftest import ROOT, TEST_DATA
from gui.analysis_runs import analyses_for, compute, load_run, tables
from notebook import Notebook, NotebookError
from notebook.basis import IMPORTED_TEMPLATE, add_provenance, give_figures, link_build
from notebook.formats import read_any
from notebook.importer import import_file

NEWARE = TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv"
GAMRY = TEST_DATA / "eis" / "exampleDataGamry.DTA"
LANDT = TEST_DATA / "cycling" / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"


def main(*args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def strict_json(text: str) -> dict:
    """JSON as the standard has it: NaN and Infinity are refused."""
    def refuse(name):
        raise AssertionError(f"{name} in the JSON output")
    return json.loads(text, parse_constant=refuse)


def analyze_json(*args) -> dict:
    result = main("analyze", *args, "--json")
    assert result.returncode == 0, result.stderr
    return strict_json(result.stdout)


@pytest.fixture
def imported(db_path):
    """A notebook with the Neware file and the Gamry spectrum imported: {name: run id}."""
    with Notebook(db_path) as nb:
        runs = {"neware": import_file(nb, NEWARE).run_id, "gamry": import_file(nb, GAMRY).run_id}
    return runs


def vendor_table() -> pd.DataFrame:
    _, series = read_any(NEWARE)
    return series.meta["vendor_cycles"].set_index("cycle")


def assert_matches_vendor(cycles: pd.DataFrame) -> None:
    """Per-cycle mAh and Wh within 0.1 % of the file's own cycle table. Cycle 1's charge is
    a 171 s top-up of 22.6 mAh, where one 0.3 s sample interval is already 0.16 %: it is
    held to 0.05 mAh (the table rounds to 0.01 mAh)."""
    vendor = vendor_table()
    ours = cycles.set_index("cycle")
    assert list(ours.index) == list(vendor.index) == list(range(1, 21))
    for column in ("charge_mAh", "discharge_mAh", "charge_Wh", "discharge_Wh"):
        tolerance = np.maximum(1e-3 * vendor[column], 0.05 if column.endswith("mAh") else 3e-4)
        off = (ours[column] - vendor[column]).abs()
        assert (off <= tolerance).all(), f"{column}: {off[off > tolerance].to_dict()}"
    ce = ours["discharge_mAh"] / ours["charge_mAh"]
    assert ours["ce"].to_numpy() == pytest.approx(ce.to_numpy(), rel=1e-12)
    assert ours["ce"].loc[2:].to_numpy() == pytest.approx(vendor["ce"].loc[2:].to_numpy(), rel=1e-3)


# -- the placeholder build says nothing, and nothing is made up --
def test_an_imported_runs_build_records_that_the_cell_is_unknown(db_path, imported):
    run = load_run(db_path, imported["neware"])
    assert run.stack.template == IMPORTED_TEMPLATE and not run.describes_cell
    b = run.basis
    assert (b.area_cm2, b.mass_mg, b.stack_mass_mg, b.thickness_um) == (None, None, None, None)
    with Notebook(db_path, read_only=True) as nb:
        from notebook.export import build_sheet
        sheet = build_sheet(nb, run.build_id)
    assert "| area | unknown |" in sheet and "1 cm²" not in sheet


def test_imported_run_gives_mAh_ce_wh_of_the_vendor_table_and_no_specific_figure(db_path, imported):
    run = load_run(db_path, imported["neware"])
    assert analyses_for(run)[:2] == ["cycling", "dqdv"]       # the trace is a full cell's
    summary = compute("cycling", run, {})
    assert_matches_vendor(summary.cycles)
    for column in ("charge_mAh_g", "discharge_mAh_g", "charge_mAh_cm2", "discharge_Wh_kg", "discharge_Wh_L"):
        assert summary.cycles[column].isna().all()
    notes = " | ".join(summary.notes)
    for missing in ("active mass unknown", "area unknown", "stack mass unknown", "stack thickness unknown"):
        assert missing in notes
    shown = tables("cycling", summary, run)
    assert not [c for c in shown["per cycle"].columns if "/g" in c or "/cm²" in c or "/kg" in c or "/L" in c]
    out = json.dumps(summary.to_dict())
    assert "NaN" not in out and "Infinity" not in out and "mAh_g" not in out


def test_analyze_cycling_of_an_imported_run_needs_no_options(db_path, imported):
    """Was: 'stack_mass_mg must be a positive number, got 0.0'."""
    out = analyze_json("cycling", "--db", db_path, "--run", imported["neware"])
    cycles = pd.DataFrame(out["cycles"])
    assert_matches_vendor(cycles)
    assert not {"charge_mAh_g", "discharge_mAh_cm2", "discharge_Wh_kg", "discharge_Wh_L"} & set(cycles.columns)
    assert any(n.startswith("area unknown") and "--area-cm2" in n for n in out["notes"])
    text = main("analyze", "cycling", "--db", db_path, "--run", imported["neware"])
    assert text.returncode == 0, text.stderr
    header = text.stdout.splitlines()[0].split()
    assert header[:3] == ["cycle", "charge_mAh", "discharge_mAh"] and not [c for c in header if c.endswith("_g")]
    assert "note: active mass unknown: no mAh/g; link the run to a build (runs link) or give --mass-mg" in text.stdout


def test_analyze_cycling_of_the_neware_file_needs_no_options():
    out = analyze_json("cycling", NEWARE)
    assert_matches_vendor(pd.DataFrame(out["cycles"]))
    assert any(n.startswith("active mass unknown") and "--mass-mg" in n for n in out["notes"])


def test_eis_of_an_imported_spectrum_has_no_area_figures_until_it_is_given_one(db_path, imported):
    """Was: ohm cm² over a made-up 1 cm²."""
    run = load_run(db_path, imported["gamry"])
    fit = compute("eis", run, {"spectrum": -1, "circuit": "R0-p(R1,CPE1)"}).fit
    assert fit.area_specific_ohm_cm2 == {}
    parameters = tables("eis", compute("eis", run, {"spectrum": -1, "circuit": "R0-p(R1,CPE1)"}), run)["parameters"]
    assert not [c for c in parameters.columns if "cm²" in c]
    out = analyze_json("eis", "--db", db_path, "--run", imported["gamry"])
    assert out["area_cm2"] is None and out["area_specific_ohm_cm2"] == {}
    assert any(n.startswith("area unknown") for n in out["notes"])
    text = main("analyze", "eis", "--db", db_path, "--run", imported["gamry"])
    assert text.returncode == 0 and "ohm_cm2" not in text.stdout and "ohm cm2" not in text.stdout

    with Notebook(db_path) as nb:
        give_figures(nb, imported["gamry"], area_cm2=0.5)
    out = analyze_json("eis", "--db", db_path, "--run", imported["gamry"])
    assert out["area_cm2"] == 0.5
    assert out["area_specific_ohm_cm2"]["R0"] == pytest.approx(out["parameters"]["R0"] * 0.5, rel=1e-12)


# -- giving figures and linking --
def test_figures_given_to_an_imported_run_give_its_specific_figures(db_path, imported):
    run_id = imported["neware"]
    with Notebook(db_path) as nb:
        give_figures(nb, run_id, area_cm2=1.54, active_mass_mg=1850.0)
        stored = give_figures(nb, run_id, stack_mass_mg=9000.0, stack_thickness_um=4200.0)   # merged, not replaced
    assert stored == {"area_cm2": 1.54, "active_mass_mg": 1850.0, "stack_mass_mg": 9000.0, "stack_thickness_um": 4200.0}
    out = analyze_json("cycling", "--db", db_path, "--run", run_id)
    c = pd.DataFrame(out["cycles"]).set_index("cycle")
    # by hand: mAh / g, mAh / cm², Wh / kg, Wh / (cm² x µm x 1e-7 L)
    assert c["discharge_mAh_g"].to_numpy() == pytest.approx(c["discharge_mAh"].to_numpy() / 1.850, rel=1e-12)
    assert c["charge_mAh_cm2"].to_numpy() == pytest.approx(c["charge_mAh"].to_numpy() / 1.54, rel=1e-12)
    assert c["discharge_Wh_kg"].to_numpy() == pytest.approx(c["discharge_Wh"].to_numpy() / 9e-3, rel=1e-12)
    assert c["discharge_Wh_L"].to_numpy() == pytest.approx(c["discharge_Wh"].to_numpy() / (1.54 * 4200 * 1e-7),
                                                           rel=1e-12)
    assert not any("unknown" in n for n in out["notes"])
    assert c.loc[5, "discharge_mAh_g"] == pytest.approx(vendor_table().loc[5, "discharge_mAh"] / 1.85, rel=1e-3)


def test_a_run_linked_to_a_saved_build_takes_its_figures(db_path, imported):
    stack = cell.from_template("full-agc", area_cm2=2.0)
    cathode = next(layer for layer in stack.layers if stack.material(layer).kind == "cathode")
    active_mg = cathode.areal_mass_mg_cm2 * (stack.material(cathode).active_fraction or 1.0) * 2.0
    with Notebook(db_path) as nb:
        build_id = nb.save_build(stack)
        link_build(nb, imported["neware"], build_id)
        assert nb.run(imported["neware"])["build_id"] == build_id
    out = analyze_json("cycling", "--db", db_path, "--run", imported["neware"])
    c = pd.DataFrame(out["cycles"])
    assert c["discharge_mAh_g"].to_numpy() == pytest.approx(c["discharge_mAh"].to_numpy() / (active_mg / 1000), rel=1e-9)
    assert c["discharge_mAh_cm2"].to_numpy() == pytest.approx(c["discharge_mAh"].to_numpy() / 2.0, rel=1e-12)
    result = main("runs", "basis", "--db", db_path, "--run", imported["neware"], "--area-cm2", "3")
    assert result.returncode != 0 and "linked to build" in result.stderr


def notebook_state(db_path) -> list:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT id, build_id, provenance_json FROM runs ORDER BY id").fetchall()


@pytest.mark.parametrize("figures, expected", [
    ({"area_cm2": 0.0}, "the area must be a positive number of cm², got 0.0"),
    ({"active_mass_mg": -3.0}, "the active mass must be a positive number of mg, got -3.0"),
    ({"stack_thickness_um": math.nan}, "the stack thickness must be a positive number of µm, got nan"),
    ({"stack_mass_mg": math.inf}, "the stack mass must be a positive number of mg, got inf"),
    ({}, "at least one figure"),
])
def test_bad_figures_are_refused_in_one_line_and_change_nothing(db_path, imported, figures, expected):
    before = notebook_state(db_path)
    with Notebook(db_path) as nb, pytest.raises(NotebookError, match=expected.replace("(", r"\(")) as error:
        give_figures(nb, imported["neware"], **figures)
    assert "\n" not in str(error.value)
    assert notebook_state(db_path) == before


def test_links_that_cannot_be_are_refused_and_change_nothing(db_path, imported, tmp_path):
    with Notebook(db_path) as nb:
        station = nb.save_build(cell.from_template("full-agc"))
        placeholder = nb.run(imported["gamry"])["build_id"]
    before = notebook_state(db_path)
    with Notebook(db_path) as nb:
        for run_id, build_id, expected in ((99, station, "no run 99"), (imported["neware"], 42, "no build 42"),
                                           (imported["neware"], placeholder, "describes no cell")):
            with pytest.raises(NotebookError, match=expected):
                link_build(nb, run_id, build_id)
    assert notebook_state(db_path) == before
    for args, expected in ((("link", "--run", imported["neware"], "--build", 42), "no build 42"),
                           (("basis", "--run", imported["neware"], "--mass-mg", "nan"), "active mass"),
                           (("basis", "--run", 77, "--area-cm2", "1"), "no run 77")):
        result = main("runs", *args, "--db", db_path)
        assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert expected in result.stderr
    assert notebook_state(db_path) == before


def test_a_locked_notebook_is_reported_and_nothing_is_changed(db_path, imported):
    before = notebook_state(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")              # another program holds the write lock
    try:
        with Notebook(db_path) as nb:
            nb.conn.execute("PRAGMA busy_timeout = 0")
            with pytest.raises(NotebookError, match="locked by another program.*nothing was changed"):
                give_figures(nb, imported["neware"], area_cm2=1.0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert notebook_state(db_path) == before


def test_runs_link_and_basis_from_the_command_line(db_path, imported):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("full-agc"))
    result = main("runs", "basis", "--db", db_path, "--run", imported["gamry"], "--area-cm2", "0.785", "--mass-mg", "12")
    assert result.returncode == 0, result.stderr
    result = main("runs", "link", "--db", db_path, "--run", imported["neware"], "--build", build_id)
    assert result.returncode == 0, result.stderr
    with Notebook(db_path, read_only=True) as nb:
        assert nb.run(imported["neware"])["build_id"] == build_id
    assert load_run(db_path, imported["gamry"]).basis.area_cm2 == 0.785
    assert load_run(db_path, imported["gamry"]).basis.mass_mg == 12.0


# -- which cell a trace is, and its short detectors --
def bdf_csv(path, t, current, voltage):
    pd.DataFrame({"Test Time / s": t, "Current / A": current, "Voltage / V": voltage}).to_csv(path, index=False)
    return path


def li_li_trace(short_at_s: float):
    """Li | Li plating/stripping at ±0.16 mA, 1 h each way, 125 ohm of polarisation (20 mV),
    sampled every 10 s; at `short_at_s` the cell shorts through 5 ohm."""
    t = np.arange(10.0, 12 * 3600 + 1, 10.0)
    current = np.where((t // 3600) % 2 == 0, 1.6e-4, -1.6e-4)
    voltage = current * np.where(t < short_at_s, 125.0, 5.0)
    return t, current, voltage


def soft_short_trace():
    """A full cell cycled at ±1 mA between 3.0 and 4.2 V (1 mAh, 1.2 V/mAh), sampled every
    10 s with rests of 5 min; in the fifth charge the voltage stalls at 3.6 V (half charged)
    while the current keeps flowing through a soft short for an hour. Returns (t, I, V,
    the time the stall began)."""
    t, current, voltage, now, stall = [], [], [], 0.0, None
    for cycle in range(1, 7):
        for step, (i, seconds) in enumerate(((1e-3, 3600 if cycle != 5 else 5400), (0.0, 300), (-1e-3, 3600),
                                             (0.0, 300))):
            ts = now + np.arange(10.0, seconds + 1, 10.0)
            q = np.arange(10.0, seconds + 1, 10.0) / 3600.0                      # mAh into the step
            if i > 0:
                v = 3.0 + 1.2 * q
                if cycle == 5:
                    stall = now + 1800.0
                    v = np.where(ts <= stall, v, 3.6)
            elif i < 0:
                v = 4.2 - 1.2 * q if cycle != 5 else 3.6 - 1.2 * q
            else:
                v = np.full(ts.size, voltage[-1][-1])
            t.append(ts)
            current.append(np.full(ts.size, i))
            voltage.append(v)
            now = ts[-1]
    return np.concatenate(t), np.concatenate(current), np.concatenate(voltage), stall


def test_cell_types_of_real_files_and_synthetic_traces():
    for path, kind in ((NEWARE, "full"), (LANDT, "half")):
        _, series = read_any(path)
        f = series.frame
        assert guess_cell_type(f["current_A"].to_numpy(), f["voltage_V"].to_numpy()).kind == kind, path.name
    t, i, v = li_li_trace(1e9)
    assert guess_cell_type(i, v).kind == "symmetric"
    t, i, v, _ = soft_short_trace()
    assert guess_cell_type(i, v).kind == "full"


def test_full_cell_detectors_run_on_the_real_neware_file_and_find_no_short():
    _, series = read_any(NEWARE)
    f = series.frame
    t, i, v = (f[c].to_numpy(dtype=float) for c in ("t_s", "current_A", "voltage_V"))
    detectors, notes = trace_detectors("full", t, i, v)
    assert [d.kind for d in detectors] == ["soft_short", "sudden_drop"]
    # the capacity the soft-short detector judges against: the median charge per charge,
    # which the vendor table gives independently
    assert detectors[0].settings.capacity_mAh == pytest.approx(vendor_table()["charge_mAh"].median(), rel=2e-3)
    report = short_report(t, i, v, detectors=detectors)
    assert report.events == []           # a healthy cell: its 4.485 V plateau is not a short


def test_analyze_shorts_of_a_full_cell_file_finds_its_soft_short_where_it_is(tmp_path):
    """Was: only the Li | Li hard-short detector ran on a file, and found nothing."""
    t, i, v, stall = soft_short_trace()
    path = bdf_csv(tmp_path / "soft.csv", t, i, v)
    out = analyze_json("shorts", path)
    assert out["detectors"] == ["soft_short", "sudden_drop"]
    assert len(out["events"]) == 1 and out["events"][0]["kind"] == "soft_short"
    # it trips at the start of the first 0.1 mAh (6 min at 1 mA) window wholly in the stall
    assert stall <= out["events"][0]["t_s"] <= stall + 360.0 + 10.0
    assert any("full cell" in n for n in out["notes"])
    # the same file judged as a Li | Li cell (the old behaviour) misses it
    forced = analyze_json("shorts", path, "--cell", "symmetric")
    assert forced["detectors"] == ["hard_short"] and forced["events"] == []


def test_analyze_shorts_of_a_li_li_file_finds_its_hard_short_where_it_is(tmp_path):
    short_at = 5.5 * 3600      # mid-step, long after the 30 s settling
    path = bdf_csv(tmp_path / "lili.csv", *li_li_trace(short_at))
    out = analyze_json("shorts", path)
    assert out["detectors"] == ["hard_short"]
    # the first sample through the short (samples every 10 s, one at short_at itself)
    assert len(out["events"]) == 1 and out["events"][0]["t_s"] == short_at
    healthy = bdf_csv(tmp_path / "healthy.csv", *li_li_trace(1e9))
    assert analyze_json("shorts", healthy)["events"] == []


def test_analyze_shorts_of_an_imported_full_cell_run_replays_full_cell_detectors(db_path, tmp_path):
    t, i, v, stall = soft_short_trace()
    with Notebook(db_path) as nb:
        run_id = import_file(nb, bdf_csv(tmp_path / "soft.csv", t, i, v)).run_id
    run = load_run(db_path, run_id)
    assert "shorts" in analyses_for(run)
    result = compute("shorts", run, {})
    assert [e["kind"] for e in result.report.events] == ["soft_short"]
    assert stall <= result.report.events[0]["t_s"] <= stall + 370.0
    out = analyze_json("shorts", "--db", db_path, "--run", run_id)
    assert out["detectors"] == ["soft_short", "sudden_drop"] and out["events"][0]["kind"] == "soft_short"


def test_analyze_shorts_of_a_half_cell_file_and_the_cell_override():
    """The Landt Li | graphite coin cell sits at 0.03-0.55 V: a half cell, watched for a
    sudden drop only; --cell full makes it judged as a full cell."""
    out = analyze_json("shorts", LANDT)
    assert out["detectors"] == ["sudden_drop"] and out["events"] == []
    assert "half cell" in out["notes"][0]
    forced = analyze_json("shorts", LANDT, "--cell", "full")
    assert forced["detectors"] == ["soft_short", "sudden_drop"] and "--cell full" in forced["notes"][0]


def test_the_runs_listing_gives_no_area_for_an_imported_run(db_path, imported):
    result = main("runs", "--db", db_path, "--json")
    assert result.returncode == 0, result.stderr
    assert [r["area_cm2"] for r in strict_json(result.stdout)] == [None, None]


def test_provenance_added_at_a_watchs_end_keeps_figures_given_meanwhile(db_path, imported):
    """A watcher adds its detectors to a run's provenance when the run ends; figures an
    operator gave the run in the browser while it ran stay (the row is read and written in
    one transaction, never overwritten from the watcher's copy)."""
    run_id = imported["neware"]
    with Notebook(db_path) as watcher, Notebook(db_path) as browser:
        at_start = watcher.provenance(run_id)
        give_figures(browser, run_id, area_cm2=1.54)
        stored = add_provenance(watcher, run_id, detectors=["soft_short"], detector_choice="from the trace")
    with Notebook(db_path) as nb:
        now = nb.provenance(run_id)
    assert now == stored and now["cell_basis"]["area_cm2"] == 1.54 and now["detectors"] == ["soft_short"]
    assert {key: now[key] for key in at_start} == at_start
    with Notebook(db_path) as nb, pytest.raises(NotebookError, match="no run 999"):
        add_provenance(nb, 999, detectors=[])
