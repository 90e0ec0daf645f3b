"""`main.py analyze eis --all-spectra` and `analyze eis --drt` as a user runs them: the
JSON shapes the issue names, numbers against the synthetic truth written here, and bad
input on one line with exit status 2."""
from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import cell
from conftest import ROOT, TEST_DATA
from notebook import Notebook, empty_samples
from notebook.writer import RunWriter

F = np.logspace(6, -1, 71)
JW = 1j * 2 * np.pi * F
AREA = 0.785                        # a 10 mm disc: the build says so, the analysis reads it from there


def main(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def interface_ohm_cm2(cycle: int) -> float:
    return 6.59 * 2 * (1 + 0.1 * math.sqrt(cycle / 25))        # two Li contacts of a Li | LPSCl | Li cell


def spectrum_z(cycle: int, seed: int) -> np.ndarray:
    """ohm: electrolyte 5 ohm cm2, both interfaces in one arc (CPE 1e-5, n 0.9), per area."""
    r = interface_ohm_cm2(cycle)
    z = (5.0 + r / (1 + r * 1e-5 * JW ** 0.9)) / AREA
    rng = np.random.default_rng(seed)
    return z + np.abs(z) * 0.003 * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    path = tmp_path_factory.mktemp("eis-cli") / "notebook.sqlite"
    stack = dataclasses.replace(cell.from_template("sym-bare"), area_cm2=AREA)
    with Notebook(path) as nb:
        build_id = nb.save_build(stack)
    writer = RunWriter(path)
    with_spectra = writer.start_run(build_id, "cycling-c3-500-eis", "{}", {})
    for n, cycle in enumerate((25, 50, 75, 100)):
        writer.spectrum({"spectrum": n, "t_s": cycle * 7200.0, "step": 2, "cycle": cycle, "amplitude_v": 0.01,
                         "instrument": "test", "freq_hz": F, "z": spectrum_z(cycle, n)})
    writer.finish("completed")
    writer = RunWriter(path)
    without = writer.start_run(build_id, "plate-strip-0.16", "{}", {})
    samples = empty_samples(100)
    samples["t"] = np.arange(100.0)
    writer.append(samples)
    writer.finish("completed")
    return path, with_spectra, without


def test_all_spectra_json(notebook):
    path, run, _ = notebook
    result = main("analyze", "eis", "--db", path, "--run", run, "--all-spectra", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["circuit"] == "R0-p(R1,CPE1)" and out["area_cm2"] == pytest.approx(AREA) and out["symmetric"]
    assert [s["cycle"] for s in out["spectra"]] == [25, 50, 75, 100]
    assert [s["t_s"] for s in out["spectra"]] == [25 * 7200.0, 50 * 7200.0, 75 * 7200.0, 100 * 7200.0]
    for s in out["spectra"]:
        r_int = interface_ohm_cm2(s["cycle"])
        assert s["resistances_ohm"]["R1"] == pytest.approx(r_int / AREA, rel=0.02)
        assert s["resistances_ohm_cm2"]["R0"] == pytest.approx(5.0, rel=0.02)
        # per interface: half the interfacial arc, ohm cm2 (Fig 2c's 6.59 at the start)
        assert s["per_interface"]["R1"] == pytest.approx(r_int / 2, rel=0.02)
        assert 0 < s["sigma_ohm"]["R1"] < 0.01 * s["resistances_ohm"]["R1"]
        assert s["per_interface_sigma"]["R1"] == pytest.approx(s["sigma_ohm"]["R1"] * AREA / 2)
        assert s["kk"]["passed"] is True and s["warnings"] == []


def test_drt_json_of_a_run_and_of_a_file(notebook, tmp_path):
    path, run, _ = notebook
    result = main("analyze", "eis", "--db", path, "--run", run, "--drt", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    (peak,) = out["drt"]["peaks"]
    assert set(peak) == {"tau_s", "f_hz", "r_ohm", "r_ohm_cm2"}
    r_int = interface_ohm_cm2(100)         # the last spectrum by default
    assert peak["r_ohm_cm2"] == pytest.approx(r_int, rel=0.05)
    assert peak["r_ohm"] == pytest.approx(r_int / AREA, rel=0.05)
    assert peak["f_hz"] == pytest.approx(1 / (2 * math.pi * (r_int * 1e-5) ** (1 / 0.9)), rel=0.1)
    assert peak["tau_s"] == pytest.approx(1 / (2 * math.pi * peak["f_hz"]))
    assert out["drt"]["lambda"] > 0 and out["kk"]["passed"] is True

    # a file: two ideal RC arcs, 10 ohm at 1.59 kHz and 30 ohm at 17.7 Hz, as f,Re,Im
    z = 2.0 + 10 / (1 + JW * 10 * 1e-5) + 30 / (1 + JW * 30 * 3e-4)
    file = tmp_path / "two_arcs.csv"
    file.write_text("".join(f"{f:.6e},{v.real:.6e},{v.imag:.6e}\n" for f, v in zip(F, z)))
    result = main("analyze", "eis", file, "--drt", "--json")
    assert result.returncode == 0, result.stderr
    peaks = json.loads(result.stdout)["drt"]["peaks"]
    assert [round(p["f_hz"] / (1 / (2 * math.pi * rc)), 1) for p, rc in zip(peaks, (1e-4, 9e-3))] == [1.0, 1.0]
    assert [p["r_ohm"] for p in peaks] == [pytest.approx(10, rel=0.05), pytest.approx(30, rel=0.05)]
    assert all(p["r_ohm_cm2"] is None for p in peaks)        # no area for a file unless given
    text = main("analyze", "eis", file, "--drt", "--area-cm2", "2")
    assert text.returncode == 0 and "generalised cross-validation" in text.stdout
    assert "passes the Kramers-Kronig test" in text.stdout


@pytest.mark.parametrize("args, message", [
    (["--run", "{without}", "--all-spectra"], "has no impedance spectra"),
    (["--run", "{without}", "--drt"], "has no impedance spectra"),
    (["{cycling_file}", "--drt"], "SINTEF"),
    (["{eis_file}", "--all-spectra"], "--all-spectra fits every spectrum of a notebook run"),
    (["--run", "{run}", "--all-spectra", "--circuit", "R0-p(R1"], "expected"),
])
def test_bad_input_is_one_line_and_exit_2(notebook, args, message):
    path, run, without = notebook
    values = {"run": run, "without": without, "cycling_file": TEST_DATA / "cycling" / "SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv",
              "eis_file": TEST_DATA / "eis" / "exampleData.csv"}
    args = [a.format(**values) for a in args]
    db = ["--db", path] if "--run" in args else []
    result = main("analyze", "eis", *args, *db)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("template, per_interface", [("sym-bare", 6.59), ("sym-agc", 0.58)])
@pytest.mark.parametrize("analyser", ["im3590", "solartron1260"])
def test_drt_of_the_simulated_symmetric_cells_finds_the_paper_interface(tmp_path, template, per_interface, analyser):
    """The closed loop of issue 17: Li | LPSCl | Li with and without Ag-C measured on the
    simulated bench by each battery-range analyser; DRT's dominant peak is the two
    interfaces' arc, half of it the paper's R_int (Fig 2c) within 10 %."""
    db = tmp_path / "notebook.sqlite"
    made = main("run", template, "eis", "--db", db, "--seed", "1", "--bench", "sim", "--impedance", analyser, "--json")
    assert made.returncode == 0, made.stderr
    result = main("analyze", "eis", "--db", db, "--run", json.loads(made.stdout)["run_id"], "--drt", "--json")
    assert result.returncode == 0, result.stderr
    peaks = json.loads(result.stdout)["drt"]["peaks"]
    dominant = max(peaks, key=lambda p: p["r_ohm"])
    assert dominant["r_ohm_cm2"] / 2 == pytest.approx(per_interface, rel=0.10)
