"""`main.py cell`: the planning calculator's command line, templates and a stack's
derived figures."""
from __future__ import annotations

import argparse
import sys

from cli.common import CliError, clean_text, finite_float, print_json

CELL_OPTIONS = {"area_cm2": "--area-cm2", "stack_pressure_mpa": "--pressure-mpa",
                "fixture_limit_mpa": "--fixture-limit-mpa"}  # stack field -> the option that sets it


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("cell", parents=[common],
                       help="planning calculator: list templates or show a stack and its derived figures")
    p.add_argument("template", nargs="?", help="template name (see --list)")
    p.add_argument("--list", action="store_true", help="list the templates")
    p.add_argument("--area-cm2", type=finite_float, default=None, help="cell area in cm2 (default: the template's, 1)")
    p.add_argument("--pressure-mpa", type=finite_float, default=None,
                   help="stack-pressure set-point in MPa (default: the template's, 5)")
    p.add_argument("--fixture-limit-mpa", type=finite_float, default=None,
                   help="rated maximum pressure of the fixture in MPa (default 25)")
    p.add_argument("--avg-voltage", type=finite_float, default=3.70,
                   help="average discharge voltage in V for Wh/kg, Wh/L (default 3.70)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import cell
    from cell.validation import errors, warnings
    if args.list or not args.template:
        names = cell.template_names()
        if args.json:
            print_json([{"template": n, "title": cell.template_title(n),
                         "description": cell.from_template(n).describe()} for n in names], indent=2)
        else:
            for name in names:
                print(f"{name:12s} {cell.from_template(name).describe():40s} {cell.template_title(name)}")
        return 0
    if not args.avg_voltage > 0:
        raise CliError(f"--avg-voltage must be above 0 V, got {args.avg_voltage:g}")
    settings = {"area_cm2": args.area_cm2, "stack_pressure_mpa": args.pressure_mpa,
                "fixture_limit_mpa": args.fixture_limit_mpa}
    try:
        stack = cell.from_template(args.template, **{k: v for k, v in settings.items() if v is not None})
    except KeyError as exc:
        raise CliError(exc.args[0]) from None
    issues = cell.validate(stack)
    problems = errors(issues)
    if problems:
        raise CliError("; ".join(f"{CELL_OPTIONS.get(p.field, p.field)}: {p.message}" for p in problems))
    f = cell.figures(stack, avg_voltage_v=args.avg_voltage)
    if args.json:
        layers = [{**layer.__dict__, "label": stack.label(layer), "kind": stack.material(layer).kind}
                  for layer in stack.layers]
        setpoints = {k: getattr(stack, k) for k in ("stack_pressure_mpa", "fixture_limit_mpa",
                                                      "densification_pressure_mpa", "temperature_c")}
        print_json({"template": stack.template, "title": cell.template_title(stack.template),
                    "description": stack.describe(), "layers": layers, **setpoints, **f.to_dict(),
                    "warnings": [i.message for i in warnings(issues)]}, indent=2)
        return 0
    print(f"{stack.template}: {stack.describe()}  ({cell.template_title(stack.template)})")
    print(f"area {stack.area_cm2:g} cm2; stack pressure {stack.stack_pressure_mpa:g} MPa = {f.force_n:,.0f} N "
          f"(fixture limit {stack.fixture_limit_mpa:g} MPa); densified at {stack.densification_pressure_mpa:g} MPa "
          f"= {f.densification_force_n:,.0f} N; {stack.temperature_c:g} C")
    print("layers, bottom to top:")
    for n, layer in enumerate(stack.layers, 1):
        print(f"  {n}  {clean_text(stack.label(layer), one_line=True):6s} {layer.thickness_um:7.1f} um  "
              f"{layer.areal_mass_mg_cm2:7.3f} mg/cm2")
    print(f"stack {f.stack_thickness_um:.1f} um, {f.areal_mass_mg_cm2:.2f} mg/cm2")
    print(f"capacity ({f.capacity_basis}) {f.capacity_mAh_cm2:.3f} mAh/cm2 = {f.capacity_mAh:.3f} mAh")
    print("currents: " + ", ".join(f"{label} {c['mA_cm2']:.3f} mA/cm2 ({c['mA']:.3f} mA)"
                                   for label, c in f.c_rates().items()))
    if f.wh_per_kg is not None:
        print(f"projected {f.delivered_mAh_cm2:.3f} mAh/cm2 x {f.avg_voltage_v:.2f} V: {f.wh_per_kg:.1f} Wh/kg, "
              f"{f.wh_per_l:.1f} Wh/L")
    for issue in warnings(issues):
        print(f"warning: {issue.message}", file=sys.stderr)
    return 0
