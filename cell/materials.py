"""The materials catalog: what each sheet is made of and its defaults.

The catalog is a plain JSON file in resources/ so a lab can add its own sheets
without touching code; a malformed entry is refused with a message naming it."""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache

import resources

KINDS = ("current_collector", "cathode", "electrolyte", "interlayer", "anode", "reference")
KIND_LABELS = {"current_collector": "current collector", "cathode": "cathode", "electrolyte": "electrolyte",
               "interlayer": "interlayer", "anode": "anode", "reference": "reference electrode"}


@dataclass(frozen=True)
class Material:
    key: str
    name: str
    kind: str
    density_g_cm3: float
    thickness_um: float
    label: str = ""
    color: str = "#9a9a9a"
    areal_mass_mg_cm2: float | None = None
    active_fraction: float | None = None
    specific_capacity_mAh_g: float | None = None
    practical_capacity_mAh_g: float | None = None
    ionic_conductivity_mS_cm: float | None = None
    interface_asr_ohm_cm2: float | None = None
    li_diffusivity_cm2_s: float | None = None

    @property
    def short(self) -> str:
        """The name used in stack descriptions, e.g. 'Ag-C'."""
        return self.label or self.key

    def default_areal_mass(self, thickness_um: float) -> float:
        """Areal mass in mg/cm2 for a sheet of this material at `thickness_um`.

        A catalog areal mass is the sheet's at its default thickness; other thicknesses
        keep that sheet's density."""
        if self.areal_mass_mg_cm2 is not None:
            if self.thickness_um > 0:
                return self.areal_mass_mg_cm2 * thickness_um / self.thickness_um
            return self.areal_mass_mg_cm2
        # g/cm3 x um x 1e-4 cm/um x 1e3 mg/g
        return self.density_g_cm3 * thickness_um * 0.1


class Catalog(dict):
    """Materials by key, in the catalog file's order."""

    def get_material(self, key: str) -> Material:
        try:
            return self[key]
        except KeyError:
            raise KeyError(f"unknown material {key!r}; the catalog has {', '.join(sorted(self))}") from None


_FIELDS = {f.name for f in fields(Material)} - {"key"}
_REQUIRED = {"name", "kind", "density_g_cm3", "thickness_um"}


def parse_catalog(data: dict) -> Catalog:
    """A Catalog from the JSON structure of materials.json; ValueError names a bad entry."""
    catalog = Catalog()
    for key, entry in data["materials"].items():
        unknown = set(entry) - _FIELDS
        if unknown:
            raise ValueError(f"material {key!r}: unknown field(s) {', '.join(sorted(unknown))}")
        missing = _REQUIRED - set(entry)
        if missing:
            raise ValueError(f"material {key!r}: missing {', '.join(sorted(missing))}")
        kind = entry.get("kind")
        if kind not in KINDS:
            raise ValueError(f"material {key!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if not entry["density_g_cm3"] > 0 or entry["thickness_um"] < 0:
            raise ValueError(f"material {key!r}: density must be above 0 and thickness not negative")
        catalog[key] = Material(key=key, **entry)
    return catalog


@lru_cache(maxsize=1)
def load_catalog() -> Catalog:
    """The catalog shipped in resources/materials.json (read once)."""
    return parse_catalog(resources.read_json("materials.json"))
