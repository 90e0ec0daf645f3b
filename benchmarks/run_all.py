"""Runs every benchmarks/bench_*.py and prints one table of figures with baselines.

Each script prints JSON lines: {"figure", "value", "unit", "baseline", "ratio", "goal"}
where baseline is measured in the same run (machines here are shared and noisy, so
ratios mean more than absolute times)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    rows, failed = [], []
    for script in sorted(HERE.glob("bench_*.py")):
        result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, capture_output=True, text=True)
        if result.returncode != 0:
            failed.append(f"{script.name}: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
            continue
        rows += [dict(json.loads(line), script=script.name) for line in result.stdout.splitlines() if line.startswith("{")]
    print(f"{'figure':48} {'median':>14} {'baseline':>14} {'ratio':>8}  goal")
    for r in rows:
        base = "" if r.get("baseline") is None else f"{r['baseline']:.4g} {r['unit']}"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.1f}x"
        print(f"{r['figure']:48} {r['value']:>10.4g} {r['unit']:<3} {base:>14} {ratio:>8}  {r.get('goal', '')}")
    for f in failed:
        print(f"FAILED {f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
