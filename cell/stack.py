"""Layers and stacks: exactly what an operator built, bottom to top, with the
process set-points the notebook keeps, and the edits the builder makes to them.

Stacks are immutable; every edit returns a new stack, which is what makes undo in
the builder a matter of keeping the previous value."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from cell.materials import Catalog, Material, load_catalog

CUSTOM = "custom"  # the template name of a stack started empty

LAYER_FIELDS = ("material", "thickness_um", "areal_mass_mg_cm2", "lot")


@dataclass(frozen=True)
class Layer:
    material: str
    thickness_um: float
    areal_mass_mg_cm2: float
    lot: str = ""   # lot / batch id of the sheet, for traceability


def new_layer(material: str, catalog: Catalog | None = None, lot: str = "") -> Layer:
    """A sheet of `material` at the catalog's default thickness and areal mass."""
    m = (catalog or load_catalog()).get_material(material)
    return Layer(m.key, m.thickness_um, round(m.default_areal_mass(m.thickness_um), 4), lot)


@dataclass(frozen=True)
class Stack:
    template: str                       # where it started: a template name, or CUSTOM
    layers: tuple[Layer, ...]
    area_cm2: float = 1.0
    stack_pressure_mpa: float = 5.0
    densification_pressure_mpa: float = 375.0
    temperature_c: float = 25.0
    operator: str = ""
    notes: str = ""
    name: str = ""                      # the cell's own id, e.g. "CW-031"
    fixture_limit_mpa: float = 25.0     # rated maximum of the pressure fixture used
    based_on_build: int | None = None   # the saved build this one was cloned from
    catalog: Catalog = field(default_factory=load_catalog, compare=False, repr=False)

    def material(self, layer: Layer) -> Material:
        return self.catalog.get_material(layer.material)

    def kinds(self) -> list[str]:
        return [self.material(layer).kind for layer in self.layers]

    def with_changes(self, **changes) -> "Stack":
        return replace(self, **changes)

    def describe(self) -> str:
        """The stack as the paper writes it, e.g. 'Li | Ag-C | LPSCl | Li'."""
        if not self.layers:
            return "(empty)"
        return " | ".join(self.label(layer) for layer in self.layers)

    def label(self, layer: Layer) -> str:
        material = self.catalog.get(layer.material)
        return material.short if material else layer.material

    # -- edits: each returns a new stack --
    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.layers):
            raise IndexError(f"no layer {index + 1}: the stack has {len(self.layers)} layer(s)")

    def insert_layer(self, index: int, layer: Layer) -> "Stack":
        """Insert `layer` at position `index` (0 = bottom, len = on top)."""
        if not 0 <= index <= len(self.layers):
            raise IndexError(f"cannot insert at position {index + 1} of a {len(self.layers)}-layer stack")
        return replace(self, layers=self.layers[:index] + (layer,) + self.layers[index:])

    def remove_layer(self, index: int) -> "Stack":
        self._check_index(index)
        return replace(self, layers=self.layers[:index] + self.layers[index + 1:])

    def move_layer(self, index: int, to: int) -> "Stack":
        """Take the layer at `index` out and put it back at `to`."""
        self._check_index(index)
        self._check_index(to)
        layers = list(self.layers)
        layers.insert(to, layers.pop(index))
        return replace(self, layers=tuple(layers))

    def edit_layer(self, index: int, name: str, value) -> "Stack":
        """Set one field of one layer, as an operator edits it.

        A new material is a different sheet: it comes with that material's defaults and
        no lot. A new thickness keeps the sheet's density, so the areal mass scales with
        it (a weighed areal mass is entered after the thickness)."""
        self._check_index(index)
        if name not in LAYER_FIELDS:
            raise KeyError(f"a layer has no field {name!r}; it has {', '.join(LAYER_FIELDS)}")
        old = self.layers[index]
        if name == "material":
            layer = new_layer(str(value), self.catalog)
        elif name == "thickness_um":
            thickness = float(value)
            if old.thickness_um > 0:
                mass = old.areal_mass_mg_cm2 * thickness / old.thickness_um
            else:
                mass = self.catalog.get_material(old.material).default_areal_mass(thickness)
            layer = replace(old, thickness_um=thickness, areal_mass_mg_cm2=round(mass, 4))
        elif name == "areal_mass_mg_cm2":
            layer = replace(old, areal_mass_mg_cm2=float(value))
        else:
            layer = replace(old, lot=str(value).strip())
        return replace(self, layers=self.layers[:index] + (layer,) + self.layers[index + 1:])

    # -- storage --
    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("catalog")
        data["layers"] = [asdict(layer) for layer in self.layers]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Stack":
        known = {f.name for f in fields(cls)} - {"catalog"}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"a stack has no field(s) {', '.join(sorted(unknown))}")
        data = dict(data)
        data["layers"] = tuple(Layer(**layer) for layer in data["layers"])
        return cls(**data)


def empty_stack(**settings) -> Stack:
    """A stack with no layers yet, for building from scratch."""
    return Stack(template=CUSTOM, layers=(), **settings)
