"""`python main.py cell`, the planning calculator, as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

TEMPLATES = ["sym-bare", "sym-agc", "asym-agc", "half-agc", "half-c", "full-bare", "full-agc", "full-agc-3e"]
REQUIRED = {"template", "layers", "area_cm2", "capacity_mAh_cm2", "one_c_mA_cm2", "stack_thickness_um",
            "areal_mass_mg_cm2", "wh_per_kg", "wh_per_l"}


def cell_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "cell", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_list_names_every_template():
    result = cell_cli("--list")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == TEMPLATES
    assert "Al | NMC | LPSCl | Ag-C | Li" in lines[6]
    listing = json.loads(cell_cli("--list", "--json").stdout)
    assert [t["template"] for t in listing] == TEMPLATES
    assert listing[0] == {"template": "sym-bare", "title": "Symmetric Li | LPSCl | Li", "description": "Li | LPSCl | Li"}


def test_full_cell_json_has_the_issue_keys_and_the_paper_numbers():
    result = cell_cli("full-agc", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert REQUIRED <= set(data)
    assert data["template"] == "full-agc" and data["area_cm2"] == 1.0
    assert [(layer["material"], layer["kind"], layer["thickness_um"]) for layer in data["layers"]] == [
        ("Al", "current_collector", 10.0), ("NMC", "cathode", 28.0), ("LPSCl", "electrolyte", 40.0),
        ("AgC", "interlayer", 2.0), ("Li", "anode", 20.0)]
    assert data["one_c_mA_cm2"] == pytest.approx(1.60004)          # paper: 1.6 mA/cm2
    assert data["capacity_mAh_cm2"] == pytest.approx(1.60004)
    assert data["stack_thickness_um"] == pytest.approx(100.0)
    assert data["areal_mass_mg_cm2"] == pytest.approx(20.38)
    assert data["wh_per_l"] == pytest.approx(515.05288, abs=1e-3)  # paper: 514.3
    assert data["wh_per_kg"] == pytest.approx(252.72467, abs=1e-3)  # paper: 250.6
    assert data["force_n"] == pytest.approx(500.0) and data["stack_pressure_mpa"] == 5.0
    assert data["temperature_c"] == 60.0 and data["densification_pressure_mpa"] == 375.0
    assert data["c_rates"]["C/3"]["mA_cm2"] == pytest.approx(1.60004 / 3)
    assert data["warnings"] == []


# By hand from resources/materials.json (areal mass = density x thickness x 0.1 mg/cm2 per um
# and g/cm3, or the sheet's catalogue mass): Li 30 um 0.534 x 3 = 1.602 mg (Li 20 um: 1.068),
# LPSCl 40 um 6.8, Ag-C 2 um 0.4, C 2 um 0.32, Cu 10 um 8.96, Al 10 um 2.7, NMC 28 um 9.412.
# Capacity: cathode-limited, 9.412 x 0.85 x 200 mAh/g = 1.60004 mAh/cm2 (delivered at 174 mAh/g:
# 1.3920348); without a cathode, the thinner Li foil: 1.602 x 3860 mAh/g = 6.18372.
LI30, LI20 = 1.602, 1.068
NMC_CAP, NMC_DELIVERED, LI_CAP = 9.412 * 0.85 * 0.2, 9.412 * 0.85 * 0.174, 1.602 * 3.860
BY_HAND = {   # template: (stack um, stack mg/cm2, capacity mAh/cm2, basis)
    "sym-bare": (100.0, LI30 + 6.8 + LI30, LI_CAP, "Li foil"),
    "sym-agc": (104.0, LI30 + 0.4 + 6.8 + 0.4 + LI30, LI_CAP, "Li foil"),
    "asym-agc": (102.0, LI30 + 0.4 + 6.8 + LI30, LI_CAP, "Li foil"),
    "half-agc": (82.0, 8.96 + 0.4 + 6.8 + LI30, LI_CAP, "Li foil"),
    "half-c": (82.0, 8.96 + 0.32 + 6.8 + LI30, LI_CAP, "Li foil"),
    "full-bare": (98.0, 2.7 + 9.412 + 6.8 + LI20, NMC_CAP, "cathode"),
    "full-agc": (100.0, 2.7 + 9.412 + 6.8 + 0.4 + LI20, NMC_CAP, "cathode"),
    "full-agc-3e": (100.0, 2.7 + 9.412 + 6.8 + 0.4 + LI20, NMC_CAP, "cathode"),   # the RE adds nothing over the area
}


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_template_prints_its_stack_and_figures(name):
    thickness, mass, capacity, basis = BY_HAND[name]
    result = cell_cli(name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{name}: ")
    # the printed figures, as the hand calculation rounds them
    assert f"stack {thickness:.1f} um, {mass:.2f} mg/cm2" in result.stdout
    assert f"capacity ({basis}) {capacity:.3f} mAh/cm2 = {capacity:.3f} mAh" in result.stdout
    assert f"C/3 {capacity / 3:.3f} mA/cm2" in result.stdout and f"1C {capacity:.3f} mA/cm2" in result.stdout
    data = json.loads(cell_cli(name, "--json").stdout)
    assert data["stack_thickness_um"] == pytest.approx(thickness, rel=1e-12)
    assert data["areal_mass_mg_cm2"] == pytest.approx(mass, rel=1e-12)
    assert data["capacity_mAh_cm2"] == pytest.approx(capacity, rel=1e-12) and data["capacity_basis"] == basis
    if basis == "cathode":        # projected at the default 3.70 V, over the whole stack
        energy = NMC_DELIVERED * 3.70                      # mWh/cm2
        assert data["wh_per_kg"] == pytest.approx(energy / mass * 1000, rel=1e-12)
        assert data["wh_per_l"] == pytest.approx(energy / (thickness * 1e-4), rel=1e-12)
        assert f"{energy / mass * 1000:.1f} Wh/kg, {energy / (thickness * 1e-4):.1f} Wh/L" in result.stdout
    else:
        assert data["wh_per_kg"] is None and data["wh_per_l"] is None and "Wh/kg" not in result.stdout


def test_area_and_average_voltage_change_the_figures():
    data = json.loads(cell_cli("full-agc", "--area-cm2", "2", "--avg-voltage", "3.0", "--pressure-mpa", "10",
                               "--json").stdout)
    assert data["area_cm2"] == 2.0
    assert data["one_c_mA"] == pytest.approx(3.20008)
    assert data["force_n"] == pytest.approx(2000.0)                  # 10 MPa on 2 cm2
    assert data["wh_per_l"] == pytest.approx(1.3920348 * 3.0 / 0.01)
    text = cell_cli("full-agc", "--area-cm2", "2").stdout
    assert "1C 1.600 mA/cm2 (3.200 mA)" in text and "1,000 N" in text


def test_a_low_pressure_warns_and_still_prints():
    result = cell_cli("sym-bare", "--pressure-mpa", "1")
    assert result.returncode == 0
    assert result.stderr.strip() == "warning: 1 MPa is low for Li contact (the paper uses 5 MPa)"
    assert json.loads(cell_cli("sym-bare", "--pressure-mpa", "1", "--json").stdout)["warnings"] == [
        "1 MPa is low for Li contact (the paper uses 5 MPa)"]


def test_a_higher_rated_fixture_allows_a_higher_pressure():
    assert cell_cli("sym-bare", "--pressure-mpa", "30").returncode == 2
    assert cell_cli("sym-bare", "--pressure-mpa", "30", "--fixture-limit-mpa", "50").returncode == 0


@pytest.mark.parametrize("args, message", [
    (["nope"], "error: unknown template 'nope'; choose one of sym-bare"),
    (["full-agc", "--area-cm2", "0"], "error: --area-cm2: cell area must be above 0 and at most 100 cm², got 0 cm²"),
    (["full-agc", "--area-cm2", "-2"], "error: --area-cm2: cell area must be above 0"),
    (["full-agc", "--pressure-mpa", "30"], "error: --pressure-mpa: 30 MPa is above the fixture limit of 25 MPa"),
    (["full-agc", "--pressure-mpa", "0.1"], "error: --pressure-mpa: 0.1 MPa is below the minimum of 0.5 MPa"),
    (["full-agc", "--fixture-limit-mpa", "0"], "error: --fixture-limit-mpa: fixture limit must be above 0"),
    (["full-agc", "--avg-voltage", "0"], "error: --avg-voltage must be above 0 V, got 0"),
    (["full-agc", "--area-cm2", "big"], "error: solidstack cell: argument --area-cm2: 'big' is not a number"),
    # NaN compares false with every bound: the range checks alone let it through (issue 19)
    (["full-agc", "--pressure-mpa", "nan"], "argument --pressure-mpa: 'nan' is not a finite number"),
    (["full-agc", "--fixture-limit-mpa", "inf"], "argument --fixture-limit-mpa: 'inf' is not a finite number"),
    (["full-agc", "--avg-voltage", "NaN"], "argument --avg-voltage: 'NaN' is not a finite number"),
])
def test_bad_input_gets_one_clear_line_and_status_2(args, message):
    result = cell_cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
