"""Impedance over a run (issue 17), medians with baselines measured in the same run:

  fits     the 20 spectra of a 500-cycle run with EIS every 25 cycles, circuit
           R0-p(R1,CPE1)-p(R2,CPE2), 71 points each (goal < 1 s): analysis.eis_run
           with warm starts, against each spectrum fitted alone as `analyze eis` does
           (fit_circuit's multi-start search; one repeat)
  DRT      of a 70-point spectrum (goal < 200 ms): analysis.drt (GCV over 31 lambdas,
           3 per decade), against a dense scan of 101 lambdas (10 per decade)
  waterfall  100 spectra drawn and painted (goal < 100 ms), by gui/tools/bench_eis_waterfall.py
           (only gui/ imports Qt), against a naive pyqtgraph draw

Synthetic spectra: benchmarks/synthetic_eis.py (two arcs growing with cycling, 0.3 % noise).
Run: .venv/bin/python benchmarks/bench_eis.py  (prints one JSON line per figure)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import analysis.drt as drt_module  # noqa: E402
from analysis.eis import fit_circuit  # noqa: E402
from analysis.eis_run import fit_run  # noqa: E402
from synthetic_eis import FREQUENCIES, spectrum_z  # noqa: E402
from timing import median_time, report  # noqa: E402

CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"
REPEATS = 5


def run_spectra() -> list[dict]:
    return [{"spectrum": n, "cycle": c, "t_s": c * 6 * 3600.0, "freq_hz": FREQUENCIES,
             "z": spectrum_z("full-bare", c, 1.0, n)} for n, c in enumerate(range(25, 501, 25))]


def main() -> None:
    spectra = run_spectra()
    fit_run(spectra[:2], CIRCUIT)            # imports and first-call costs out of the figures
    warm = median_time(lambda: fit_run(spectra, CIRCUIT), REPEATS)
    cold = median_time(lambda: [fit_circuit(s["freq_hz"], s["z"], CIRCUIT) for s in spectra], 1)
    report("EIS fits of the 20 spectra of a 500-cycle run (warm starts; baseline: each fitted alone, "
           "fit_circuit's multi-start)", warm, "s", cold, "< 1 s")

    f = np.logspace(6, -1, 70)
    jw = 1j * 2 * np.pi * f
    rng = np.random.default_rng(0)
    z = 2.5 + 5 / (1 + 5 * 2e-6 * jw) + 20 / (1 + 20 * 5e-5 * jw) + 40 / (1 + (40 * 2.5e-3 * jw) ** 0.9)
    z = z + np.abs(z) * 0.005 * (rng.normal(size=70) + 1j * rng.normal(size=70))
    drt_module.drt(f, z)
    ours = median_time(lambda: drt_module.drt(f, z), REPEATS)
    chosen = drt_module.LAMBDAS
    try:
        drt_module.LAMBDAS = np.logspace(-10, 0, 101)
        dense = median_time(lambda: drt_module.drt(f, z), 3)
    finally:
        drt_module.LAMBDAS = chosen
    report("DRT of a 70-point spectrum, lambda by GCV (baseline: a 101-lambda scan)", ours * 1000, "ms", dense * 1000,
           "< 200 ms")

    result = subprocess.run([sys.executable, str(ROOT / "gui" / "tools" / "bench_eis_waterfall.py")],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        print(f"waterfall benchmark failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(json.loads(lines[-1])))


if __name__ == "__main__":
    main()
