"""Start-up of the packaged station: wall time from launching the process to the main
window shown with the event loop idle (`--startup-time` prints 'ready' at that moment),
median of several runs. Baseline: the same start from source (`python main.py`) in the
same run. Also the bundle's size. Needs `make package` first.

"Cold" runs first evict the program's files from the page cache (posix_fadvise, Linux
only: the bundle for the frozen app; Python, the venv and our sources for the baseline), as after a
reboot; system libraries outside them stay cached for both. "Warm" runs follow each other.
Runs use Qt's offscreen platform so that a machine without a display can measure them."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "solidstack"
FROZEN = DIST / ("solidstack.exe" if sys.platform == "win32" else "solidstack")
RUNS = 7
GOAL_S = 3.0
GOAL_MIB = 250


def evict(folders: list[Path]) -> None:
    """Drop these files' pages from the page cache, so the next start reads them from disk."""
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


def start_to_ready(command: list[str], db: Path) -> float:
    """Seconds from launching `command --startup-time` to its 'ready' line."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.perf_counter()
    with subprocess.Popen([*command, "--startup-time", "--db", str(db)], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        for line in process.stdout:
            if line.strip() == "ready":
                elapsed = time.perf_counter() - t0
                break
        else:
            raise RuntimeError(f"{command[0]} exited ({process.wait()}) without reporting 'ready'")
        process.wait(timeout=60)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} --startup-time exited {process.returncode}")
    return elapsed


def bundle_mib() -> float:
    return sum(p.lstat().st_size for p in DIST.rglob("*") if p.is_file() or p.is_symlink()) / 2**20


def main() -> int:
    if not FROZEN.exists():
        print(f"no packaged build at {FROZEN}: run `make package` first", file=sys.stderr)
        return 1
    frozen, source = [str(FROZEN)], [sys.executable, str(ROOT / "main.py")]
    source_files = [Path(sys.prefix), Path(sys.base_prefix), *(p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists())]
    can_evict = hasattr(os, "posix_fadvise")
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "notebook.sqlite"
        for temperature in ("cold", "warm") if can_evict else ("warm",):
            for _ in range(RUNS):  # interleaved, so that machine load hits both alike
                for name, command, files in (("frozen", frozen, [DIST]), ("source", source, source_files)):
                    if temperature == "cold":
                        evict(files)
                    times.setdefault(f"{name} {temperature}", []).append(start_to_ready(command, db))
    for temperature in ("cold", "warm"):
        if f"frozen {temperature}" not in times:
            continue
        value, baseline = (statistics.median(times[f"{n} {temperature}"]) for n in ("frozen", "source"))
        print(json.dumps({"figure": f"packaged start to idle window, {temperature}", "value": value, "unit": "s",
                          "baseline": baseline, "ratio": baseline / value, "goal": f"< {GOAL_S:g} s",
                          "runs": [round(t, 3) for t in times[f"frozen {temperature}"]],
                          "baseline_runs": [round(t, 3) for t in times[f"source {temperature}"]]}))
    print(json.dumps({"figure": "packaged build size (dist/solidstack)", "value": bundle_mib(), "unit": "MiB",
                      "baseline": None, "ratio": None, "goal": f"< {GOAL_MIB} MiB"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
