"""Acquisition throughput: a plate/strip run on the simulated bench at clock 'max',
through the real driver, pyvisa-py, the detector and the notebook writer. Baseline: a
naive acquisition loop that polls one `:READ?` per sample over the same connection
(no detector, no storage), the way many lab scripts read an SMU."""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cell  # noqa: E402
from acquisition.protocol import preset  # noqa: E402
from acquisition.session import prepare_run  # noqa: E402
from instruments.bench import simulated_bench  # noqa: E402
from instruments.clock import SimClock  # noqa: E402
from notebook import Notebook  # noqa: E402

CYCLES = 10


def engine_run(tmp: Path, k: int) -> tuple[float, int]:
    with Notebook(tmp / f"run{k}.sqlite") as nb:
        session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16", cycles=CYCLES), speed="max")
        t0 = time.perf_counter()
        session.engine.run()
        elapsed = time.perf_counter() - t0
        session.close()
        return elapsed, session.engine.n_samples


def naive_polling(n: int) -> float:
    """Seconds per sample of one :READ? query a sample, timed over n samples."""
    clock = SimClock()
    bench = simulated_bench(cell.from_template("sym-agc"), clock)
    smu = bench.smu
    smu.reset()
    smu.set_current(1.6e-4)
    smu.output(True)
    t0 = time.perf_counter()
    for _ in range(n):
        clock.sleep(1.0)
        float(smu._query(":READ?"))
    elapsed = time.perf_counter() - t0
    smu.safe_off()
    bench.close()
    return elapsed / n


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        runs = [engine_run(Path(tmp), k) for k in range(3)]
    n = runs[0][1]
    engine_rate = n / statistics.median(r[0] for r in runs)
    naive_rate = 1.0 / statistics.median(naive_polling(5000) for _ in range(3))
    print(json.dumps({"figure": f"headless run, {n:,} samples at clock max", "value": engine_rate / 1e3, "unit": "k/s",
                      "baseline": naive_rate / 1e3, "ratio": engine_rate / naive_rate,
                      "goal": "8 channels x 1 kHz (issue 5)"}))


if __name__ == "__main__":
    main()
