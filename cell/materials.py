"""The materials catalog: what each sheet is made of and its defaults.

The catalog is a plain JSON file in resources/ so a lab can add its own sheets
without touching code."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import resources

KINDS = ("current_collector", "cathode", "electrolyte", "interlayer", "anode", "reference")


@dataclass(frozen=True)
class Material:
    key: str
    name: str
    kind: str
    density_g_cm3: float
    thickness_um: float
    areal_mass_mg_cm2: float | None = None
    active_fraction: float | None = None
    specific_capacity_mAh_g: float | None = None
    practical_capacity_mAh_g: float | None = None
    ionic_conductivity_mS_cm: float | None = None
    interface_asr_ohm_cm2: float | None = None
    li_diffusivity_cm2_s: float | None = None

    def default_areal_mass(self, thickness_um: float) -> float:
        """Areal mass in mg/cm2 for a sheet of this material at `thickness_um`."""
        if self.areal_mass_mg_cm2 is not None and thickness_um == self.thickness_um:
            return self.areal_mass_mg_cm2
        # g/cm3 x um x 1e-4 cm/um x 1e3 mg/g
        return self.density_g_cm3 * thickness_um * 0.1


class Catalog(dict):
    """Materials by key."""

    def get_material(self, key: str) -> Material:
        try:
            return self[key]
        except KeyError:
            raise KeyError(f"unknown material {key!r}; the catalog has {', '.join(sorted(self))}") from None


def parse_catalog(data: dict) -> Catalog:
    catalog = Catalog()
    for key, entry in data["materials"].items():
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ValueError(f"material {key!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        catalog[key] = Material(key=key, **entry)
    return catalog


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog shipped in resources/materials.json (read once)."""
    return parse_catalog(resources.read_json("materials.json"))
