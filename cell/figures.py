"""Figures derived from a stack: capacity, C-rate currents, force, thickness, mass
and projected energy density (DOMAIN.md, "Check on the energy density")."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from cell.stack import Stack

# The C-rates the paper reports (Fig 5b) and 1C, as (label, fraction of 1C).
C_RATES = (("C/10", 0.1), ("C/5", 0.2), ("C/3", 1 / 3), ("C/2", 0.5), ("1C", 1.0))


@dataclass(frozen=True)
class CellFigures:
    area_cm2: float
    active_mass_mg_cm2: float | None     # cathode active material, None without a cathode
    capacity_basis: str                  # what limits the capacity: "cathode", "Li foil" or "none"
    capacity_mAh_cm2: float              # theoretical, at the 1C rating
    capacity_mAh: float
    one_c_mA_cm2: float
    one_c_mA: float
    force_n: float                       # stack-pressure set-point x area
    densification_force_n: float         # densification pressure x area (the press)
    stack_thickness_um: float
    areal_mass_mg_cm2: float
    delivered_mAh_cm2: float | None      # projected delivered capacity (practical rating)
    avg_voltage_v: float
    wh_per_kg: float | None
    wh_per_l: float | None

    def c_rate_current(self, c_rate: float) -> tuple[float, float]:
        """(mA, mA/cm2) for a C-rate, e.g. 1/3 for C/3."""
        return self.one_c_mA * c_rate, self.one_c_mA_cm2 * c_rate

    def c_rates(self) -> dict[str, dict[str, float]]:
        """{"C/10": {"mA": .., "mA_cm2": ..}, ...} for the rates in C_RATES."""
        out = {}
        for label, rate in C_RATES:
            ma, ma_cm2 = self.c_rate_current(rate)
            out[label] = {"mA": ma, "mA_cm2": ma_cm2}
        return out

    def to_dict(self) -> dict:
        return {**asdict(self), "c_rates": self.c_rates()}


def figures(stack: Stack, avg_voltage_v: float = 3.70) -> CellFigures:
    """Derived figures. Cathode-limited when the stack has a cathode; otherwise the
    capacity is that of the smallest Li foil (the electrode a symmetric test drains).
    Raises ValueError for a non-positive average voltage."""
    if not avg_voltage_v > 0:
        raise ValueError(f"average voltage must be above 0 V, got {avg_voltage_v:g} V")
    area = stack.area_cm2
    active_mass = 0.0
    capacity = 0.0
    delivered = 0.0
    li_capacities = []
    for layer in stack.layers:
        material = stack.catalog.get(layer.material)
        if material is None:
            continue  # unknown material: validation reports it; it adds nothing here
        if material.kind == "cathode":
            mass = layer.areal_mass_mg_cm2 * (material.active_fraction or 1.0)
            rated = material.specific_capacity_mAh_g or 0.0
            active_mass += mass
            capacity += mass * rated / 1000.0
            delivered += mass * (material.practical_capacity_mAh_g or rated) / 1000.0
        elif material.kind == "anode" and material.specific_capacity_mAh_g:
            li_capacities.append(layer.areal_mass_mg_cm2 * material.specific_capacity_mAh_g / 1000.0)
    has_cathode = active_mass > 0
    if not has_cathode:
        capacity = min(li_capacities) if li_capacities else 0.0
    # A reference electrode sits at the edge of the electrolyte, beside the active area:
    # it adds neither thickness nor mass to the stack over that area.
    sheets = [layer for layer in stack.layers
              if layer.material not in stack.catalog or stack.catalog[layer.material].kind != "reference"]
    thickness = sum(layer.thickness_um for layer in sheets)
    mass = sum(layer.areal_mass_mg_cm2 for layer in sheets)
    wh_kg = wh_l = None
    if has_cathode and thickness > 0 and mass > 0:
        energy_mwh_cm2 = delivered * avg_voltage_v
        wh_kg = energy_mwh_cm2 / mass * 1000.0          # mWh/mg = Wh/g; x1000 -> Wh/kg
        wh_l = energy_mwh_cm2 / (thickness * 1e-4)      # mWh/cm3 = Wh/L
    newtons_per_mpa = area * 100.0                      # MPa x cm2: 1e6 N/m2 x 1e-4 m2
    return CellFigures(
        area_cm2=area,
        active_mass_mg_cm2=active_mass if has_cathode else None,
        capacity_basis="cathode" if has_cathode else ("Li foil" if li_capacities else "none"),
        capacity_mAh_cm2=capacity,
        capacity_mAh=capacity * area,
        one_c_mA_cm2=capacity,
        one_c_mA=capacity * area,
        force_n=stack.stack_pressure_mpa * newtons_per_mpa,
        densification_force_n=stack.densification_pressure_mpa * newtons_per_mpa,
        stack_thickness_um=thickness,
        areal_mass_mg_cm2=mass,
        delivered_mAh_cm2=delivered if has_cathode else None,
        avg_voltage_v=avg_voltage_v,
        wh_per_kg=wh_kg,
        wh_per_l=wh_l,
    )
