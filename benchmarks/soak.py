"""Soak test (issue 10): eight simulated full cells cycled 500 times at C/3 at once, at
the clock's full speed. Reports the process's memory over the run (it must stay flat),
checks the notebook (integrity, every sample stored, every run completed) and that the
analysis of each run recovers the simulated truth (80 % retention, 99.97 % CE).
Run with `make soak`; it takes a few minutes on two cores. Prints JSON lines like the
benchmarks, and exits non-zero if a check fails."""
from __future__ import annotations

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
from analysis.cycling import cycle_summary  # noqa: E402
from notebook import Notebook  # noqa: E402

CHANNELS = 8
CYCLES = 500


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    curve: list[tuple[float, float]] = []
    done = threading.Event()

    def sample_memory(start: float) -> None:
        while not done.wait(1.0):
            curve.append((time.monotonic() - start, rss_mib()))

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "soak.sqlite"
        nb = Notebook(path)
        manager = ChannelManager(nb)
        start = time.monotonic()
        watcher = threading.Thread(target=sample_memory, args=(start,), daemon=True)
        watcher.start()
        for k in range(1, CHANNELS + 1):
            manager.start(k, cell.from_template("full-agc"), preset("cycling-c3-500", cycles=CYCLES), speed="max", seed=k)
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
            if not 0.72 <= summary.retention <= 0.88:
                failures.append(f"channel {channel.index}: retention {summary.retention:.3f}, simulated ~0.80")
            if abs(summary.average_ce - 0.9997) > 3e-4:
                failures.append(f"channel {channel.index}: average CE {summary.average_ce:.5f}, simulated 0.9997")
        total = sum(nb.samples(c.session.engine.run_id).size for c in manager.channels)
        manager.shutdown()
        nb.close()
        check = sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            failures.append(f"integrity check: {check}")
    first = [m for t, m in curve if t <= max(10.0, curve[0][0])] if curve else [float("nan")]
    last = [m for t, m in curve[-10:]] if curve else [float("nan")]
    growth = max(last) - max(first)
    print(json.dumps({"figure": f"soak: {CHANNELS} x {CYCLES} C/3 cycles, samples stored", "value": total, "unit": "S",
                      "baseline": None, "ratio": None, "goal": f"in {elapsed:.0f} s, all checks: "
                      + ("pass" if not failures else "FAIL")}))
    print(json.dumps({"figure": "soak: memory (RSS) first 10 s -> last 10 s", "value": max(last), "unit": "MiB",
                      "baseline": max(first), "ratio": max(last) / max(first),
                      "goal": f"flat (grew {growth:+.0f} MiB; peak {max(m for _, m in curve):.0f} MiB)"}))
    print(json.dumps({"figure": "soak: memory curve (s, MiB)", "value": len(curve), "unit": "pts", "baseline": None,
                      "ratio": None, "goal": " ".join(f"{t:.0f}:{m:.0f}" for t, m in curve[:: max(1, len(curve) // 12)])}))
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
