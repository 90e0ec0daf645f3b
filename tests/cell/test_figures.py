"""Templates and derived figures against hand-computed values and the paper's numbers."""
from __future__ import annotations

import pytest

import cell
from cell.materials import parse_catalog

EXPECTED = {
    "sym-bare": "Li | LPSCl | Li",
    "sym-agc": "Li | Ag-C | LPSCl | Ag-C | Li",
    "asym-agc": "Li | Ag-C | LPSCl | Li",
    "half-agc": "Cu | Ag-C | LPSCl | Li",
    "half-c": "Cu | C | LPSCl | Li",
    "full-bare": "Al | NMC | LPSCl | Li",
    "full-agc": "Al | NMC | LPSCl | Ag-C | Li",
    "full-agc-3e": "Al | NMC | LPSCl | LiRE | Ag-C | Li",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_template_builds_and_is_valid(name):
    stack = cell.from_template(name)
    assert stack.describe() == EXPECTED[name]
    assert cell.validation.errors(cell.validate(stack)) == []


def test_template_list_is_the_paper_configurations():
    assert set(cell.template_names()) == set(EXPECTED)


def test_paper_full_cell_figures():
    f = cell.figures(cell.from_template("full-agc"), avg_voltage_v=3.70)
    # 9.412 mg/cm2 composite at 85 wt% NMC = 8.0 mg/cm2; 1C = 200 mA/g -> 1.6 mA/cm2
    assert f.active_mass_mg_cm2 == pytest.approx(8.0002, abs=1e-4)
    assert f.one_c_mA_cm2 == pytest.approx(1.60, abs=0.005)
    # 174 mAh/g x 8.0 mg = 1.392 mAh/cm2; x 3.70 V = 5.150 mWh/cm2 over 100 um = 515 Wh/L
    assert f.delivered_mAh_cm2 == pytest.approx(1.392, abs=0.001)
    assert f.stack_thickness_um == pytest.approx(100.0)
    assert f.wh_per_l == pytest.approx(514.3, rel=0.01)
    # areal mass 2.70 + 9.412 + 6.80 + 0.40 + 1.068 = 20.38 mg/cm2 -> 252.7 Wh/kg (paper 250.6)
    assert f.areal_mass_mg_cm2 == pytest.approx(20.38, abs=0.01)
    assert f.wh_per_kg == pytest.approx(250.6, rel=0.02)


def test_force_and_c_rates_scale_with_area():
    f = cell.figures(cell.from_template("full-agc", area_cm2=2.0, stack_pressure_mpa=5.0))
    assert f.force_n == pytest.approx(1000.0)          # 5e6 Pa x 2e-4 m2
    assert f.one_c_mA == pytest.approx(2 * f.one_c_mA_cm2)
    ma, ma_cm2 = f.c_rate_current(1 / 3)
    assert ma_cm2 == pytest.approx(f.one_c_mA_cm2 / 3)
    assert ma == pytest.approx(2 * ma_cm2)


def test_symmetric_cell_capacity_is_its_li_foil():
    f = cell.figures(cell.from_template("sym-bare"))
    # 30 um x 0.534 g/cm3 = 1.602 mg/cm2; x 3860 mAh/g = 6.184 mAh/cm2
    assert f.capacity_mAh_cm2 == pytest.approx(6.184, abs=0.001)
    assert f.wh_per_kg is None and f.wh_per_l is None


def test_stack_round_trips_through_a_dict():
    stack = cell.from_template("asym-agc", operator="CW", notes="lot A12")
    assert cell.Stack.from_dict(stack.to_dict()) == stack


def test_unknown_template_and_material_are_named():
    with pytest.raises(KeyError, match="unknown template 'nope'"):
        cell.from_template("nope")
    catalog = parse_catalog({"materials": {}})
    with pytest.raises(KeyError, match="unknown material 'Zn'"):
        catalog.get_material("Zn")


def test_catalog_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind 'metal'"):
        parse_catalog({"materials": {"Zn": {"name": "Zn", "kind": "metal", "density_g_cm3": 7.1, "thickness_um": 10}}})
