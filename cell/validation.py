"""The rules a stack must satisfy before it is built. Errors block saving; warnings
are shown and do not. Each issue names the field that is wrong."""
from __future__ import annotations

from dataclasses import dataclass

from cell.stack import Stack

ELECTRODE_KINDS = ("cathode", "anode", "interlayer")


@dataclass(frozen=True)
class Limits:
    """Bounds a lab may tune to its fixture."""
    max_stack_pressure_mpa: float = 25.0
    min_stack_pressure_mpa: float = 0.5
    low_li_contact_pressure_mpa: float = 2.0
    max_area_cm2: float = 100.0
    max_thickness_um: float = 2000.0
    max_areal_mass_mg_cm2: float = 500.0


@dataclass(frozen=True)
class Issue:
    field: str          # e.g. "area_cm2", "layers[2].thickness_um", "layers"
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def validate(stack: Stack, limits: Limits = Limits()) -> list[Issue]:
    issues: list[Issue] = []
    issues += _values(stack, limits)
    issues += _order(stack)
    return issues


def errors(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity == "error"]


def _values(stack: Stack, limits: Limits) -> list[Issue]:
    out = []
    if not 0 < stack.area_cm2 <= limits.max_area_cm2:
        out.append(Issue("area_cm2", f"cell area must be above 0 and at most {limits.max_area_cm2:g} cm2, got {stack.area_cm2:g}"))
    p = stack.stack_pressure_mpa
    if p > limits.max_stack_pressure_mpa:
        out.append(Issue("stack_pressure_mpa", f"{p:g} MPa is above the fixture limit of {limits.max_stack_pressure_mpa:g} MPa"))
    elif p < limits.min_stack_pressure_mpa:
        out.append(Issue("stack_pressure_mpa", f"{p:g} MPa is below the minimum of {limits.min_stack_pressure_mpa:g} MPa"))
    elif p < limits.low_li_contact_pressure_mpa and "anode" in stack.kinds():
        out.append(Issue("stack_pressure_mpa", f"{p:g} MPa is low for Li contact (the paper uses 5 MPa)", "warning"))
    if stack.densification_pressure_mpa <= 0:
        out.append(Issue("densification_pressure_mpa", "densification pressure must be above 0 MPa"))
    if not -40.0 <= stack.temperature_c <= 150.0:
        out.append(Issue("temperature_c", f"{stack.temperature_c:g} C is outside -40..150 C"))
    for i, layer in enumerate(stack.layers):
        try:
            kind = stack.material(layer).kind
        except KeyError as exc:
            out.append(Issue(f"layers[{i}].material", str(exc.args[0])))
            continue
        # A reference wire has no thickness in the stack; every sheet has some.
        too_thin = layer.thickness_um < 0 if kind == "reference" else layer.thickness_um <= 0
        if too_thin or layer.thickness_um > limits.max_thickness_um:
            out.append(Issue(f"layers[{i}].thickness_um", f"{layer.material} thickness must be above 0 and at most {limits.max_thickness_um:g} um, got {layer.thickness_um:g}"))
        if kind != "reference" and not 0 < layer.areal_mass_mg_cm2 <= limits.max_areal_mass_mg_cm2:
            out.append(Issue(f"layers[{i}].areal_mass_mg_cm2", f"{layer.material} areal mass must be above 0 and at most {limits.max_areal_mass_mg_cm2:g} mg/cm2, got {layer.areal_mass_mg_cm2:g}"))
    return out


def _order(stack: Stack) -> list[Issue]:
    try:
        kinds = stack.kinds()
    except KeyError:
        return []  # already reported per layer
    if len(stack.layers) < 2:
        return [Issue("layers", "a cell needs at least an electrolyte and two electrodes")]
    out = []
    core = [(i, k) for i, k in enumerate(kinds) if k != "reference"]
    if "electrolyte" not in kinds:
        return [Issue("layers", "no electrolyte layer: add an LPSCl sheet between the electrodes")]
    # Split at the electrolyte: the layers below and above it form the two electrodes.
    el = [pos for pos, (_, k) in enumerate(core) if k == "electrolyte"]
    if el != list(range(el[0], el[-1] + 1)):
        out.append(Issue("layers", "electrolyte sheets must be adjacent: an electrode sits between two electrolyte layers"))
    below, above = core[: el[0]], core[el[-1] + 1 :]
    for side, name in ((below, "below"), (above, "above")):
        if not any(k in ELECTRODE_KINDS for _, k in side):
            out.append(Issue("layers", f"no electrode {name} the electrolyte"))
    for (i, a), (j, b) in zip(core, core[1:]):
        if a == b == "anode":
            out.append(Issue(f"layers[{j}].material", f"two Li anodes touch (layers {i} and {j}) with no electrolyte between them"))
    for pos, (i, k) in enumerate(core):
        if k == "current_collector" and 0 < pos < len(core) - 1:
            out.append(Issue(f"layers[{i}].material", "a current collector must be the outermost layer of its side"))
    for side in (below, above):
        side_kinds = [k for _, k in side]
        if "cathode" in side_kinds and "current_collector" not in side_kinds:
            out.append(Issue("layers", "the cathode has no current collector: add Al foil on its outer side"))
    for i, k in enumerate(kinds):
        if k == "reference":
            neighbours = {kinds[j] for j in (i - 1, i + 1) if 0 <= j < len(kinds)}
            if "electrolyte" not in neighbours:
                out.append(Issue(f"layers[{i}].material", "the reference electrode must touch the electrolyte"))
    return out
