"""`main.py cycler-sim` (an emulated cycler on 127.0.0.1, one channel per simulated cell)
and `main.py cyclers` (list a cycler's channels; watch every channel headless into the
notebook, with the short detectors and the stop policy)."""
from __future__ import annotations

import argparse
import sys
import threading

from cli.common import CliError, clean_text, finite_float, notebook_path, print_json, refuse_read_only

EMULATED = ("neware", "maccor", "arbin")          # instruments.sim.cyclers.servers.EMULATORS
PROTOCOL_CHOICES = ("neware", "maccor", "arbin")  # instruments.cyclers.PROTOCOLS, kept light to import


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0 picks a free one)")
    return int(text)


def _positive(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def add_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("cycler-sim", help="serve an emulated cycler on 127.0.0.1, one channel per simulated cell, "
                                          "until stopped (Ctrl-C, SIGTERM)")
    p.add_argument("protocol", choices=EMULATED)
    p.add_argument("--port", type=_port, default=0, help="TCP port on 127.0.0.1 (default: a free one, printed)")
    p.add_argument("--cells", required=True, metavar="TEMPLATE[:PROTOCOL],...",
                   help="one channel per cell, e.g. asym-agc,sym-agc:plate-strip-0.16,full-bare")
    p.add_argument("--speed", type=_positive, default=3600.0, help="cycler time against real time (default 3600)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first cell (channel n gets seed + n - 1)")
    p.add_argument("--interval", type=_positive, default=None,
                   help="log every this many seconds of test time instead of the protocol's sample interval")
    p.add_argument("--json", action="store_true", help="print the ready line as JSON")
    p.set_defaults(handler=handle_sim)

    p = sub.add_parser("cyclers", parents=[common], help="list a cycler's channels, or watch every channel "
                                                         "headless into the notebook")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--add", nargs=2, metavar=("PROTOCOL", "HOST[:PORT]"),
                      help="list the cycler's channels with their state and test")
    what.add_argument("--watch", nargs=2, metavar=("PROTOCOL", "HOST[:PORT]"),
                      help="watch every channel with a test as a notebook run")
    p.add_argument("--policy", choices=("stop", "alarm"), default="stop",
                   help="on an alarm: stop the channel through the cycler's interface (default), or only alarm")
    p.add_argument("--poll", type=_positive, default=1.0, help="seconds between polling rounds (default 1)")
    p.add_argument("--timeout", type=_positive, default=10.0, help="seconds to wait for a reply (default 10)")
    p.add_argument("--until-done", action="store_true", help="return once every watched test has ended")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=handle_cyclers)


def _client(protocol: str, address: str, timeout_s: float):
    from instruments.cyclers import client_for, parse_host
    if protocol not in PROTOCOL_CHOICES:
        raise CliError(f"unknown cycler protocol {protocol!r}; known: {', '.join(PROTOCOL_CHOICES)}")
    try:
        host, port = parse_host(address, protocol)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return client_for(protocol, host, port, timeout_s=timeout_s)


def handle_sim(args: argparse.Namespace) -> int:
    from acquisition.cycler_sim import parse_cells, sim_channels
    from acquisition.interrupts import stop_on_signals
    from instruments.sim.cyclers.servers import serve
    try:
        channels = sim_channels(parse_cells(args.cells), seed=args.seed, sample_interval_s=args.interval)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    try:
        server = serve(args.protocol, channels, speed=args.speed, port=args.port)
    except OSError as exc:
        raise CliError(f"cannot serve on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    done = threading.Event()
    with stop_on_signals(lambda reason: done.set()):
        ready = {"protocol": args.protocol, "host": "127.0.0.1", "port": server.port, "speed": args.speed,
                 "channels": [{"channel": n, "barcode": ch.barcode, "template": ch.stack.template,
                               "protocol": ch.protocol_name} for n, ch in enumerate(channels, start=1)]}
        if args.json:
            print_json(ready)
        else:
            print(f"{args.protocol} emulator on 127.0.0.1:{server.port}, {len(channels)} channels at {args.speed:g}x "
                  "real time; Ctrl-C stops it")
            for c in ready["channels"]:
                print(f"  ch {c['channel']}: {c['template']} running {c['protocol']} (barcode {c['barcode']})")
        sys.stdout.flush()
        try:
            while not done.wait(0.2):
                pass
        finally:
            server.close()
    return 0


def handle_cyclers(args: argparse.Namespace) -> int:
    from instruments.cyclers import CyclerError
    protocol, address = args.add or args.watch
    client = _client(protocol, address, args.timeout)
    try:
        if args.add:
            return _list(client, args.json)
        refuse_read_only(args, "writes the watched runs into the notebook")
        return _watch(client, args)
    except CyclerError as exc:
        raise CliError(str(exc)) from None
    finally:
        client.close()


def _list(client, as_json: bool) -> int:
    client.connect()
    infos = client.channels()
    for info in infos:
        row = {"channel": info.label, "key": info.key, "state": info.state, "test_name": info.test_name,
               "barcode": info.barcode, "test_id": info.test_id}
        if as_json:
            print_json(row)
        else:
            print(f"{info.label:14} {info.state:9} {clean_text(info.test_name, True):12} "
                  f"{clean_text(info.barcode, True)}")
    if not infos and not as_json:
        print(f"{client.name}: no channels")
    return 0


def _watch(client, args: argparse.Namespace) -> int:
    from acquisition.cycler_watch import CyclerWatch, WatchSettings
    from acquisition.interrupts import stop_on_signals
    from notebook import Notebook, NotebookError
    path = notebook_path(args.db)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        Notebook(path).close()      # created or migrated, and checked, before the cycler is asked anything
    except NotebookError as exc:
        raise CliError(str(exc)) from None

    def on_event(event: dict, ch) -> None:
        if args.json:
            print_json({"type": "event", "run_id": event["run_id"], "channel": ch.info.label, "source": ch.source,
                        "kind": event["kind"], "severity": event["severity"], "t_s": event["t_s"],
                        "sample_index": event["sample_index"], "message": event["message"]})
        else:
            print(f"{ch.info.label:14} {event['severity']:7} {event['kind']}: {clean_text(event['message'], True)}")
        sys.stdout.flush()

    watch = CyclerWatch(path, client, WatchSettings(poll_s=args.poll, policy=args.policy, until_done=args.until_done),
                        on_event=on_event)
    infos = watch.open()        # CyclerError before any run is made: one line, nothing written
    with stop_on_signals(watch.stop) as requests:
        channels = watch.run(infos)
    for ch in channels:
        final = {"type": "channel", "channel": ch.info.label, "source": ch.source, "run_id": ch.run_id,
                 "status": ch.status, "message": ch.message, "n_samples": ch.n_samples, "last_point": ch.last_point,
                 "alarm": ch.alarm["kind"] if ch.alarm else None, "stop_answer": ch.stop_answer or None}
        if args.json:
            print_json(final)
        else:
            print(f"{ch.info.label:14} run {ch.run_id}: {ch.status}, {ch.n_samples:,} samples "
                  f"({clean_text(ch.message, True)})")
    return requests.exit_code or 0
