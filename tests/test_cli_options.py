"""The command line's shared rules (issue 19 items 4, 12, 13; issue 14 item 3): --db and
--read-only mean one thing wherever they are written, reading commands never create or
write a notebook, bad arguments get one line and status 2 with nothing written, JSON
output is always JSON, and names printed on a terminal cannot drive it."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

import cell
from cli.common import CliError, clean_text, dumps
from notebook.jsontext import json_safe
from cli.replay import parse_thresholds
from conftest import ROOT, TEST_DATA
from notebook import Notebook

BDF = TEST_DATA / "cycling" / "sample.bdf.csv"


@pytest.fixture
def home(tmp_path):
    """An environment whose default notebook (the user data folder) is inside tmp_path."""
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}


def main(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_error_line(result, message: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def never_json_constant(name):
    raise AssertionError(f"{name} is not JSON")


def default_notebook(tmp_path):
    return tmp_path / "xdg" / "SolidStack" / "notebook.sqlite"


# -- item 4: --db and --read-only --
@pytest.mark.parametrize("where", ["before", "after"])
def test_db_before_or_after_the_command_is_the_notebook_imported_into(tmp_path, home, where):
    target = tmp_path / "x.sqlite"
    args = ["--db", target, "import", BDF] if where == "before" else ["import", BDF, "--db", target]
    result = main(*args, env=home)
    assert result.returncode == 0, result.stderr
    with Notebook(target, read_only=True) as nb:
        assert [r["n_samples"] for r in nb.runs()] == [3]      # sample.bdf.csv has 3 rows
    assert not default_notebook(tmp_path).exists()               # the user's notebook was not touched


@pytest.mark.parametrize("args", [
    ["--read-only", "import", BDF],
    ["import", BDF, "--read-only"],
    ["--read-only", "run", "sym-agc", "plate-strip-0.16"],
])
def test_read_only_refuses_a_command_that_writes(tmp_path, home, args):
    target = tmp_path / "x.sqlite"
    one_error_line(main(*args, "--db", target, env=home), "which --read-only forbids")
    assert not target.exists() and not default_notebook(tmp_path).exists()


@pytest.mark.parametrize("args", [
    ["runs"],
    ["export", "out.csv", "--run", "1", "--format", "bdf-csv"],
    ["analyze", "cycling", "--run", "1"],
    ["replay", "--headless", "--run", "1"],
])
def test_a_reading_command_never_creates_a_notebook(tmp_path, home, args):
    typo = tmp_path / "typo.sqlite"
    one_error_line(main(*args, "--db", typo, env=home), f"no notebook at {typo}")
    assert not typo.exists() and not list(tmp_path.glob("typo.sqlite*"))


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_DATA_HOME moves the user data folder on Linux only")
def test_runs_without_a_notebook_says_where_it_looked(tmp_path, home):
    one_error_line(main("runs", env=home), f"no notebook at {default_notebook(tmp_path)}")
    assert not (tmp_path / "xdg").exists()                        # not even the folder


def test_runs_opens_the_notebook_read_only(tmp_path, home):
    """Opened writable, a notebook marks a run left `running` as interrupted (and fires
    any trigger on runs): listing must write nothing."""
    target = tmp_path / "x.sqlite"
    assert main("import", BDF, "--db", target, env=home).returncode == 0
    with sqlite3.connect(target) as conn:
        conn.execute("UPDATE runs SET status = 'running'")
    conn.close()
    result = main("runs", "--db", target, "--json", env=home)
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in json.loads(result.stdout)] == ["running"]
    with sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
    conn.close()


# -- item 13: arguments --
@pytest.mark.parametrize("args", [
    ["replay", "--headless", "--run", 2**70],
    ["export", "out.csv", "--run", 2**70, "--format", "bdf-csv"],
    ["analyze", "cycling", "--run", 2**70],
    ["import", BDF, "--build", 2**70],
    ["replay", "--headless", "--run", 0],
])
def test_an_id_sqlite_cannot_hold_is_an_argument_error(tmp_path, home, args):
    target = tmp_path / "x.sqlite"
    assert main("import", BDF, "--db", target, env=home).returncode == 0
    before = target.read_bytes()
    one_error_line(main(*args, "--db", target, env=home), "is not an id")
    assert target.read_bytes() == before


@pytest.mark.parametrize("threshold, message", [
    ("hard_short.collapse_fraction=inf", "a threshold must be a finite number"),
    ("hard_short.collapse_fraction=nan", "a threshold must be a finite number"),
    ("hard_short.hold_samples=2.5", "hold_samples is a count, a whole number"),
    ("hard_short.hold_samples=-1", "hold_samples is a count, a whole number"),
])
def test_replay_refuses_thresholds_that_would_switch_a_detector_off(shorted_run, threshold, message):
    path, run_id, _ = shorted_run
    one_error_line(main("replay", "--db", path, "--run", run_id, "--headless", "--threshold", threshold), message)


def test_whole_counts_and_finite_thresholds_are_taken():
    assert parse_thresholds(["hard_short.hold_samples=3", "hard_short.collapse_fraction=0.1",
                             "ce_drop.from_cycle=4"]) == {
        "hard_short": {"hold_samples": 3, "collapse_fraction": 0.1}, "ce_drop": {"from_cycle": 4}}
    assert type(parse_thresholds(["hard_short.hold_samples=3.0"])["hard_short"]["hold_samples"]) is int
    with pytest.raises(CliError, match="is a count"):
        parse_thresholds(["soft_short.fluctuation_count=1.5"])


def test_instruments_config_that_is_a_folder(tmp_path):
    one_error_line(main("instruments", "--show", "--config", tmp_path), f"{tmp_path} is a folder")


def test_instruments_missing_simulation_file_is_one_line(tmp_path):
    one_error_line(main("instruments", "--list", "--backend", f"{tmp_path / 'none.yaml'}@sim"),
                   f"no simulation definitions file {tmp_path / 'none.yaml'}")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs a device that never ends")
def test_instruments_config_is_read_only_up_to_a_limit():
    result = main("instruments", "--show", "--config", "/dev/zero", timeout=30)
    one_error_line(result, "is over 1 MB, too big for an instrument assignment")


def test_stack_validation_refuses_what_is_not_finite():
    for field in ("area_cm2", "stack_pressure_mpa", "densification_pressure_mpa", "temperature_c", "fixture_limit_mpa"):
        for bad in (math.nan, math.inf):
            issues = cell.validate(cell.from_template("full-agc", **{field: bad}))
            assert [(i.field, i.severity) for i in issues] == [(field, "error")], issues
            assert "finite" in issues[0].message
    stack = cell.from_template("full-agc")
    layer = stack.layers[1]
    broken = stack.with_changes(layers=(stack.layers[0], type(layer)(layer.material, math.nan, layer.areal_mass_mg_cm2),
                                        *stack.layers[2:]))
    assert [(i.field, "finite" in i.message) for i in cell.validate(broken)] == [("layers[1].thickness_um", True)]


# -- JSON: never NaN or Infinity (issue 14 item 3, issue 19 item 3) --
def test_json_safe_turns_every_non_finite_float_into_null():
    value = {"a": math.inf, "b": [1.5, np.float64("nan"), {"c": np.float32("-inf")}], "d": np.arange(3),
             "e": np.array([1.0, np.inf]), "f": (np.int64(7), True, None, "x"), "g": np.bool_(True)}
    assert json.loads(dumps(value), parse_constant=never_json_constant) == {
        "a": None, "b": [1.5, None, {"c": None}], "d": [0, 1, 2], "e": [1.0, None], "f": [7, True, None, "x"],
        "g": True}
    assert json_safe(2.5) == 2.5 and json_safe(-0.0) == 0.0
    assert json.loads(dumps({np.int64(3): np.float64(1e400)})) == {"3": None}     # numpy keys too


def test_every_command_prints_json_through_the_one_helper():
    """cli.common.dumps is the one place JSON is written, so no command can print NaN."""
    offenders = [path.name for path in sorted((ROOT / "cli").glob("*.py"))
                 if path.name != "common.py" and "json.dump" in path.read_text()]
    assert not offenders, offenders


def test_analyze_json_of_a_fit_with_infinite_errors_is_json(tmp_path):
    """A series R-C spectrum fitted with R0-p(R1,CPE1): R1 is not determined (it runs off to
    ~1e195 ohm), so the fit's standard errors are infinite."""
    f = np.logspace(5, -1, 40)
    z = 10 - 1j / (2 * np.pi * f * 1e-5)
    source = tmp_path / "series_rc.csv"
    source.write_text("".join(f"{a:.6g},{b.real:.9g},{b.imag:.9g}\n" for a, b in zip(f, z)))
    result = main("analyze", "eis", source, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout, parse_constant=never_json_constant)
    assert out["stderr"]["R1"] is None
    assert out["parameters"]["R0"] == pytest.approx(10, rel=1e-3)     # the series resistance still fits


# -- item 12: terminal control characters --
HOSTILE = "\x1b[2J\x1b]0;owned\x07CW\r-031\x9b31m\x00\tok"


def test_clean_text_strips_escapes_and_controls():
    assert clean_text(HOSTILE) == "CW-03131m\tok"
    assert clean_text("a\nb\tc", one_line=True) == "a b c"
    # a hyperlink (OSC 8), colours (CSI), a charset switch, a cursor save/restore, a dangling ESC
    assert clean_text("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ \x1b[1;31mred\x1b[0m \x1b(Bab\x1b7\x1b8\x1b") == "link red ab"
    assert clean_text("Li | Ag-C 5 µm °C") == "Li | Ag-C 5 µm °C"


def test_runs_prints_names_without_control_characters(tmp_path):
    target = tmp_path / "x.sqlite"
    with Notebook(target) as nb:
        build = nb.save_build(cell.from_template("full-agc").with_changes(name=HOSTILE))
    assert main("import", BDF, "--db", target, "--build", build).returncode == 0
    result = main("runs", "--db", target)
    assert result.returncode == 0, result.stderr
    row = result.stdout.splitlines()[1]
    assert f"#{build} CW-03131m ok" in row
    assert not any(c in result.stdout for c in "\x1b\x07\r\x9b\x00")
    listed = json.loads(main("runs", "--db", target, "--json").stdout)      # JSON keeps the name, escaped
    assert listed[0]["build_name"] == HOSTILE


def test_a_reader_that_stops_reading_is_no_error(tmp_path):
    """`... --json | head`: the pipe closes before the command writes; it ends quietly (exit 0,
    no traceback), as a command-line tool should."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "cell", "sym-agc", "--json"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                 # long before the interpreter has started and printed
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 0 and "Traceback" not in err and "BrokenPipe" not in err, err
