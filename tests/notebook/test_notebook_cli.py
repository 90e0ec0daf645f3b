"""`python main.py import / export / runs` as a user runs them: real processes, real files."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT, TEST_DATA
from notebook import Notebook

TIME_BUG = TEST_DATA / "cycling" / "SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv"


def main(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_import_prints_the_run_and_its_warnings(db_path):
    result = main("import", TIME_BUG, "--db", db_path, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["run_id"] == 1 and out["n_samples"] == 13086 and out["format"] == "bdf-csv"
    assert "test time restarted at 19 step start(s); repaired" in out["warnings"][0]
    text = main("import", TEST_DATA / "eis" / "exampleDataGamry.DTA", "--db", db_path, "--operator", "CW")
    assert text.returncode == 0
    assert text.stdout.strip() == "run 2: imported exampleDataGamry.DTA (gamry-dta, 1 spectrum(s)) on build 2"
    listing = main("runs", "--db", db_path)
    lines = listing.stdout.splitlines()
    assert lines[0].split() == ["run", "status", "build", "protocol", "samples", "events", "started"]
    assert lines[1].split()[:6] == ["1", "completed", "#1", "SINTEF__SLPBA842124HV", "import:bdf-csv", "v1"]
    assert lines[1].split()[6:8] == ["13,086", "0"]


@pytest.mark.parametrize("args, message", [
    (["import", "{tmp}/bad.csv"], "{tmp}/bad.csv, line 3, field 'Voltage / V': expected a number, found 'abc'"),
    (["import", "{tmp}/missing.csv"], "{tmp}/missing.csv: no such file"),
    (["import", TIME_BUG, "--time-bug", "reject"], "line 724, field 'test_time_second': test time restarts"),
    (["import", TEST_DATA / "cycling" / "sample.bdf.csv", "--build", "7"], "no build 7 in"),
    (["export", "{tmp}/out.csv", "--run", "9", "--format", "bdf-csv"], "no run 9 in"),
    (["export", "{tmp}/out.csv", "--format", "bdf-csv"], "give --run ID"),
])
def test_bad_input_gets_one_line_and_changes_nothing(db_path, tmp_path, args, message):
    Notebook(db_path).close()
    (tmp_path / "bad.csv").write_text("Test Time / s,Voltage / V,Current / A\n0,3.7,0.1\n1,abc,0.1\n")
    result = main(*[str(a).format(tmp=tmp_path) for a in args], "--db", db_path)
    assert result.returncode == 2
    assert message.format(tmp=tmp_path) in result.stderr and len(result.stderr.strip().splitlines()) == 1
    with Notebook(db_path, read_only=True) as nb:
        assert nb.runs() == [] and nb.builds() == []
    assert not (tmp_path / "out.csv").exists()


def test_export_bdf_csv_and_parquet(db_path, tmp_path):
    assert main("import", TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv", "--db", db_path).returncode == 0
    csv, parquet = tmp_path / "run.csv", tmp_path / "run.parquet"
    for fmt, out in (("bdf-csv", csv), ("parquet", parquet)):
        result = main("export", "--db", db_path, "--run", 1, "--format", fmt, out)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"wrote {out}"
    table = pd.read_csv(csv)
    assert len(table) == 9295 and table["Test Time / s"].iloc[-1] == 27 * 3600 + 55 * 60 + 43
    assert table["Current / A"].iloc[174] == -0.5 and table["Cycle Count / 1"].max() == 20
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), table, check_dtype=False)   # int32 there, int64 here
    again = main("export", "--db", db_path, "--run", 1, "--format", "bdf-csv", csv)
    assert again.returncode == 2 and "exists; choose another name or overwrite it (--force)" in again.stderr
    sheet = main("export", "--db", db_path, "--build", 1, "--format", "build-sheet", tmp_path / "sheet.md")
    assert sheet.returncode == 0 and (tmp_path / "sheet.md").read_text().startswith(
        "# nw\\_regular\\_export\\_ife\\_example")     # user text escaped: literal when rendered
