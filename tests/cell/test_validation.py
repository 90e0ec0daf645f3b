"""Each validation rule: the bad input, the field it names, its message, and whether it
blocks (error) or only warns."""
from __future__ import annotations

import pytest

import cell
from cell.stack import Layer
from cell.validation import Issue, Limits, errors, validate, warnings


def fields(stack, severity="error"):
    return {i.field for i in validate(stack) if i.severity == severity}


def messages(stack, severity="error"):
    return [i.message for i in validate(stack) if i.severity == severity]


def built(*materials, **settings):
    """A stack of catalog-default sheets, bottom to top."""
    return cell.Stack(template=cell.CUSTOM, layers=tuple(cell.new_layer(m) for m in materials), **settings)


def test_every_template_has_no_issue_at_all():
    for name in cell.template_names():
        assert validate(cell.from_template(name)) == [], name


# -- set-points --
@pytest.mark.parametrize("area", [0.0, -1.0, 100.01, 1000.0])
def test_bad_area(area):
    issues = validate(cell.from_template("sym-bare", area_cm2=area))
    assert [(i.field, i.severity) for i in issues] == [("area_cm2", "error")]
    assert f"got {area:g} cm²" in issues[0].message


def test_largest_area_is_allowed():
    assert validate(cell.from_template("sym-bare", area_cm2=100.0)) == []


def test_pressure_above_the_fixture_limit():
    stack = cell.from_template("sym-bare", stack_pressure_mpa=30.0)
    assert messages(stack) == ["30 MPa is above the fixture limit of 25 MPa"]
    assert fields(stack) == {"stack_pressure_mpa"}
    # the limit is the fixture's, set per build
    assert validate(stack.with_changes(fixture_limit_mpa=50.0)) == []
    assert fields(cell.from_template("sym-bare", fixture_limit_mpa=4.0)) == {"stack_pressure_mpa"}
    assert validate(cell.from_template("sym-bare", stack_pressure_mpa=25.0)) == []  # at the limit is fine


@pytest.mark.parametrize("pressure", [0.0, 0.1, 0.49])
def test_pressure_below_the_minimum(pressure):
    stack = cell.from_template("sym-bare", stack_pressure_mpa=pressure)
    assert messages(stack) == [f"{pressure:g} MPa is below the minimum of 0.5 MPa"]


def test_low_pressure_warns_for_li_without_blocking():
    stack = cell.from_template("sym-bare", stack_pressure_mpa=1.0)
    assert errors(validate(stack)) == []
    assert messages(stack, "warning") == ["1 MPa is low for Li contact (the paper uses 5 MPa)"]
    # an anode-free cell has no Li foil to lose contact
    assert validate(built("Al", "NMC", "LPSCl", "Cu", stack_pressure_mpa=1.0)) == []


@pytest.mark.parametrize("limit", [0.0, -5.0, 1500.0])
def test_bad_fixture_limit(limit):
    assert fields(cell.from_template("sym-bare", fixture_limit_mpa=limit)) == {"fixture_limit_mpa"}


@pytest.mark.parametrize("pressure", [0.0, -1.0, 2500.0])
def test_bad_densification_pressure(pressure):
    assert fields(cell.from_template("full-agc", densification_pressure_mpa=pressure)) == {"densification_pressure_mpa"}


def test_densification_below_the_stack_pressure_warns():
    stack = cell.from_template("full-agc", densification_pressure_mpa=3.0)
    assert errors(validate(stack)) == [] and fields(stack, "warning") == {"densification_pressure_mpa"}


@pytest.mark.parametrize("temperature", [-41.0, 151.0, 200.0])
def test_bad_temperature(temperature):
    assert messages(cell.from_template("full-agc", temperature_c=temperature)) == [
        f"{temperature:g} °C is outside -40 to 150 °C"]


# -- sheets --
@pytest.mark.parametrize("thickness", [0.0, -3.0, 2000.5, 1e6, 5e-324, 0.0004])
def test_non_positive_or_absurd_thickness(thickness):
    stack = cell.from_template("sym-bare")
    layers = list(stack.layers)
    layers[1] = Layer("LPSCl", thickness, 6.8)
    issues = errors(validate(stack.with_changes(layers=tuple(layers))))
    assert [i.field for i in issues] == ["layers[1].thickness_um"]
    assert issues[0].message.startswith(f"layer 2 (LPSCl): thickness must be 0.001 to 2000 µm, got {thickness:g}")


@pytest.mark.parametrize("mass", [0.0, -1.0, 501.0])
def test_non_positive_or_absurd_areal_mass(mass):
    stack = cell.from_template("full-agc")
    layers = list(stack.layers)
    layers[1] = Layer("NMC", 28.0, mass)
    assert fields(stack.with_changes(layers=tuple(layers))) == {"layers[1].areal_mass_mg_cm2"}


def test_a_mass_that_does_not_fit_the_thickness_warns_of_units():
    stack = cell.from_template("sym-bare")
    layers = list(stack.layers)
    layers[1] = Layer("LPSCl", 40.0, 68.0)        # 10x: 17 g/cm3 against 1.7
    issues = validate(stack.with_changes(layers=tuple(layers)))
    assert [(i.field, i.severity) for i in issues] == [("layers[1].areal_mass_mg_cm2", "warning")]
    assert "means 17 g/cm³, the catalog says 1.7 g/cm³: check the units" in issues[0].message
    layers[1] = Layer("LPSCl", 40.0, 6.8 * 1.9)   # within the 2x tolerance
    assert validate(stack.with_changes(layers=tuple(layers))) == []
    assert validate(stack.with_changes(layers=tuple(layers)), Limits(density_tolerance=1.5)) != []


def test_a_reference_wire_may_have_no_thickness_but_not_a_negative_one():
    stack = cell.from_template("full-agc-3e")
    assert stack.layers[3] == Layer("LiRE", 0.0, 0.0)
    layers = list(stack.layers)
    layers[3] = Layer("LiRE", -1.0, 0.0)
    assert fields(stack.with_changes(layers=tuple(layers))) == {"layers[3].thickness_um"}


def test_an_unknown_material_is_reported_not_raised():
    stack = cell.from_template("sym-bare")
    stack = stack.with_changes(layers=(Layer("Zn", 10, 7), *stack.layers[1:]))
    issues = validate(stack)
    assert [i.field for i in issues] == ["layers[0].material"]
    assert issues[0].message.startswith("layer 1: unknown material 'Zn'")


# -- order --
def test_an_empty_stack():
    assert messages(built()) == ["the stack is empty: add the bottom sheet first"]


def test_no_electrolyte_between_the_electrodes():
    assert messages(built("Li", "AgC", "Li")) == ["no electrolyte: add an LPSCl sheet between the electrodes"]


def test_electrode_between_two_electrolyte_sheets():
    stack = built("Li", "LPSCl", "AgC", "LPSCl", "Li")
    assert fields(stack) == {"layers[2].material"}
    assert "layer 3 (Ag-C) sits between two electrolyte sheets" in messages(stack)[0]
    assert validate(built("Li", "LPSCl", "LPSCl", "Li")) == []  # two sheets pressed together are one block


@pytest.mark.parametrize("materials, where", [(("LPSCl", "Li"), "below"), (("Li", "LPSCl"), "above"),
                                              (("Li", "LPSCl", "Cu"), "above")])
def test_missing_electrode_on_one_side(materials, where):
    assert f"no electrode {where} the electrolyte: add Li foil, an interlayer or a cathode" in messages(built(*materials))


def test_an_anode_free_full_cell_is_allowed():
    assert validate(built("Al", "NMC", "LPSCl", "Cu")) == []
    assert validate(built("Al", "NMC", "LPSCl", "AgC", "Cu")) == []


def test_two_anodes_touching():
    stack = built("Li", "Li", "LPSCl", "Li")
    assert fields(stack) == {"layers[1].material"}
    assert messages(stack) == ["layer 2 (Li) touches layer 1 (Li): two Li anodes with no electrolyte between them"]
    # without any electrolyte each touching pair is still named at its sheet
    assert fields(built("Li", "Li", "Li")) == {"layers", "layers[1].material", "layers[2].material"}


def test_cathode_and_anode_on_the_same_side_short():
    stack = built("Al", "NMC", "Li", "LPSCl", "Li")
    assert "the cathode and a Li anode are both below the electrolyte: they touch and short" in messages(stack)


def test_full_cell_without_its_current_collector():
    stack = built("NMC", "LPSCl", "AgC", "Li")
    assert messages(stack) == ["the cathode (below the electrolyte) has no current collector: add Al foil on its outer side"]
    assert fields(stack) == {"layers"}


def test_an_interlayer_working_electrode_needs_a_current_collector():
    assert messages(built("AgC", "LPSCl", "Li")) == [
        "the interlayer below the electrolyte has nothing to contact it: add a Cu current collector on its outer side"]
    assert validate(built("Cu", "AgC", "LPSCl", "Li")) == []


def test_current_collector_inside_the_stack():
    stack = built("NMC", "Al", "LPSCl", "Li")
    assert "layers[1].material" in fields(stack)
    assert "layer 2 (Al): a current collector must be the outermost sheet of its side" in messages(stack)


def test_reference_electrode_must_touch_the_electrolyte():
    stack = built("LiRE", "Al", "NMC", "LPSCl", "AgC", "Li")
    assert fields(stack) == {"layers[0].material"}
    assert validate(built("Al", "NMC", "LPSCl", "LiRE", "AgC", "Li")) == []
    assert validate(built("Al", "NMC", "LiRE", "LPSCl", "AgC", "Li")) == []


def test_the_wrong_foil_on_a_side_warns():
    al_on_li = built("Al", "Li", "LPSCl", "Li")
    assert errors(validate(al_on_li)) == []
    assert messages(al_on_li, "warning") == ["layer 1 (Al): Al alloys with lithium on the Li side; use Cu"]
    cu_on_nmc = built("Cu", "NMC", "LPSCl", "Li")
    assert messages(cu_on_nmc, "warning") == ["layer 1 (Cu): Cu corrodes at cathode potentials; use Al"]


def test_issues_name_their_layer_and_print_with_their_field():
    assert Issue("layers[12].thickness_um", "m").layer == 12
    assert Issue("area_cm2", "m").layer is None and Issue("layers", "m").layer is None
    assert str(Issue("area_cm2", "too big")) == "area_cm2: too big"
    mixed = [Issue("a", "x"), Issue("b", "y", "warning")]
    assert [i.field for i in errors(mixed)] == ["a"] and [i.field for i in warnings(mixed)] == ["b"]
