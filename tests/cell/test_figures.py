"""Every template, and the derived figures against hand-computed values and the
paper's numbers (DOMAIN.md)."""
from __future__ import annotations

import pytest

import cell
from cell.validation import errors

# template -> (description, thickness um, areal mass mg/cm2, capacity mAh/cm2, temperature C)
# Sheets at the catalog defaults: Li 0.534 g/cm3 x 30 um = 1.602 mg/cm2 (20 um: 1.068),
# LPSCl 1.7 x 40 = 6.8, Ag-C 2.0 x 2 = 0.4, C 1.6 x 2 = 0.32, Cu 8.96 x 10 = 8.96,
# Al 2.7 x 10 = 2.7, NMC composite 9.412 mg/cm2 at 28 um.
# Capacity: Li foil 1.602 mg x 3860 mAh/g = 6.18372; NMC 9.412 x 0.85 x 200 mAh/g = 1.60004.
TEMPLATES = {
    "sym-bare": ("Li | LPSCl | Li", 100.0, 10.004, 6.18372, 25.0),
    "sym-agc": ("Li | Ag-C | LPSCl | Ag-C | Li", 104.0, 10.804, 6.18372, 25.0),
    "asym-agc": ("Li | Ag-C | LPSCl | Li", 102.0, 10.404, 6.18372, 25.0),
    "half-agc": ("Cu | Ag-C | LPSCl | Li", 82.0, 17.762, 6.18372, 25.0),
    "half-c": ("Cu | C | LPSCl | Li", 82.0, 17.682, 6.18372, 25.0),
    "full-bare": ("Al | NMC | LPSCl | Li", 98.0, 19.98, 1.60004, 60.0),
    "full-agc": ("Al | NMC | LPSCl | Ag-C | Li", 100.0, 20.38, 1.60004, 60.0),
    # the reference electrode sits beside the active area: no thickness, no mass
    "full-agc-3e": ("Al | NMC | LPSCl | Li RE | Ag-C | Li", 100.0, 20.38, 1.60004, 60.0),
}


def test_the_templates_are_the_paper_configurations():
    assert cell.template_names() == list(TEMPLATES)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_builds_valid_with_the_paper_defaults(name):
    description, thickness, mass, capacity, temperature = TEMPLATES[name]
    stack = cell.from_template(name)
    assert stack.describe() == description
    assert errors(cell.validate(stack)) == []
    assert (stack.area_cm2, stack.stack_pressure_mpa, stack.densification_pressure_mpa) == (1.0, 5.0, 375.0)
    assert stack.temperature_c == temperature and stack.fixture_limit_mpa == 25.0
    f = cell.figures(stack)
    assert f.stack_thickness_um == pytest.approx(thickness)
    assert f.areal_mass_mg_cm2 == pytest.approx(mass, abs=1e-9)
    assert f.capacity_mAh_cm2 == pytest.approx(capacity, abs=1e-9)
    assert f.force_n == pytest.approx(500.0)            # 5 MPa on 1 cm2
    assert f.densification_force_n == pytest.approx(37500.0)


def test_paper_full_cell_figures():
    f = cell.figures(cell.from_template("full-agc"), avg_voltage_v=3.70)
    # 9.412 mg/cm2 composite at 85 wt% NMC = 8.0002 mg/cm2; 1C = 200 mA/g -> 1.6 mA/cm2
    assert f.capacity_basis == "cathode"
    assert f.active_mass_mg_cm2 == pytest.approx(8.0002, abs=1e-9)
    assert f.one_c_mA_cm2 == pytest.approx(1.60004, abs=1e-9)
    # delivered 8.0002 x 0.174 = 1.3920348 mAh/cm2 (paper 1.39); x 3.70 V = 5.1505288 mWh/cm2
    assert f.delivered_mAh_cm2 == pytest.approx(1.3920348, abs=1e-9)
    # over 100 um = 0.01 cm: 515.05 Wh/L (paper 514.3); over 20.38 mg/cm2: 252.72 Wh/kg (paper 250.6)
    assert f.wh_per_l == pytest.approx(515.05288, abs=1e-4)
    assert f.wh_per_kg == pytest.approx(252.72467, abs=1e-4)
    assert f.wh_per_l == pytest.approx(514.3, rel=0.005) and f.wh_per_kg == pytest.approx(250.6, rel=0.01)


def test_energy_density_scales_with_the_average_voltage():
    f = cell.figures(cell.from_template("full-bare"), avg_voltage_v=3.0)
    # 1.3920348 x 3.0 = 4.1761044 mWh/cm2 over 98 um and 19.98 mg/cm2
    assert f.wh_per_l == pytest.approx(4.1761044 / 0.0098, abs=1e-6)
    assert f.wh_per_kg == pytest.approx(4.1761044 / 19.98 * 1000, abs=1e-6)


def test_force_and_c_rate_currents_scale_with_area():
    f = cell.figures(cell.from_template("full-agc", area_cm2=2.0, stack_pressure_mpa=5.0))
    assert f.force_n == pytest.approx(1000.0)           # 5e6 Pa x 2e-4 m2
    assert f.densification_force_n == pytest.approx(75000.0)
    assert f.capacity_mAh == pytest.approx(3.20008)
    rates = f.c_rates()
    assert list(rates) == ["C/10", "C/5", "C/3", "C/2", "1C"]
    assert rates["C/3"]["mA_cm2"] == pytest.approx(1.60004 / 3)
    assert rates["C/3"]["mA"] == pytest.approx(3.20008 / 3)
    assert rates["C/10"]["mA_cm2"] == pytest.approx(0.160004)
    assert f.c_rate_current(0.5) == pytest.approx((1.60004, 0.80002))
    f = cell.figures(cell.from_template("sym-bare", area_cm2=0.785, stack_pressure_mpa=5.0))
    assert f.force_n == pytest.approx(392.5)


def test_symmetric_cell_capacity_is_its_li_foil_and_has_no_energy_projection():
    f = cell.figures(cell.from_template("sym-bare"))
    assert f.capacity_basis == "Li foil"
    assert f.capacity_mAh_cm2 == pytest.approx(6.18372)
    assert f.active_mass_mg_cm2 is None and f.wh_per_kg is None and f.wh_per_l is None


def test_an_empty_stack_has_zero_figures():
    f = cell.figures(cell.empty_stack())
    assert (f.capacity_basis, f.capacity_mAh_cm2, f.stack_thickness_um, f.areal_mass_mg_cm2) == ("none", 0.0, 0.0, 0.0)


def test_a_non_positive_average_voltage_is_refused():
    with pytest.raises(ValueError, match="average voltage must be above 0 V"):
        cell.figures(cell.from_template("full-agc"), avg_voltage_v=0.0)


def test_the_figures_dict_carries_the_c_rates():
    data = cell.figures(cell.from_template("full-agc")).to_dict()
    assert data["c_rates"]["1C"]["mA_cm2"] == pytest.approx(1.60004)
    assert data["force_n"] == pytest.approx(500.0)
