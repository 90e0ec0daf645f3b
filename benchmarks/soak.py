"""Soak test (issue 10): eight simulated full cells cycled 500 times at C/3 at once, at
the clock's full speed. Reports the process's memory over the run (it must stay flat:
once the live buffers are full, the second half of the run may not add more than
FLAT_MIB), checks the notebook (integrity, every sample stored, every run completed) and
that the analysis of each run recovers the simulated truth (80 % retention, 99.97 % CE).

The emulated SMUs' reading buffers hold SMU_BUFFER readings instead of the 2450's
100,000, so the soak also clears them between steps many times over, as a run of weeks
does on the instrument (and the memory measured is the station's, not the simulated
instruments'). Run with `make soak`; a few minutes on two cores. Prints JSON lines like
the benchmarks, and exits non-zero if a check fails."""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cell  # noqa: E402
from acquisition.channels import ChannelManager  # noqa: E402
from acquisition.protocol import preset  # noqa: E402
from instruments.sim import keithley2450_emulator  # noqa: E402
from analysis.cycling import cycle_summary  # noqa: E402
from notebook import Notebook  # noqa: E402

CHANNELS = 8
CYCLES = 500
SMU_BUFFER = 10_000
FLAT_MIB = 24.0    # allocator arenas of 30-odd threads settle in; the unbounded buffers grew 80 MiB here


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=CHANNELS)
    parser.add_argument("--cycles", type=int, default=CYCLES)
    args = parser.parse_args()
    curve: list[tuple[float, float]] = []
    done = threading.Event()

    def sample_memory(start: float) -> None:
        while not done.wait(1.0):
            curve.append((time.monotonic() - start, rss_mib()))

    failures = []
    keithley2450_emulator.DEFAULT_CAPACITY = SMU_BUFFER
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "soak.sqlite"
        nb = Notebook(path)
        manager = ChannelManager(nb)
        start = time.monotonic()
        watcher = threading.Thread(target=sample_memory, args=(start,), daemon=True)
        watcher.start()
        for k in range(1, args.channels + 1):
            manager.start(k, cell.from_template("full-agc"), preset("cycling-c3-500", cycles=args.cycles), speed="max", seed=k)
        while any(c.busy for c in manager.channels):
            time.sleep(0.5)
        elapsed = time.monotonic() - start
        done.set()
        for channel in manager.channels:
            engine = channel.session.engine
            samples = nb.samples(engine.run_id)
            if engine.status != "completed":
                failures.append(f"channel {channel.index}: {engine.status} {engine.message}")
            if samples.size != engine.n_samples:
                failures.append(f"channel {channel.index}: {engine.n_samples} samples taken, {samples.size} stored")
            summary = cycle_summary(samples["t"], samples["current"], samples["voltage"], samples["cycle"])
            expected = 1.0 - 0.2 * args.cycles / 500     # the model's fade: ~80 % after 500 cycles
            if abs(summary.retention - expected) > 0.08:
                failures.append(f"channel {channel.index}: retention {summary.retention:.3f}, simulated ~{expected:.2f}")
            if abs(summary.average_ce - 0.9997) > 3e-4:
                failures.append(f"channel {channel.index}: average CE {summary.average_ce:.5f}, simulated 0.9997")
        total = sum(nb.samples(c.session.engine.run_id).size for c in manager.channels)
        manager.shutdown()
        nb.close()
        check = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            failures.append(f"integrity check: {check}")
    half = len(curve) // 2
    first_half, second_half = max(m for _, m in curve[:half]), max(m for _, m in curve[half:])
    growth = second_half - first_half
    if growth > FLAT_MIB:
        failures.append(f"memory grew {growth:.0f} MiB over the second half of the run (allowed {FLAT_MIB:g})")
    print(json.dumps({"figure": f"soak: {args.channels} x {args.cycles} C/3 cycles, samples stored", "value": total, "unit": "S",
                      "baseline": None, "ratio": None, "goal": f"in {elapsed:.0f} s, all checks: "
                      + ("pass" if not failures else "FAIL")}))
    print(json.dumps({"figure": "soak: peak memory (RSS), second half of the run vs first half", "value": second_half,
                      "unit": "MiB", "baseline": first_half, "ratio": second_half / first_half,
                      "goal": f"flat: grew {growth:+.0f} MiB (allowed {FLAT_MIB:g}); from {curve[0][1]:.0f} MiB at start"}))
    print(json.dumps({"figure": "soak: memory curve (s, MiB)", "value": len(curve), "unit": "pts", "baseline": None,
                      "ratio": None, "goal": " ".join(f"{t:.0f}:{m:.0f}" for t, m in curve[:: max(1, len(curve) // 12)])}))
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
