"""Each validation rule, with the field it names."""
from __future__ import annotations

import pytest

import cell
from cell.stack import Layer
from cell.validation import Limits, errors, validate


def fields(stack, severity="error"):
    return {i.field for i in validate(stack) if i.severity == severity}


def with_layers(name, materials):
    stack = cell.from_template(name)
    catalog = stack.catalog
    layers = tuple(Layer(m, catalog[m].thickness_um or 1.0, catalog[m].default_areal_mass(catalog[m].thickness_um) or 1.0)
                   for m in materials)
    return stack.with_changes(layers=layers)


@pytest.mark.parametrize("area", [0.0, -1.0, 1000.0])
def test_bad_area(area):
    assert "area_cm2" in fields(cell.from_template("sym-bare", area_cm2=area))


def test_pressure_above_fixture_limit_and_below_minimum():
    assert "stack_pressure_mpa" in fields(cell.from_template("sym-bare", stack_pressure_mpa=30.0))
    assert "stack_pressure_mpa" in fields(cell.from_template("sym-bare", stack_pressure_mpa=0.1))
    # the fixture limit is configurable
    stack = cell.from_template("sym-bare", stack_pressure_mpa=30.0)
    assert errors(validate(stack, Limits(max_stack_pressure_mpa=50.0))) == []


def test_low_pressure_warns_without_blocking():
    stack = cell.from_template("sym-bare", stack_pressure_mpa=1.0)
    assert errors(validate(stack)) == []
    assert "stack_pressure_mpa" in fields(stack, "warning")


def test_non_positive_thickness_and_mass_name_the_layer():
    stack = cell.from_template("sym-bare")
    layers = list(stack.layers)
    layers[1] = Layer("LPSCl", 0.0, -2.0)
    got = fields(stack.with_changes(layers=tuple(layers)))
    assert {"layers[1].thickness_um", "layers[1].areal_mass_mg_cm2"} <= got


def test_no_electrolyte():
    assert "layers" in fields(with_layers("sym-bare", ["Li", "AgC", "Li"]))


def test_two_anodes_touching():
    got = fields(with_layers("sym-bare", ["Li", "Li", "LPSCl", "Li"]))
    assert "layers[1].material" in got


def test_missing_electrode_on_one_side():
    assert "layers" in fields(with_layers("sym-bare", ["LPSCl", "Li"]))


def test_full_cell_without_current_collector():
    issues = validate(with_layers("full-agc", ["NMC", "LPSCl", "AgC", "Li"]))
    assert any("no current collector" in i.message for i in issues)


def test_current_collector_inside_the_stack():
    assert "layers[1].material" in fields(with_layers("full-agc", ["NMC", "Al", "LPSCl", "Li"]))


def test_reference_electrode_must_touch_electrolyte():
    assert "layers[0].material" in fields(with_layers("full-agc-3e", ["LiRE", "Al", "NMC", "LPSCl", "AgC", "Li"]))


def test_unknown_material_is_reported_not_raised():
    stack = cell.from_template("sym-bare")
    stack = stack.with_changes(layers=(Layer("Zn", 10, 7), *stack.layers[1:]))
    assert "layers[0].material" in fields(stack)
