"""`main.py replay`: a logged run played back through the monitor (main.py opens the
window), or its detectors re-run headless with thresholds the operator overrides."""
from __future__ import annotations

import argparse
import math

from cli.common import CliError, clean_text, existing_notebook, print_json
from cli.lab_read import add_lab_option, resolve_run, run_ref


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("replay", parents=[common], help="play a logged run back through the monitor, or re-run its "
                       "detectors headless (the notebook is opened read-only)")
    p.add_argument("run_uuid", nargs="?", type=run_ref, metavar="UUID",
                   help="the run's UUID (with --lab: a run in the lab store; else one in the notebook)")
    p.add_argument("--run", type=run_ref, help="run id (or the run's UUID)")
    p.add_argument("--speed", default="1", help="x original timing (default 1), or 'max'")
    p.add_argument("--headless", action="store_true", help="re-run the detectors as fast as possible and print the events")
    p.add_argument("--threshold", action="append", default=[], metavar="KIND.NAME=VALUE",
                   help="override a detector threshold, e.g. hard_short.collapse_fraction=0.1; repeat")
    p.add_argument("--json", action="store_true")
    add_lab_option(p)
    p.set_defaults(handler=handle)


def _count_fields() -> dict[str, set[str]]:
    """{detector kind: its settings that count (samples, readings, cycles): whole numbers}."""
    from dataclasses import fields

    from acquisition.alarms import SETTINGS_CLASSES
    return {kind: {f.name for f in fields(cls) if f.type in ("int", int)} for kind, cls in SETTINGS_CLASSES.items()}


def parse_thresholds(pairs: list[str]) -> dict:
    """KIND.NAME=VALUE pairs -> {kind: {name: value}}: finite numbers, whole numbers (ints)
    for the settings that count. An inf, a nan or a fractional count would silently switch
    a detector off."""
    counts = _count_fields()
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        kind, dot, name = key.partition(".")
        if not (sep and dot and kind and name):
            raise CliError(f"{pair!r}: write KIND.NAME=VALUE, e.g. hard_short.collapse_fraction=0.1")
        try:
            number = float(value)
        except ValueError:
            raise CliError(f"{pair!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise CliError(f"{pair!r}: a threshold must be a finite number")
        if name in counts.get(kind, ()):
            if not number.is_integer() or number < 0:
                raise CliError(f"{pair!r}: {name} is a count, a whole number of 0 or more")
            number = int(number)
        out.setdefault(kind, {})[name] = number
    return out


def _which_run(args: argparse.Namespace) -> None:
    """args.run from --run or the UUID after replay; a lab run fetched into the cache notebook
    (args.db then names the cache), a UUID without --lab found in the notebook."""
    if (args.run is None) == (args.run_uuid is None):
        raise CliError("name the run once: replay --run ID, or replay UUID (with --lab URL: a lab run's UUID)")
    if args.run is None:
        args.run = args.run_uuid
    args.run_label = args.run           # what the user named it by (a lab run's id is the cache's)
    resolve_run(args)


def window_request(args: argparse.Namespace) -> tuple:
    """(run id, speed, threshold overrides) for the replay window, which main.py opens (on
    the cache notebook for a lab run, read-only as any replay)."""
    overrides = parse_thresholds(args.threshold)
    _which_run(args)
    args.db = existing_notebook(args.db)
    return args.run, args.speed, overrides


def handle(args: argparse.Namespace) -> int:
    """The headless replay (main.py opens the window for the other)."""
    from acquisition.replay import replay_headless
    from notebook import NotebookError
    overrides = parse_thresholds(args.threshold)
    _which_run(args)
    path = existing_notebook(args.db)
    try:
        result = replay_headless(path, args.run, overrides)
    except (NotebookError, ValueError) as exc:
        raise CliError(str(exc)) from None
    if args.lab is not None:
        result["run_uuid"] = args.run_label
    if args.json:
        print_json(result)
        return 0
    print(f"run {args.run_label}: {len(result['events'])} event(s) with these thresholds, "
          f"{len(result['original_events'])} logged live")
    for e in result["events"]:
        print(f"  {e['t_s'] / 3600:8.3f} h  sample {e['sample_index']:>9}  {e['kind']}: {clean_text(e['message'])}")
    return 0
