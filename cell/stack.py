"""Layers and stacks: exactly what an operator built, bottom to top, with the
process set-points the notebook keeps."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from cell.materials import Catalog, Material, load_catalog


@dataclass(frozen=True)
class Layer:
    material: str
    thickness_um: float
    areal_mass_mg_cm2: float
    lot: str = ""


@dataclass(frozen=True)
class Stack:
    template: str
    layers: tuple[Layer, ...]
    area_cm2: float = 1.0
    stack_pressure_mpa: float = 5.0
    densification_pressure_mpa: float = 375.0
    temperature_c: float = 25.0
    operator: str = ""
    notes: str = ""
    name: str = ""
    catalog: Catalog = field(default_factory=load_catalog, compare=False, repr=False)

    def material(self, layer: Layer) -> Material:
        return self.catalog.get_material(layer.material)

    def kinds(self) -> list[str]:
        return [self.material(layer).kind for layer in self.layers]

    def with_changes(self, **changes) -> "Stack":
        return replace(self, **changes)

    def describe(self) -> str:
        """The stack as the paper writes it, e.g. 'Li | Ag-C | LPSCl | Li'."""
        labels = {"AgC": "Ag-C"}
        return " | ".join(labels.get(layer.material, layer.material) for layer in self.layers)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("catalog")
        data["layers"] = [asdict(layer) for layer in self.layers]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Stack":
        data = dict(data)
        data["layers"] = tuple(Layer(**layer) for layer in data["layers"])
        return cls(**data)
