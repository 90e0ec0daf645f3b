"""Watching commercial cyclers (issue 16, Performance): the station's CPU while it
watches 64 channels at 1 s polling, the time from the sample that shows a short to the
stop request, and the download of a 100 k-point backlog. Each emulated cycler runs in a
child process of this script (`--serve`), so its CPU is not the station's.

Baseline, measured in the same run: one request per point. The same CyclerWatch and
client, but the status asked one channel per request and, where the protocol has a
download (Neware), the logged points downloaded one per request. Maccor MacNet and
Arbin CTI have no download: their clients already take one reading per channel per
request, so only the per-channel status differs in their baseline, and they have no
backlog to download.

    .venv/bin/python benchmarks/bench_cyclers.py [--seconds 30] [--only neware]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from acquisition.cycler_sim import parse_cells, sim_channels  # noqa: E402
from acquisition.cycler_watch import CyclerWatch, WatchSettings  # noqa: E402
from instruments.cyclers import client_for  # noqa: E402
from timing import report  # noqa: E402

PROTOCOLS = ("neware", "maccor", "arbin")
CPU_CELLS = ",".join(["full-agc", "sym-agc", "asym-agc", "full-bare"] * 16)   # 64 channels
SHORT_CELLS = "full-bare,full-agc,full-bare,full-agc,full-bare,full-agc"     # 1, 3, 5 short (~2200 s in)
BACKLOG = 100_000


# -- the emulator's process --
def serve(args: argparse.Namespace) -> None:
    """Serve an emulated cycler, print {"port", "t0"}, then answer "stops" on stdin
    with the stops it received until "quit" or end of input."""
    from instruments.sim.cyclers.servers import serve as serve_emulator
    channels = sim_channels(parse_cells(args.cells), seed=args.seed, sample_interval_s=args.interval)
    server = serve_emulator(args.serve, channels, speed=args.speed)
    emulator = server.sim
    if args.freeze is not None:
        emulator.freeze(args.freeze)       # Neware only: the backlog stays the same size
        emulator.advance()
    print(json.dumps({"port": server.port, "t0": emulator._t0,
                      "points": [ch.points for ch in channels]}), flush=True)
    for line in sys.stdin:
        if line.strip() == "stops":
            print(json.dumps({"stops": emulator.stops, "requests": dict(emulator.requests)}), flush=True)
        elif line.strip() == "quit":
            break
    server.close()


class Emulator:
    """The child process serving one emulated cycler."""

    def __init__(self, protocol: str, cells: str, speed: float, interval: float, seed: int = 0,
                 freeze: float | None = None):
        command = [sys.executable, __file__, "--serve", protocol, "--cells", cells, "--speed", repr(speed),
                   "--interval", repr(interval), "--seed", str(seed)]
        if freeze is not None:
            command += ["--freeze", repr(freeze)]
        self.protocol, self.speed = protocol, speed
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = json.loads(self.proc.stdout.readline())
        self.port, self.t0, self.points = ready["port"], ready["t0"], ready["points"]

    def stops(self) -> list[dict]:
        self.proc.stdin.write("stops\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["stops"]

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=10)


# -- the baseline --
class PerPoint:
    """The same client asked one channel per status request and, where it can download,
    one point per download request."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def states(self, keys: list[str]) -> dict[str, str]:
        out = {}
        for key in keys:
            out.update(self._client.states([key]))
        return out

    def history(self, key: str, since_point: int = 0) -> Iterator[np.ndarray]:
        if self._client.protocol != "neware":
            yield from self._client.history(key, since_point)
            return
        start = since_point + 1
        while True:
            point = self._client.download(key, start, 1)
            if not point.size:
                return
            yield point
            start += 1


def make_client(protocol: str, port: int, per_point: bool):
    client = client_for(protocol, "127.0.0.1", port, timeout_s=10.0)
    return PerPoint(client) if per_point else client


# -- 1. CPU while watching 64 channels --
def round_end(watch: CyclerWatch, thread: threading.Thread, rounds: int) -> None:
    """Return just after the watch has completed `rounds` rounds."""
    while watch.rounds < rounds:
        if not thread.is_alive():
            raise RuntimeError("the watch ended before its rounds were done")
        time.sleep(0.002)


def watch_cpu(protocol: str, per_point: bool, seconds: float, speed: float, interval: float) -> dict:
    """Station CPU (this process, all threads) over `seconds` of steady watching, from
    the end of the first round (runs opened, history taken)."""
    emulator = Emulator(protocol, CPU_CELLS, speed, interval)
    client = make_client(protocol, emulator.port, per_point)
    with tempfile.TemporaryDirectory() as tmp:
        watch = CyclerWatch(Path(tmp) / "nb.sqlite", client, WatchSettings(poll_s=1.0, policy="alarm"))
        thread = threading.Thread(target=watch.run, daemon=True)
        thread.start()
        # measured between two ends of rounds, so that requests per round are whole rounds
        round_end(watch, thread, 2)
        cpu0, wall0, rounds0, req0 = time.process_time(), time.monotonic(), watch.rounds, client.requests
        samples0 = sum(ch.n_samples for ch in watch.channels)
        time.sleep(seconds)
        round_end(watch, thread, watch.rounds + 1)
        cpu1, wall1, rounds1, req1 = time.process_time(), time.monotonic(), watch.rounds, client.requests
        samples1 = sum(ch.n_samples for ch in watch.channels)
        watch.stop("benchmark over")
        thread.join(60)
        client.close()
    emulator.close()
    if len(watch.channels) != 64:
        raise RuntimeError(f"{protocol}: watched {len(watch.channels)} channels, not 64")
    rounds = rounds1 - rounds0
    return {"cpu": (cpu1 - cpu0) / (wall1 - wall0), "rounds_per_s": (rounds1 - rounds0) / (wall1 - wall0),
            "requests_per_round": (req1 - req0) / rounds, "samples_per_s": (samples1 - samples0) / (wall1 - wall0)}


# -- 2. short to stop request --
def stop_latency(protocol: str, per_point: bool, poll_s: float, speed: float, interval: float,
                 repeats: int) -> dict:
    """The median over `repeats` runs (other cells each time) of every shorting channel's latency."""
    each = [s for k in range(repeats) for s in stop_latencies(protocol, per_point, poll_s, speed, interval, 10 * (k + 1))]
    return {"latency_s": statistics.median(each), "each_s": each, "poll_s": poll_s}


def stop_latencies(protocol: str, per_point: bool, poll_s: float, speed: float, interval: float, seed: int,
                   wait_s: float = 60.0) -> list[float]:
    """Seconds from the moment the emulator's clock reached the sample that confirmed
    the short (detected_t_s, the cycler's own test time) to the stop's arrival at the
    emulator, per shorting channel."""
    emulator = Emulator(protocol, SHORT_CELLS, speed, interval, seed=seed)
    client = make_client(protocol, emulator.port, per_point)
    alarms: dict[int, float] = {}

    def on_event(event, ch):
        if event["severity"] == "alarm" and "detected_t_s" in event["evidence"]:
            alarms[ch.info.channel] = event["evidence"]["detected_t_s"]

    with tempfile.TemporaryDirectory() as tmp:
        watch = CyclerWatch(Path(tmp) / "nb.sqlite", client, WatchSettings(poll_s=poll_s, policy="stop"),
                            on_event=on_event)
        thread = threading.Thread(target=watch.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and sum(ch.done for ch in watch.channels) < 3:
            time.sleep(0.05)
        watch.stop("benchmark over")
        thread.join(60)
        client.close()
    stops = emulator.stops()
    emulator.close()
    lat = {}
    for stop in stops:
        detected = alarms.get(stop["channel"])
        if detected is not None:
            lat[stop["channel"]] = stop["wall"] - detected / speed
    if sorted(lat) != [1, 3, 5] or sorted(alarms) != [1, 3, 5]:
        raise RuntimeError(f"{protocol}: alarms on {sorted(alarms)}, stops on {[s['channel'] for s in stops]}; "
                           "expected channels 1, 3 and 5 only")
    return list(lat.values())


# -- 3. the backlog of a long test --
def backlog(per_point_n: int) -> dict:
    """Download every point of a 100 k-point Neware test (client history, pages of 1000),
    then through CyclerWatch into a notebook; baseline: `per_point_n` points one per
    request, extrapolated to 100 k."""
    interval = 1.0
    emulator = Emulator("neware", "full-agc", 1.0, interval, freeze=BACKLOG * interval)
    if emulator.points[0] != BACKLOG:
        raise RuntimeError(f"the emulated channel logged {emulator.points[0]} points, not {BACKLOG}")
    client = make_client("neware", emulator.port, False)
    client.connect()
    key = client.channels()[0].key
    times, got = [], 0
    for _ in range(3):
        start, req = time.perf_counter(), client.requests
        got = sum(page.size for page in client.history(key, 0))
        times.append(time.perf_counter() - start)
        requests = client.requests - req
    if got != BACKLOG:
        raise RuntimeError(f"downloaded {got} points, not {BACKLOG}")
    base = []
    for _ in range(3):
        start = time.perf_counter()
        for k in range(1, per_point_n + 1):
            if client.download(key, k, 1).size != 1:
                raise RuntimeError(f"point {k} did not come")
        base.append((time.perf_counter() - start) / per_point_n * BACKLOG)
    client.close()
    with tempfile.TemporaryDirectory() as tmp:
        watcher = make_client("neware", emulator.port, False)
        watch = CyclerWatch(Path(tmp) / "nb.sqlite", watcher, WatchSettings(poll_s=1.0, policy="alarm"))
        thread = threading.Thread(target=watch.run, daemon=True)
        start = time.perf_counter()
        thread.start()
        while not (watch.channels and watch.channels[0].last_point >= BACKLOG) and thread.is_alive():
            time.sleep(0.01)
        into_notebook = time.perf_counter() - start
        watch.stop("benchmark over")
        thread.join(60)
        watcher.close()
    emulator.close()
    return {"download_s": statistics.median(times), "requests": requests, "per_point_s": statistics.median(base),
            "watch_s": into_notebook}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=PROTOCOLS, help=argparse.SUPPRESS)
    parser.add_argument("--cells", help=argparse.SUPPRESS)
    parser.add_argument("--speed", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--freeze", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=30.0, help="wall seconds of each CPU measurement")
    parser.add_argument("--only", choices=PROTOCOLS, action="append", help="protocols to run (default all)")
    parser.add_argument("--repeats", type=int, default=3, help="emulated cyclers (3 shorts each) per latency figure")
    parser.add_argument("--per-point-n", type=int, default=3000,
                        help="points downloaded one per request for the backlog baseline (extrapolated)")
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    protocols = args.only or PROTOCOLS
    # 1. Each channel logs a point every 0.1 s of wall time (1 s of test time at 10x): a
    # busy real cycler, 10 new points per channel per poll.
    for protocol in protocols:
        ours = watch_cpu(protocol, False, args.seconds, speed=10.0, interval=1.0)
        naive = watch_cpu(protocol, True, args.seconds, speed=10.0, interval=1.0)
        report(f"{protocol} 64 ch at 1 s poll: station CPU ({ours['requests_per_round']:.0f} vs "
               f"{naive['requests_per_round']:.0f} req/round)", 100 * ours["cpu"], "%", 100 * naive["cpu"],
               "< 10 % of one core")
        print(json.dumps({"detail": f"cpu {protocol}", "batched": ours, "per_point": naive}), file=sys.stderr)
    # 2. Neware at 1 s polling, 60 points per channel per poll. MacNet and CTI give one
    # reading per channel per poll: polled at 0.1 s with one logged point per poll, so
    # that they see the points the detectors need (the short comes ~2200 s into the test).
    for protocol in protocols:
        poll_s, speed = (1.0, 600.0) if protocol == "neware" else (0.1, 100.0)
        ours = stop_latency(protocol, False, poll_s, speed, 10.0, args.repeats)
        naive = stop_latency(protocol, True, poll_s, speed, 10.0, args.repeats)
        report(f"{protocol} short to stop request (poll {poll_s:g} s, {len(ours['each_s'])} shorts)", ours["latency_s"] / poll_s, "polls",
               naive["latency_s"] / poll_s, "< 2 poll periods")
        print(json.dumps({"detail": f"latency {protocol}", "batched": ours, "per_point": naive}), file=sys.stderr)
    # 3. Only Neware's interface downloads logged points.
    if "neware" in protocols:
        b = backlog(args.per_point_n)
        report(f"neware 100 k-point backlog download ({b['requests']} req vs {BACKLOG:,}; baseline from "
               f"{args.per_point_n:,})", b["download_s"], "s", b["per_point_s"])
        report("neware 100 k-point backlog into the notebook (CyclerWatch)", b["watch_s"], "s", b["per_point_s"])


if __name__ == "__main__":
    main()
