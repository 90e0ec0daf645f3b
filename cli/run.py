"""`main.py run`: a protocol run headless on the simulated bench or the instruments,
logged to the notebook."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import CliError, clean_text, finite_float, open_notebook, print_json, refuse_read_only

IMPEDANCE_CHOICES = ("e4990a", "im3590", "solartron1260")   # instruments.bench.IMPEDANCE_ANALYSERS, kept light to import


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="run a protocol headless on the simulated bench or the instruments")
    p.add_argument("template")
    p.add_argument("protocol", help="a preset name, or a protocol JSON file (saved from the protocol editor)")
    p.add_argument("--bench", choices=["sim", "hw"], default="sim",
                   help="sim: the simulated bench; hw: the instruments assigned with `instruments --assign`")
    p.add_argument("--instruments", type=Path, default=None, help="role assignment file for --bench hw")
    p.add_argument("--impedance", choices=IMPEDANCE_CHOICES, default=None,
                   help="--bench sim: the impedance analyser emulated (default e4990a, 20 Hz to 120 MHz; "
                        "im3590 1 mHz to 200 kHz; solartron1260 10 uHz to 32 MHz)")
    p.add_argument("--speed", default="max", help="clock factor against real time, or 'max' (default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulated cell")
    p.add_argument("--cycles", type=int, default=None, help="override the protocol's cycle count")
    p.add_argument("--area-cm2", type=finite_float, default=1.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import cell
    from acquisition.interrupts import stop_on_signals
    from acquisition.protocol import MAX_FILE_CHARS, StepList, preset
    from acquisition.session import prepare_run
    refuse_read_only(args, "writes a run into the notebook")
    if args.impedance is not None and args.bench != "sim":
        raise CliError("--impedance picks the simulated bench's analyser; with --bench hw the role assignment says which")
    try:
        stack = cell.from_template(args.template, area_cm2=args.area_cm2)
        if args.protocol.endswith(".json"):
            try:
                with open(args.protocol, encoding="utf-8") as file:
                    text = file.read(MAX_FILE_CHARS + 1)    # enough to tell a file too large to be a protocol
            except OSError as exc:
                raise CliError(f"cannot read protocol {args.protocol}: {exc.strerror}") from None
            except UnicodeDecodeError as exc:
                raise CliError(f"protocol {args.protocol} is not UTF-8 text (byte {exc.start})") from None
            protocol = StepList.from_json(text)
        else:
            protocol = preset(args.protocol, **({} if args.cycles is None else {"cycles": args.cycles}))
    except (KeyError, ValueError) as exc:
        raise CliError(exc.args[0]) from None
    nb = open_notebook(args.db)
    # Ctrl-C, SIGTERM or a closed console stop the run at its next poll, `aborted` with
    # the signal as the reason and the source off, rather than interrupting it mid-exchange.
    engines = []
    with stop_on_signals(lambda reason: [engine.stop(reason) for engine in engines]) as requests:
        try:
            session = prepare_run(nb, stack, protocol, speed=args.speed, seed=args.seed, bench=args.bench,
                                  assignment_path=args.instruments, impedance=args.impedance or "e4990a")
        except ValueError as exc:
            raise CliError(str(exc)) from None
        engines.append(session.engine)
        if requests.signum is not None:     # it came while the bench was being set up
            session.engine.stop(requests.reason)
        try:
            status = session.engine.run()
        finally:
            session.close()
    engine = session.engine
    events = [{"t_s": e["t_s"], "kind": e["kind"], "sample_index": e["sample_index"], "message": e["message"]}
              for e in engine.events]
    if args.json:
        print_json({"run_id": engine.run_id, "build_id": session.build_id, "status": status,
                    "message": engine.message, "n_samples": engine.n_samples, "events": events,
                    "db": str(nb.path)})
    else:
        why = f": {clean_text(engine.message)}" if status == "aborted" else ""
        print(f"run {engine.run_id}: {status} after {engine.t_now / 3600:.2f} h, {engine.n_samples:,} samples "
              f"({nb.path}){why}")
        for e in events:
            print(f"  {e['t_s'] / 3600:8.3f} h  {e['kind']}: {clean_text(e['message'])}")
        if status == "failed":
            print(f"error: {clean_text(engine.message)}", file=sys.stderr)   # e.g. the notebook could not be written
    source_on = [e for e in engine.events if e["kind"] == "safe_off_failed"]
    for e in source_on:
        print(f"ALARM: {clean_text(e['message'])}", file=sys.stderr)
    nb.close()
    if requests.exit_code is not None:
        return requests.exit_code           # 128 + the signal, as a shell reports a program it stopped
    return 0 if status in ("completed", "shorted", "aborted") and not source_on else 1
