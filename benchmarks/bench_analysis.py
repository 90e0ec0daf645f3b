"""Analysis speed: the cycling summary of a 10 M-sample, 500-cycle run (goal < 0.5 s)
against a straightforward pandas groupby of the same figures, and an EIS fit of a
60-point spectrum against impedance.py's (when requirements-bench.txt is installed).
Medians of 5 repeats; baselines measured in the same run."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis.cycling import cycle_summary  # noqa: E402
from analysis.eis import Circuit, fit_circuit  # noqa: E402
from timing import median_time  # noqa: E402

N = 10_000_000
CYCLES = 500
REPEATS = 5


def run_record() -> tuple[np.ndarray, ...]:
    """A notebook-like run: 1 s samples, charge then discharge each cycle, 3.0-4.2 V."""
    per = N // CYCLES
    k = np.arange(N) % per
    half = per // 2
    t = np.arange(1, N + 1, dtype=float)
    current = np.where(k < half, 1.6e-3, -1.55e-3)
    voltage = 3.0 + 1.2 * np.where(k < half, k / half, 1 - (k - half) / half)
    cycle = (np.arange(N) // per + 1).astype(np.int32)
    return t, current, voltage, cycle


def pandas_summary(t, current, voltage, cycle) -> pd.DataFrame:
    """The same capacities and energies the plain way: a DataFrame and a groupby."""
    df = pd.DataFrame({"t": t, "i": current, "v": voltage, "cycle": cycle})
    df["dt"] = df["t"].diff().fillna(df["t"].iloc[0])
    df["q"] = df["i"].abs() * df["dt"] / 3.6
    df["e"] = df["q"] * df["v"] / 1000.0
    df["dir"] = np.sign(df["i"])
    out = df[df["dir"] != 0].groupby(["cycle", "dir"])[["q", "e"]].sum().unstack()
    return out



def spectrum() -> tuple[np.ndarray, np.ndarray]:
    f = np.geomspace(1e5, 0.01, 60)
    z = Circuit("R0-p(R1,C1)-p(R2-Wo1,C2)").impedance([0.0165, 0.0087, 3.3, 0.0054, 0.063, 233, 0.22], f)
    return f, z * (1 + 0.002 * np.random.default_rng(0).standard_normal(f.size))


def navani_time(data) -> tuple[float, float] | None:
    """navani's cycle_summary on the same run, in .venv-navani (see requirements-bench-navani.txt)."""
    import subprocess
    import tempfile
    python = Path(__file__).resolve().parent.parent / ".venv-navani" / "bin" / "python"
    if not python.exists():
        print("no .venv-navani (make bench creates it): no navani comparison", file=sys.stderr)
        return None
    t, current, voltage, _ = data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.npz"
        np.savez(path, t=t, current=current, voltage=voltage)
        result = subprocess.run([str(python), str(Path(__file__).with_name("navani_cycle_summary.py")), str(path)],
                                capture_output=True, text=True)
    if result.returncode != 0:
        print(f"navani failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return out["seconds"], out["discharge_mAh_cycle_1"]


def main() -> None:
    data = run_record()
    ours = median_time(lambda: cycle_summary(*data), REPEATS)
    plain = median_time(lambda: pandas_summary(*data), repeats=3)
    print(json.dumps({"figure": "cycling summary, 10 M samples / 500 cycles", "value": ours, "unit": "s",
                      "baseline": plain, "ratio": plain / ours, "goal": "< 0.5 s (baseline: pandas groupby)"}))
    navani = navani_time(data)
    if navani is not None:
        seconds, theirs = navani
        mine = float(cycle_summary(*data).cycles["discharge_mAh"].iloc[0])
        print(json.dumps({"figure": "cycling summary vs navani's cycle_summary, same run", "value": ours, "unit": "s",
                          "baseline": seconds, "ratio": seconds / ours,
                          "goal": f">= 10x (navani's table prepared untimed; cycle 1 discharge {mine:.5g} mAh here, "
                                  f"{theirs:.5g} mAh in navani)"}))
    derived = median_time(lambda: cycle_summary(*data[:3]), REPEATS)
    print(json.dumps({"figure": "  same, cycles numbered from the current", "value": derived, "unit": "s",
                      "baseline": None, "ratio": None, "goal": "< 0.5 s"}))
    f, z = spectrum()
    guess = [.01, .01, 100, .01, .05, 100, 1]
    fit = median_time(lambda: fit_circuit(f, z, "R0-p(R1,C1)-p(R2-Wo1,C2)", guess), repeats=9)
    baseline = None
    try:
        from impedance.models.circuits import CustomCircuit
    except ImportError:
        print("impedance.py not installed (pip install -r requirements-bench.txt): no baseline", file=sys.stderr)
    else:
        baseline = median_time(lambda: CustomCircuit("R0-p(R1,C1)-p(R2-Wo1,C2)", initial_guess=guess).fit(f, z), repeats=9)
    print(json.dumps({"figure": "EIS fit, 60 points, 7 parameters", "value": fit * 1000, "unit": "ms",
                      "baseline": None if baseline is None else baseline * 1000,
                      "ratio": None if baseline is None else baseline / fit, "goal": "no slower than impedance.py"}))
    auto = median_time(lambda: fit_circuit(f, z, "R0-p(R1,C1)-p(R2-Wo1,C2)"), repeats=5)
    print(json.dumps({"figure": "  same, automatic initial guess (5 starts)", "value": auto * 1000, "unit": "ms",
                      "baseline": None, "ratio": None, "goal": ""}))


if __name__ == "__main__":
    main()
