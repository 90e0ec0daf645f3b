"""Stacks, layers and the edits the builder makes; the catalog file and templates."""
from __future__ import annotations

import pytest

import cell
from cell.materials import load_catalog, parse_catalog
from cell.stack import Layer, Stack


def materials(stack):
    return [layer.material for layer in stack.layers]


def test_new_layer_takes_the_catalog_defaults():
    assert cell.new_layer("LPSCl") == Layer("LPSCl", 40.0, 6.8, "")
    assert cell.new_layer("NMC", lot="N7") == Layer("NMC", 28.0, 9.412, "N7")
    assert cell.new_layer("LiRE") == Layer("LiRE", 0.0, 0.0, "")


def test_insert_remove_and_move_layers():
    stack = cell.empty_stack()
    assert stack.template == cell.CUSTOM and stack.layers == ()
    for i, m in enumerate(["Al", "NMC", "Li"]):
        stack = stack.insert_layer(i, cell.new_layer(m))
    stack = stack.insert_layer(2, cell.new_layer("LPSCl"))
    assert materials(stack) == ["Al", "NMC", "LPSCl", "Li"]
    assert materials(stack.move_layer(3, 0)) == ["Li", "Al", "NMC", "LPSCl"]
    assert materials(stack.move_layer(0, 3)) == ["NMC", "LPSCl", "Li", "Al"]
    assert materials(stack.remove_layer(1)) == ["Al", "LPSCl", "Li"]
    assert materials(stack) == ["Al", "NMC", "LPSCl", "Li"]  # edits never change the original


@pytest.mark.parametrize("edit", [
    lambda s: s.remove_layer(3), lambda s: s.move_layer(0, 3), lambda s: s.insert_layer(5, cell.new_layer("Li")),
    lambda s: s.edit_layer(-1, "lot", "x"),
])
def test_a_layer_that_does_not_exist_is_named(edit):
    with pytest.raises(IndexError, match="3-layer stack|has 3 layer"):
        edit(cell.from_template("sym-bare"))


def test_a_new_thickness_keeps_the_sheet_density():
    stack = cell.from_template("sym-bare").edit_layer(1, "thickness_um", 20.0)
    assert stack.layers[1] == Layer("LPSCl", 20.0, 3.4)      # 6.8 mg/cm2 at 40 um -> 3.4 at 20 um
    weighed = stack.edit_layer(1, "areal_mass_mg_cm2", 3.9)
    assert weighed.layers[1] == Layer("LPSCl", 20.0, 3.9)     # a weighed mass keeps the thickness
    # a sheet at zero thickness takes the catalog density for its new thickness: 0.534 x 10 um
    zero = stack.edit_layer(0, "thickness_um", 0.0).edit_layer(0, "thickness_um", 10.0)
    assert zero.layers[0].areal_mass_mg_cm2 == pytest.approx(0.534)


def test_a_new_material_is_a_new_sheet_and_lots_are_trimmed():
    stack = cell.from_template("sym-bare").edit_layer(0, "lot", "  Li-2024-03 ")
    assert stack.layers[0].lot == "Li-2024-03"
    swapped = stack.edit_layer(0, "material", "Cu")
    assert swapped.layers[0] == Layer("Cu", 10.0, 8.96, "")
    with pytest.raises(KeyError, match="no field 'colour'"):
        stack.edit_layer(0, "colour", "red")
    with pytest.raises(KeyError, match="unknown material 'Zn'"):
        stack.edit_layer(0, "material", "Zn")


def test_stack_round_trips_through_a_dict_with_every_field():
    stack = cell.from_template("asym-agc", operator="CW", notes="lot A12", name="CW-031",
                               fixture_limit_mpa=50.0, based_on_build=7).edit_layer(1, "lot", "AgC-9")
    data = stack.to_dict()
    assert data["fixture_limit_mpa"] == 50.0 and data["based_on_build"] == 7 and data["layers"][1]["lot"] == "AgC-9"
    assert Stack.from_dict(data) == stack


def test_a_record_from_before_the_new_fields_still_loads():
    data = cell.from_template("sym-bare").to_dict()
    del data["fixture_limit_mpa"], data["based_on_build"]
    stack = Stack.from_dict(data)
    assert stack.fixture_limit_mpa == 25.0 and stack.based_on_build is None


def test_a_record_with_an_unknown_field_is_refused():
    data = {**cell.from_template("sym-bare").to_dict(), "colour": "red"}
    with pytest.raises(ValueError, match="no field.*colour"):
        Stack.from_dict(data)


def test_describe_uses_the_catalog_labels():
    assert cell.from_template("full-agc-3e").describe() == "Al | NMC | LPSCl | Li RE | Ag-C | Li"
    assert cell.empty_stack().describe() == "(empty)"
    odd = cell.from_template("sym-bare").with_changes(layers=(Layer("Zn", 10, 7),))
    assert odd.describe() == "Zn"


def test_template_settings_override_and_unknown_template():
    stack = cell.from_template("full-agc", area_cm2=0.785, temperature_c=25.0)
    assert (stack.area_cm2, stack.temperature_c) == (0.785, 25.0)
    with pytest.raises(KeyError, match="unknown template 'nope'; choose one of sym-bare"):
        cell.from_template("nope")
    assert cell.template_title("full-agc-3e").startswith("Three-electrode full cell")


def test_the_shipped_catalog_has_every_sheet_of_the_issue():
    catalog = load_catalog()
    kinds = {key: m.kind for key, m in catalog.items()}
    assert kinds == {"Al": "current_collector", "Cu": "current_collector", "NMC": "cathode", "LPSCl": "electrolyte",
                     "AgC": "interlayer", "C": "interlayer", "Li": "anode", "LiRE": "reference"}
    nmc = catalog["NMC"]
    assert (nmc.specific_capacity_mAh_g, nmc.active_fraction, nmc.areal_mass_mg_cm2) == (200.0, 0.85, 9.412)
    assert all(m.density_g_cm3 > 0 and m.color.startswith("#") for m in catalog.values())


@pytest.mark.parametrize("entry, message", [
    ({"name": "Zn", "kind": "metal", "density_g_cm3": 7.1, "thickness_um": 10}, "kind 'metal'"),
    ({"name": "Zn", "kind": "anode", "density_g_cm3": 7.1, "thickness_um": 10, "colour": "x"}, "unknown field.*colour"),
    ({"name": "Zn", "kind": "anode", "thickness_um": 10}, "missing density_g_cm3"),
    ({"name": "Zn", "kind": "anode", "density_g_cm3": 0, "thickness_um": 10}, "density must be above 0"),
])
def test_a_bad_catalog_entry_is_named(entry, message):
    with pytest.raises(ValueError, match=f"material 'Zn': {message}"):
        parse_catalog({"materials": {"Zn": entry}})


def test_an_unknown_material_is_named():
    with pytest.raises(KeyError, match="unknown material 'Zn'"):
        parse_catalog({"materials": {}}).get_material("Zn")
