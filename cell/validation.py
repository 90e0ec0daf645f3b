"""The rules a stack must satisfy before it is built. Errors block saving; warnings
are shown and do not. Each issue names the field that is wrong, in the form the
builder and the notebook use: "area_cm2", "layers[2].thickness_um", or "layers" for
the order of the stack as a whole. Messages number layers from 1 at the bottom."""
from __future__ import annotations

import math
from dataclasses import dataclass

from cell.stack import Stack

ELECTRODE_KINDS = ("cathode", "anode", "interlayer")


@dataclass(frozen=True)
class Limits:
    """Bounds of what is plausible. The fixture's pressure limit is not here: it is a
    set-point of each build (Stack.fixture_limit_mpa), recorded with it."""
    min_stack_pressure_mpa: float = 0.5
    low_li_contact_pressure_mpa: float = 2.0     # below this Li loses contact (paper: 5 MPa)
    max_fixture_limit_mpa: float = 1000.0
    max_area_cm2: float = 100.0
    max_thickness_um: float = 2000.0
    min_thickness_um: float = 0.001             # thinner than a nanometre is a typing slip, not a sheet
    max_areal_mass_mg_cm2: float = 500.0
    max_densification_pressure_mpa: float = 2000.0
    min_temperature_c: float = -40.0
    max_temperature_c: float = 150.0             # well below Li's melting point, 180.5 C
    density_tolerance: float = 2.0               # areal mass / thickness vs the catalog density


@dataclass(frozen=True)
class Issue:
    field: str          # e.g. "area_cm2", "layers[2].thickness_um", "layers"
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    @property
    def layer(self) -> int | None:
        """The 0-based layer index the issue is about, if it is about one layer."""
        return layer_of(self.field)


def layer_of(field: str) -> int | None:
    """2 for "layers[2].thickness_um"; None for a field that is not one layer's."""
    if field.startswith("layers["):
        return int(field[len("layers["):field.index("]")])
    return None


SETPOINT_FIELDS = ("area_cm2", "stack_pressure_mpa", "densification_pressure_mpa", "temperature_c", "fixture_limit_mpa")


def validate(stack: Stack, limits: Limits = Limits()) -> list[Issue]:
    """Every problem of `stack`, errors and warnings, in the order of the fields."""
    not_finite = _not_finite(stack)
    bad = {issue.field for issue in not_finite}
    # A NaN compares false with every bound, so the range rules below would let it pass
    # (or judge the other fields against it): such a field gets only its own error.
    if any(field in bad for field in ("stack_pressure_mpa", "fixture_limit_mpa")):
        bad |= {"stack_pressure_mpa", "densification_pressure_mpa"}
    checked = [issue for issue in _setpoints(stack, limits) + _layers(stack, limits) if issue.field not in bad]
    return not_finite + checked + _order(stack)


def _not_finite(stack: Stack) -> list[Issue]:
    """Every number of the stack must be finite: NaN and infinity are typing slips or
    damaged data, never a set-point."""
    values = [(name, name.rsplit("_", 1)[0].replace("_", " "), getattr(stack, name)) for name in SETPOINT_FIELDS]
    for i, layer in enumerate(stack.layers):
        values += [(f"layers[{i}].thickness_um", f"layer {i + 1} thickness", layer.thickness_um),
                   (f"layers[{i}].areal_mass_mg_cm2", f"layer {i + 1} areal mass", layer.areal_mass_mg_cm2)]
    return [Issue(name, f"{what} must be a finite number, got {value}") for name, what, value in values
            if isinstance(value, float) and not math.isfinite(value)]


def errors(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity == "error"]


def warnings(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity == "warning"]


def _setpoints(stack: Stack, limits: Limits) -> list[Issue]:
    out = []
    if not 0 < stack.area_cm2 <= limits.max_area_cm2:
        out.append(Issue("area_cm2", f"cell area must be above 0 and at most {limits.max_area_cm2:g} cm², got {stack.area_cm2:g} cm²"))
    fixture = stack.fixture_limit_mpa
    if not 0 < fixture <= limits.max_fixture_limit_mpa:
        out.append(Issue("fixture_limit_mpa", f"fixture limit must be above 0 and at most {limits.max_fixture_limit_mpa:g} MPa, got {fixture:g} MPa"))
    p = stack.stack_pressure_mpa
    if 0 < fixture and p > fixture:
        out.append(Issue("stack_pressure_mpa", f"{p:g} MPa is above the fixture limit of {fixture:g} MPa"))
    elif p < limits.min_stack_pressure_mpa:
        out.append(Issue("stack_pressure_mpa", f"{p:g} MPa is below the minimum of {limits.min_stack_pressure_mpa:g} MPa"))
    elif p < limits.low_li_contact_pressure_mpa and "anode" in _kinds(stack):
        out.append(Issue("stack_pressure_mpa", f"{p:g} MPa is low for Li contact (the paper uses 5 MPa)", "warning"))
    d = stack.densification_pressure_mpa
    if not 0 < d <= limits.max_densification_pressure_mpa:
        out.append(Issue("densification_pressure_mpa", f"densification pressure must be above 0 and at most {limits.max_densification_pressure_mpa:g} MPa, got {d:g} MPa"))
    elif d < p:
        out.append(Issue("densification_pressure_mpa", f"densification at {d:g} MPa is below the stack pressure of {p:g} MPa (the paper densifies at 375 MPa)", "warning"))
    t = stack.temperature_c
    if not limits.min_temperature_c <= t <= limits.max_temperature_c:
        out.append(Issue("temperature_c", f"{t:g} °C is outside {limits.min_temperature_c:g} to {limits.max_temperature_c:g} °C"))
    return out


def _kinds(stack: Stack) -> list[str]:
    return [stack.catalog[layer.material].kind for layer in stack.layers if layer.material in stack.catalog]


def _name(stack: Stack, i: int) -> str:
    return f"layer {i + 1} ({stack.label(stack.layers[i])})"


def _layers(stack: Stack, limits: Limits) -> list[Issue]:
    out = []
    for i, layer in enumerate(stack.layers):
        try:
            material = stack.material(layer)
        except KeyError as exc:
            out.append(Issue(f"layers[{i}].material", f"layer {i + 1}: {exc.args[0]}"))
            continue
        name = _name(stack, i)
        t, m = layer.thickness_um, layer.areal_mass_mg_cm2
        if material.kind == "reference":
            # A reference wire sits beside the stack: it adds no thickness or mass to it.
            if not 0 <= t <= limits.max_thickness_um:
                out.append(Issue(f"layers[{i}].thickness_um", f"{name}: thickness must be 0 to {limits.max_thickness_um:g} µm, got {t:g} µm"))
            if not 0 <= m <= limits.max_areal_mass_mg_cm2:
                out.append(Issue(f"layers[{i}].areal_mass_mg_cm2", f"{name}: areal mass must be 0 to {limits.max_areal_mass_mg_cm2:g} mg/cm², got {m:g} mg/cm²"))
            continue
        t_ok = limits.min_thickness_um <= t <= limits.max_thickness_um
        m_ok = 0 < m <= limits.max_areal_mass_mg_cm2
        if not t_ok:
            out.append(Issue(f"layers[{i}].thickness_um", f"{name}: thickness must be {limits.min_thickness_um:g} to {limits.max_thickness_um:g} µm, got {t:g} µm"))
        if not m_ok:
            out.append(Issue(f"layers[{i}].areal_mass_mg_cm2", f"{name}: areal mass must be above 0 and at most {limits.max_areal_mass_mg_cm2:g} mg/cm², got {m:g} mg/cm²"))
        if t_ok and m_ok:
            density = m / (t * 0.1)   # mg/cm2 over um x 1e-4 cm x 1e3 mg/g -> g/cm3
            ratio = density / material.density_g_cm3
            if not 1 / limits.density_tolerance <= ratio <= limits.density_tolerance:
                out.append(Issue(f"layers[{i}].areal_mass_mg_cm2",
                                 f"{name}: {m:g} mg/cm² at {t:g} µm means {density:.3g} g/cm³, the catalog says "
                                 f"{material.density_g_cm3:g} g/cm³: check the units", "warning"))
    return out


def _order(stack: Stack) -> list[Issue]:
    """Rules about the order of the sheets; each names the sheet it is about where it can."""
    if len(_kinds(stack)) != len(stack.layers):
        return []  # an unknown material is already reported at its layer
    if not stack.layers:
        return [Issue("layers", "the stack is empty: add the bottom sheet first")]
    kinds = stack.kinds()
    core = [(i, k) for i, k in enumerate(kinds) if k != "reference"]
    core_kinds = [k for _, k in core]
    if "electrolyte" in core_kinds:
        out = _sides(stack, core)
    else:
        out = [Issue("layers", "no electrolyte: add an LPSCl sheet between the electrodes")]
    for (i, a), (j, b) in zip(core, core[1:]):
        if a == b == "anode":
            out.append(Issue(f"layers[{j}].material", f"{_name(stack, j)} touches {_name(stack, i)}: two Li anodes with no electrolyte between them"))
    for pos, (i, k) in enumerate(core):
        if k == "current_collector" and 0 < pos < len(core) - 1:
            out.append(Issue(f"layers[{i}].material", f"{_name(stack, i)}: a current collector must be the outermost sheet of its side"))
    for i, k in enumerate(kinds):
        if k == "reference":
            neighbours = {kinds[j] for j in (i - 1, i + 1) if 0 <= j < len(kinds)}
            if "electrolyte" not in neighbours:
                out.append(Issue(f"layers[{i}].material", f"{_name(stack, i)}: the reference electrode must touch the electrolyte"))
    return out


def _sides(stack: Stack, core: list[tuple[int, str]]) -> list[Issue]:
    """Rules about the two electrodes on either side of the electrolyte block."""
    core_kinds = [k for _, k in core]
    out = []
    el = [pos for pos, k in enumerate(core_kinds) if k == "electrolyte"]
    for pos in range(el[0] + 1, el[-1]):
        if core_kinds[pos] != "electrolyte":
            i = core[pos][0]
            out.append(Issue(f"layers[{i}].material", f"{_name(stack, i)} sits between two electrolyte sheets: the electrolyte must be one block"))
    below, above = core[: el[0]], core[el[-1] + 1:]
    sides = ((below, "below"), (above, "above"))
    has_cathode = [any(k == "cathode" for _, k in side) for side, _ in sides]
    for n, (side, where) in enumerate(sides):
        side_kinds = [k for _, k in side]
        electrodes = [k for k in side_kinds if k in ELECTRODE_KINDS]
        anode_free = "current_collector" in side_kinds and has_cathode[1 - n]
        if not electrodes and not anode_free:
            out.append(Issue("layers", f"no electrode {where} the electrolyte: add Li foil, an interlayer or a cathode"))
        if "cathode" in side_kinds and "anode" in side_kinds:
            out.append(Issue("layers", f"the cathode and a Li anode are both {where} the electrolyte: they touch and short"))
        if "cathode" in side_kinds and "current_collector" not in side_kinds:
            out.append(Issue("layers", f"the cathode ({where} the electrolyte) has no current collector: add Al foil on its outer side"))
        if electrodes and set(electrodes) == {"interlayer"} and "current_collector" not in side_kinds:
            out.append(Issue("layers", f"the interlayer {where} the electrolyte has nothing to contact it: add a Cu current collector on its outer side"))
        for i, k in side:
            material = stack.layers[i].material
            if k == "current_collector" and material == "Al" and "anode" in side_kinds:
                out.append(Issue(f"layers[{i}].material", f"{_name(stack, i)}: Al alloys with lithium on the Li side; use Cu", "warning"))
            if k == "current_collector" and material == "Cu" and "cathode" in side_kinds:
                out.append(Issue(f"layers[{i}].material", f"{_name(stack, i)}: Cu corrodes at cathode potentials; use Al", "warning"))
    return out
