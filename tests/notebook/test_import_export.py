"""Importing other tools' files as runs (values from the real files in tests/data),
exporting runs and builds, and round trips: export, import again, the same numbers."""
from __future__ import annotations

import json
import sqlite3
import sys
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

import cell
from conftest import TEST_DATA, refused_import, table_counts
from analysis.cycling import cycle_summary
from notebook import Notebook, NotebookError, empty_samples
from notebook.export import build_sheet, export
from notebook.formats import FormatError, ReaderMissing
from notebook.importer import import_file
from notebook.writer import RunWriter

CYCLING = TEST_DATA / "cycling"
EIS = TEST_DATA / "eis"
NEWARE = CYCLING / "nw_regular_export_ife_example.csv"
TIME_BUG = CYCLING / "SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv"
JDB = CYCLING / "jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"



@pytest.fixture
def nb(db_path):
    with Notebook(db_path) as notebook:
        yield notebook


def test_neware_export_matches_its_own_cycle_table_through_the_notebook(nb):
    result = import_file(nb, NEWARE)
    assert (result.format, result.n_samples, result.n_spectra) == ("neware-csv", 9295, 0)
    s = nb.samples(result.run_id)
    assert s["t"][-1] == 27 * 3600 + 55 * 60 + 43 and s["current"][174] == -0.5 and s["voltage"][174] == 4.3366
    assert s["cycle"].max() == 20 and np.isnan(s["ref"]).all()
    vendor = pd.DataFrame(json.loads(nb.run(result.run_id)["provenance_json"])["import"]["vendor_cycles"])
    assert vendor["discharge_mAh"].iloc[0] == pytest.approx(330.67)
    # the plain-SQL view over the step summaries the import wrote...
    view = pd.read_sql_query("SELECT cycle, charge_mah, discharge_mah FROM cycle_summary WHERE run_id = ? ORDER BY cycle",
                             nb.conn, params=(result.run_id,))
    assert view["cycle"].tolist() == vendor["cycle"].tolist() == list(range(1, 21))
    np.testing.assert_allclose(view["charge_mah"], vendor["charge_mAh"], rtol=2e-3)
    np.testing.assert_allclose(view["discharge_mah"], vendor["discharge_mAh"], rtol=1e-3)
    # ...and the app's cycling analysis of the samples read back agree with the vendor's table
    ours = cycle_summary(s["t"], s["current"], s["voltage"], s["cycle"]).cycles
    np.testing.assert_allclose(ours["charge_mAh"], vendor["charge_mAh"], rtol=2e-3)
    np.testing.assert_allclose(ours["discharge_mAh"], vendor["discharge_mAh"], rtol=1e-3)
    np.testing.assert_allclose(ours["ce"], vendor["ce"], rtol=2e-3)
    np.testing.assert_allclose(ours["discharge_Wh"], vendor["discharge_Wh"], rtol=1e-3)


def test_bdf_machine_names_keep_temperature_and_warn_about_coarse_current(nb):
    result = import_file(nb, CYCLING / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv")
    s = nb.samples(result.run_id)
    assert s.size == 25162 and s["t"][-1] == 262657.764 and s["t"][0] == 0.020
    assert s["voltage"][0] == 2.9215 and np.isfinite(s["temperature"]).all()
    assert "recorded to 0.0001 A" in result.warnings[0]
    provenance = json.loads(nb.run(result.run_id)["provenance_json"])["import"]
    assert provenance["warnings"] == result.warnings and provenance["format"] == "bdf-csv"
    assert len(provenance["sha256"]) == 64 and "temperature_degC" in provenance["columns"]
    # every step is one run_steps row, and their sample counts add up
    assert sum(step["n_samples"] for step in nb.steps(result.run_id)) == 25162


def test_time_bug_is_repaired_with_a_warning_or_refused_changing_nothing(nb, db_path):
    result = import_file(nb, TIME_BUG)
    t = nb.samples(result.run_id)["t"]
    assert (np.diff(t) >= 0).all() and t[722] == 7200.0 and t[723] == 7200.01
    assert "restarted at 19 step start(s)" in result.warnings[0]
    before = table_counts(db_path)
    with pytest.raises(FormatError, match=r"line 724, field 'test_time_second'"):
        import_file(nb, TIME_BUG, time_bug="reject")
    assert table_counts(db_path) == before


def test_minimal_bdf_and_a_second_import_of_the_same_file(nb):
    first = import_file(nb, CYCLING / "sample.bdf.csv", operator="CW")
    s = nb.samples(first.run_id)
    assert s["t"].tolist() == [0, 1, 2] and s["voltage"].tolist() == [3.7, 3.6, 3.5]
    assert nb.build(first.build_id).operator == "CW" and nb.build(first.build_id).name == "sample.bdf"
    again = import_file(nb, CYCLING / "sample.bdf.csv", build_id=first.build_id)
    assert again.build_id == first.build_id
    assert f"was imported before, as run(s) {first.run_id}" in again.warnings[-1]


def test_ec_lab_mpr_through_galvani(nb):
    pytest.importorskip("galvani")   # requirements-dev.txt installs it; the station does not
    gcpl = import_file(nb, JDB)
    s = nb.samples(gcpl.run_id)
    assert gcpl.format == "ec-lab-mpr" and s.size == 46102
    # no I/mA in this file: the current is its dq/mA.h over each interval (never the set-point
    # column), in the charge steps the set 88.796 uA within the counter's resolution
    assert np.median(s["current"][s["current"] > 0]) == pytest.approx(0.088796e-3, rel=1e-3)
    assert s["t"][-1] == pytest.approx(456309.586, abs=1e-3)
    # EC-Lab's sequence number repeats every cycle: steps were renumbered, one row each
    steps = nb.steps(gcpl.run_id)
    assert [r["step"] for r in steps] == list(range(len(steps)))
    # charge integrated from the samples against the file's own 'Q charge/discharge' of
    # half cycles 2 (0.98678 mAh) and 3 (-0.85285 mAh): cycle 2 of two half cycles a cycle
    view = dict(nb.conn.execute("SELECT cycle, charge_mah FROM cycle_summary WHERE run_id = ?", (gcpl.run_id,)).fetchall())
    discharge = dict(nb.conn.execute("SELECT cycle, discharge_mah FROM cycle_summary WHERE run_id = ?",
                                     (gcpl.run_id,)).fetchall())
    assert view[2] == pytest.approx(0.98678, rel=1e-3) and discharge[2] == pytest.approx(0.85285, rel=1e-3)
    three = import_file(nb, CYCLING / "biol.mpr")
    s = nb.samples(three.run_id)
    assert s.size == 23561
    assert s["ref"][-1] == pytest.approx(0.5515371, abs=1e-6)       # Ewe: working vs reference
    assert s["voltage"][-1] == pytest.approx(0.5518176, abs=1e-6)   # Ewe - Ece: the cell
    peis = import_file(nb, EIS / "PEIS-0.mpr")
    (spectrum,) = nb.spectra(peis.run_id)
    assert spectrum["freq_hz"].size == 60 and spectrum["freq_hz"][0] == pytest.approx(10001.0)
    assert spectrum["z"][0] == pytest.approx(5.521314 - 1.5513071j, rel=1e-6)
    assert spectrum["freq_hz"][-1] == pytest.approx(9.3132e-3, rel=1e-4)


def test_mpr_without_galvani_says_what_to_do_and_changes_nothing(nb, db_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "galvani", None)
    monkeypatch.setitem(sys.modules, "galvani.BioLogic", None)
    before = table_counts(db_path)
    with pytest.raises(ReaderMissing) as err:
        import_file(nb, JDB)
    message = str(err.value)
    assert str(JDB) in message and "galvani (GPL-3)" in message and "requirements-mpr.txt" in message
    assert ".mpt" in message
    assert table_counts(db_path) == before


def test_impedance_files_become_runs_with_a_spectrum(nb):
    expected = {"exampleData.csv": (66, 0, 4.949989776405060160e-02 - 2.043869854441892481e-02j),
                "exampleDataBioLogic.mpt": (None, 0, 65.470886 - 0.38998979j),
                "exampleDataGamry.DTA": (72, -1, 17007.49 - 6635.557j),
                "exampleDataZPlot.z": (21, 0, 147.77 - 11.335j)}
    for name, (n, k, z) in expected.items():
        result = import_file(nb, EIS / name)
        (spectrum,) = nb.spectra(result.run_id)
        assert result.n_samples == 0 and nb.samples(result.run_id).size == 0
        assert n is None or spectrum["freq_hz"].size == n
        assert spectrum["z"][k] == pytest.approx(z)
    assert "declares 56 data points" in result.warnings[0]


@pytest.mark.parametrize("name, text, message", [
    ("bad.csv", "Test Time / s,Voltage / V,Current / A\n0,3.7,0.1\n1,abc,0.1\n",
     "line 3, field 'Voltage / V': expected a number, found 'abc'"),
    ("bad.csv", "time,V,I\n0,1,2\n", "line 1: expected a BDF header"),
    ("empty.csv", "", "line 1: expected a BDF header"),
    ("bad.csv", "Test Time / s,Voltage / V,Current / A,Cycle Count / 1\n0,3.7,0.1,1\n1,3.7,0.1,1.5\n",
     "line 3, field 'Cycle Count / 1': expected a whole number, found '1.5'"),
    ("eis.csv", "1000,2,3\n100,2,x\n", "line 2, field 'Im Z': expected a number"),
    ("a.mpt", "EC-Lab ASCII FILE\nNb header lines : 3\ntime/s\tEwe/V\tI/mA\n0\t3.7\toops\n",
     "line 4, field 'I/mA': expected a number, found 'oops'"),
    ("a.mpr", "not binary", "not a readable EC-Lab .mpr file"),
    ("a.xlsx", "x", "unknown format '.xlsx'"),
])
def test_bad_files_name_the_place_and_change_nothing(nb, db_path, tmp_path, name, text, message):
    if name.endswith(".mpr"):
        pytest.importorskip("galvani")
    path = tmp_path / name
    path.write_text(text)
    refused = str(refused_import(db_path, path))
    assert str(path) in refused and message in refused


def test_neware_record_with_a_bad_number_names_its_line(nb, db_path, tmp_path):
    lines = NEWARE.read_text(encoding="utf-8-sig").splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith(",,") and i > 100)
    fields = lines[k].split(",")
    fields[5] = "1.2.3"                                  # Current(A) of one record
    lines[k] = ",".join(fields)
    path = tmp_path / "neware.csv"
    path.write_text("\n".join(lines))
    before = table_counts(db_path)
    with pytest.raises(FormatError, match=rf"line {k + 1}, field 'Current\(A\)': expected a number, found '1.2.3'"):
        import_file(nb, path)
    assert table_counts(db_path) == before


def test_a_write_that_fails_half_way_leaves_nothing(nb, db_path, monkeypatch):
    import notebook.importer as importer
    calls = []

    def failing_step(conn, run_id, summary):
        calls.append(summary)
        if len(calls) == 3:   # the build, the run and every sample chunk are already in
            raise sqlite3.OperationalError("database or disk is full")
        importer_insert_step(conn, run_id, summary)

    importer_insert_step = importer.insert_step
    monkeypatch.setattr(importer, "insert_step", failing_step)
    before = table_counts(db_path)
    with pytest.raises(NotebookError, match="could not import .*disk is full; nothing was added"):
        import_file(nb, NEWARE)
    assert table_counts(db_path) == before


def station_run(db_path) -> int:
    """A run as the station records it: reference and pressure channels, steps, an event, a spectrum."""
    with Notebook(db_path) as nb:
        stack = cell.from_template("full-agc-3e", operator="CW", name="CW-050")
        build_id = nb.save_build(stack.edit_layer(1, "lot", "NMC-7").edit_layer(5, "lot", "Li-0412"))
    rng = np.random.default_rng(7)
    n = 50_000
    s = empty_samples(n)
    s["t"] = np.cumsum(rng.uniform(0.5, 1.5, n))
    s["step"] = np.repeat([0, 1, 3, 4], n // 4)                  # step 2 was an EIS sweep: no samples
    s["cycle"] = np.repeat([1, 1, 2, 2], n // 4)
    s["current"] = np.where(s["step"] % 2 == 0, 1.6e-3, -1.6e-3) * (1 + 1e-3 * rng.standard_normal(n))
    s["voltage"] = 3.7 + 0.1 * rng.standard_normal(n)
    s["ref"] = 0.01 * rng.standard_normal(n)
    s["pressure"] = 5.0 + 0.01 * rng.standard_normal(n)
    s["temperature"][: n // 2] = 60.0 + rng.standard_normal(n // 2)   # a probe connected half way through: NaN before
    s["temperature"] = s["temperature"][::-1]
    writer = RunWriter(db_path, chunk_samples=7000)
    run_id = writer.start_run(build_id, "rate-test", '{"cycles": 2}', {"app_version": "test"})
    for start in range(0, n, 999):
        writer.append(s[start:start + 999])
    freqs = np.geomspace(1e6, 20, 31)
    writer.spectrum({"spectrum": 0, "t_s": float(s["t"][n // 2]), "step": 2, "cycle": 1, "amplitude_v": 0.01,
                     "instrument": "E4990A", "freq_hz": freqs, "z": 5 + 20 / (1 + 1j * freqs / 1e3)})
    writer.finish("completed")
    return run_id


@pytest.mark.parametrize("fmt, suffix", [("bdf-csv", ".csv"), ("parquet", ".parquet")])
def test_export_then_import_gives_the_same_numbers(db_path, tmp_path, fmt, suffix):
    run_id = station_run(db_path)
    out = tmp_path / f"run{suffix}"
    with Notebook(db_path, read_only=True) as nb:
        export(nb, fmt, out, run_id=run_id)
        original, run = nb.samples(run_id), nb.run(run_id)
    with Notebook(db_path) as nb:
        back = import_file(nb, out)
        again, run_again = nb.samples(back.run_id), nb.run(back.run_id)
        assert back.warnings == []
    for name in ("t", "current", "voltage", "ref", "step", "cycle"):
        np.testing.assert_array_equal(again[name], original[name], err_msg=name)
    np.testing.assert_array_equal(np.isnan(again["temperature"]), np.isnan(original["temperature"]))
    np.testing.assert_array_equal(again["temperature"], original["temperature"])
    np.testing.assert_allclose(again["pressure"], original["pressure"], rtol=1e-15)   # MPa -> Pa -> MPa
    assert run_again["started_utc"] == run["started_utc"]                              # from Unix Time / s


def test_bdf_csv_uses_preferred_labels_and_the_reference_extension(db_path, tmp_path):
    run_id = station_run(db_path)
    with Notebook(db_path, read_only=True) as nb:
        export(nb, "bdf-csv", tmp_path / "run.csv", run_id=run_id)
        started = datetime.fromisoformat(nb.run(run_id)["started_utc"]).timestamp()
        t0 = nb.samples(run_id)["t"][0]
    table = pd.read_csv(tmp_path / "run.csv")
    assert list(table.columns) == ["Test Time / s", "Voltage / V", "Current / A", "Unix Time / s", "Cycle Count / 1",
                                   "Step Count / 1", "Reference Potential / V", "Ambient Temperature / degC",
                                   "Applied Pressure / Pa"]
    assert table["Unix Time / s"].iloc[0] == pytest.approx(started + t0, abs=1e-6)
    assert table["Applied Pressure / Pa"].iloc[0] == pytest.approx(5e6, rel=1e-2)
    assert table["Ambient Temperature / degC"].isna().sum() == 25_000


def test_spectra_export_then_import(db_path, tmp_path):
    run_id = station_run(db_path)
    with Notebook(db_path, read_only=True) as nb:
        export(nb, "eis-csv", tmp_path / "eis.csv", run_id=run_id)
        (original,) = nb.spectra(run_id)
    with Notebook(db_path) as nb:
        back = import_file(nb, tmp_path / "eis.csv")
        (spectrum,) = nb.spectra(back.run_id)
    assert back.format == "bdf-eis-csv"
    np.testing.assert_array_equal(spectrum["freq_hz"], original["freq_hz"])
    np.testing.assert_array_equal(spectrum["z"], original["z"])
    assert (spectrum["step"], spectrum["cycle"], spectrum["t_s"]) == (2, 1, original["t_s"])


def test_neware_round_trip_through_bdf_keeps_the_cycles(nb, tmp_path):
    first = import_file(nb, NEWARE)
    export(nb, "bdf-csv", tmp_path / "nw.csv", run_id=first.run_id)
    second = import_file(nb, tmp_path / "nw.csv")
    assert nb.samples(second.run_id).tobytes() == nb.samples(first.run_id).tobytes()
    summary = "SELECT cycle, charge_mah, discharge_mah FROM cycle_summary WHERE run_id = ? ORDER BY cycle"
    assert nb.conn.execute(summary, (second.run_id,)).fetchall() == nb.conn.execute(summary, (first.run_id,)).fetchall()


def test_build_sheet_lists_layers_lots_set_points_notes_and_runs(db_path, tmp_path):
    run_id = station_run(db_path)
    with Notebook(db_path) as nb:
        build_id = nb.run(run_id)["build_id"]
        nb.conn.execute("UPDATE material_lots SET supplier = 'NEI', received = '2026-01-12' WHERE lot = 'NMC-7'")
        nb.conn.commit()
        nb.add_note("cathode sheet slightly curled", build_id=build_id, author="CW")
        nb.add_tag("paper-fig5", build_id=build_id)
    with Notebook(db_path, read_only=True) as nb:
        stack = nb.build(build_id)
        export(nb, "build-sheet", tmp_path / "sheet.md", run_id=run_id)
        text = (tmp_path / "sheet.md").read_text(encoding="utf-8")
        assert text == build_sheet(nb, build_id)
    assert text.startswith("# CW-050: " + stack.describe())
    assert "| stack pressure | 5 MPa (500 N) |" in text and "| fixture limit | 25 MPa |" in text   # 5 MPa x 1 cm2
    assert "| 1 | Al | 10 | 2.7 | — |" in text and "| 6 | Li | 20 | 1.068 | Li-0412 |" in text
    assert "| 2 | NMC | 28 | 9.412 | NMC-7 (NEI, 2026-01-12) |" in text   # the lot's registered supplier and date
    assert "- cathode sheet slightly curled (" in text and "- tags: paper-fig5" in text
    assert f"- run #{run_id}: rate-test, completed" in text


def test_exports_refuse_to_overwrite_and_runs_without_spectra(db_path, tmp_path):
    run_id = station_run(db_path)
    out = tmp_path / "run.csv"
    out.write_text("precious")
    with Notebook(db_path, read_only=True) as nb:
        with pytest.raises(NotebookError, match="exists; choose another name"):
            export(nb, "bdf-csv", out, run_id=run_id)
        assert out.read_text() == "precious"
        export(nb, "bdf-csv", out, run_id=run_id, overwrite=True)
        assert out.read_text().startswith("Test Time / s,")
        with Notebook(db_path) as writable:
            plain = import_file(writable, CYCLING / "sample.bdf.csv").run_id
        with pytest.raises(NotebookError, match=f"run {plain} has no impedance spectra"):
            export(nb, "eis-csv", tmp_path / "e.csv", run_id=plain)
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "e.csv").exists()   # nothing half-written left


def test_parquet_without_pyarrow_says_so_and_writes_nothing(db_path, tmp_path, monkeypatch):
    run_id = station_run(db_path)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with Notebook(db_path, read_only=True) as nb, pytest.raises(ReaderMissing) as err:
        export(nb, "parquet", tmp_path / "run.parquet", run_id=run_id)
    assert "Parquet needs pyarrow, which is not installed" in str(err.value) and "BDF CSV" in str(err.value)
    assert not (tmp_path / "run.parquet").exists()


def test_optional_readers_are_never_imported_statically():
    """galvani (GPL-3) and pyarrow stay out of the packaged build: build.spec bundles what
    requirements.txt names and the frozen self-check requires every static import of ours."""
    import ast

    from conftest import ROOT
    for path in (ROOT / "notebook").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in ("galvani", "pyarrow") for n in names), path
    requirements = (ROOT / "requirements.txt").read_text()
    assert "galvani" not in requirements and "pyarrow" not in requirements


def test_ec_lab_text_export_of_a_three_electrode_gcpl(nb, tmp_path):
    """Made here (the shared data has no GCPL .mpt): Ewe-Ece is the cell, Ewe the working
    electrode against the reference, I in mA, cycles counted from 0, decimal commas."""
    header = "time/s\tI/mA\tEwe/V\tEce/V\tEwe-Ece/V\tcycle number\tNs"
    rows = ["0\t0,5\t0,010\t-0,020\t0,030\t0\t0", "10\t0,5\t0,012\t-0,021\t0,033\t0\t0",
            "20\t-0,5\t-0,011\t0,019\t-0,030\t1\t1", "30\t-0,5\t-0,013\t0,020\t-0,033\t1\t1"]
    path = tmp_path / "gcpl.mpt"
    path.write_text("\n".join(["EC-Lab ASCII FILE", "Nb header lines : 4", "", header, *rows]) + "\n", encoding="latin-1")
    result = import_file(nb, path)
    s = nb.samples(result.run_id)
    assert result.format == "ec-lab-mpt"
    assert s["t"].tolist() == [0, 10, 20, 30] and s["current"].tolist() == [5e-4, 5e-4, -5e-4, -5e-4]
    assert s["voltage"].tolist() == [0.030, 0.033, -0.030, -0.033] and s["ref"].tolist() == [0.010, 0.012, -0.011, -0.013]
    assert s["cycle"].tolist() == [1, 1, 2, 2] and s["step"].tolist() == [0, 0, 1, 1]
    # 0.5 mA for 20 s (the first sample stands for the interval since t = 0) = 2.778e-3 mAh
    assert [round(r["charge_mah"], 7) for r in nb.steps(result.run_id)] == [round(0.5 * 10 / 3600, 7),
                                                                            round(0.5 * 20 / 3600, 7)]
