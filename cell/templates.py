"""Ready stacks for every configuration in the paper (resources/templates.json)."""
from __future__ import annotations

from functools import lru_cache

import resources
from cell.materials import load_catalog
from cell.stack import Layer, Stack

SETTINGS = ("area_cm2", "stack_pressure_mpa", "densification_pressure_mpa", "temperature_c", "fixture_limit_mpa")


@lru_cache(maxsize=1)
def _templates() -> dict:
    return resources.read_json("templates.json")["templates"]


def template_names() -> list[str]:
    return list(_templates())


def template_title(name: str) -> str:
    return _spec(name)["title"]


def _spec(name: str) -> dict:
    templates = _templates()
    if name not in templates:
        raise KeyError(f"unknown template {name!r}; choose one of {', '.join(templates)}")
    return templates[name]


def from_template(template: str, /, **settings) -> Stack:
    """A new stack from `template`; keyword settings (area_cm2, name, ...) override."""
    spec = _spec(template)
    catalog = load_catalog()
    layers = []
    for entry in spec["layers"]:
        material = catalog.get_material(entry["material"])
        thickness = float(entry.get("thickness_um", material.thickness_um))
        mass = float(entry.get("areal_mass_mg_cm2", round(material.default_areal_mass(thickness), 4)))
        layers.append(Layer(material.key, thickness, mass, entry.get("lot", "")))
    defaults = {key: float(spec[key]) for key in SETTINGS if key in spec}
    defaults.update(settings)
    return Stack(template=template, layers=tuple(layers), **defaults)
