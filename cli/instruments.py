"""`main.py instruments`: find VISA instruments, suggest drivers and roles, save and show
the role assignment."""
from __future__ import annotations

import argparse
from pathlib import Path

from cli.common import CliError, clean_text, print_json


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("instruments", parents=[common],
                       help="find instruments, suggest drivers and roles, save the roles")
    p.add_argument("--list", action="store_true", help="list the VISA resources found and who they are")
    p.add_argument("--assign", action="append", default=[], metavar="ROLE=RESOURCE",
                   help="assign a found resource to a role (smu, ref, eis, pressure, force, temperature); repeat")
    p.add_argument("--show", action="store_true", help="show the saved assignment")
    p.add_argument("--backend", default="@py", help="pyvisa backend: @py (default), or FILE.yaml@sim to rehearse")
    p.add_argument("--config", type=Path, default=None,
                   help="assignment file (default: instruments.json in the user config folder)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import pyvisa

    from instruments import discovery
    if args.show:
        try:
            assignment = discovery.load_assignment(args.config)
        except (FileNotFoundError, ValueError) as exc:
            raise CliError(str(exc)) from None
        print_json(assignment, indent=None if args.json else 2)
        return 0
    if not (args.list or args.assign):
        raise CliError("say --list, --assign ROLE=RESOURCE or --show")
    definitions = args.backend.removesuffix("@sim")
    if definitions != args.backend and definitions and not Path(definitions).is_file():
        # pyvisa-sim would answer with its own traceback folded into the message
        raise CliError(f"--backend {args.backend}: no simulation definitions file {definitions}")
    try:
        rm = pyvisa.ResourceManager(args.backend)
    except (OSError, ValueError, pyvisa.Error) as exc:
        raise CliError(f"cannot open the VISA backend {args.backend!r}: {exc}") from None
    try:
        found = discovery.discover(rm)
    finally:
        rm.close()
    if args.assign:
        try:
            try:
                assignment = discovery.load_assignment(args.config)   # roles assigned before stay
            except FileNotFoundError:
                assignment = {}
            assignment.update(discovery.assign(found, args.assign))
            path = discovery.save_assignment(assignment, args.config)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        print(f"saved {', '.join(p.partition('=')[0] for p in args.assign)} to {path}")
        return 0
    if args.json:
        print_json(discovery.as_dicts(found))
        return 0
    if not found:
        print("no VISA resources found")
    for f in found:
        suggestion = f"-> {f.driver} as {f.role}" if f.driver else "(no driver)"
        print(f"{clean_text(f.resource, one_line=True):40s} {suggestion:38s} {clean_text(f.identity, one_line=True)}")
    return 0
