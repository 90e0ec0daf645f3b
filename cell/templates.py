"""Ready stacks for every configuration in the paper (resources/templates.json)."""
from __future__ import annotations

from functools import lru_cache

import resources
from cell.materials import load_catalog
from cell.stack import Layer, Stack


@lru_cache(maxsize=1)
def _templates() -> dict:
    return resources.read_json("templates.json")["templates"]


def template_names() -> list[str]:
    return list(_templates())


def template_title(name: str) -> str:
    return _templates()[name]["title"]


def from_template(name: str, **settings) -> Stack:
    """A new stack from template `name`; keyword settings (area_cm2, ...) override."""
    templates = _templates()
    if name not in templates:
        raise KeyError(f"unknown template {name!r}; choose one of {', '.join(templates)}")
    spec = templates[name]
    catalog = load_catalog()
    layers = []
    for entry in spec["layers"]:
        material = catalog.get_material(entry["material"])
        thickness = float(entry.get("thickness_um", material.thickness_um))
        mass = float(entry.get("areal_mass_mg_cm2", material.default_areal_mass(thickness)))
        layers.append(Layer(material.key, thickness, mass))
    defaults = {"temperature_c": float(spec.get("temperature_c", 25.0))}
    defaults.update(settings)
    return Stack(template=name, layers=tuple(layers), **defaults)
