"""BDF import on wide and large files (issue 19, item 6): the 15,000-column file that
took over 120 s, a 500-column file at the column limit, and a tall ~150 MB file, each
against plain pandas.read_csv of the same file measured in the same run. Peak memory
is each reader's maximum resident set (Linux VmHWM) in a fresh process, so neither pays
for the other. Medians of 3 repeats; files are generated in a temporary folder and removed.

Prints JSON lines in the format benchmarks/run_all.py collects."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from notebook.formats import FormatError  # noqa: E402
from timing import median_time, report  # noqa: E402
from notebook.formats.bdf import read_bdf  # noqa: E402

TALL_ROWS = 3_000_000
HEADER = "Test Time / s,Voltage / V,Current / A"

# runs one reader in a fresh interpreter and prints its peak resident set in MB (VmHWM:
# unlike ru_maxrss, which Linux carries over from the parent through fork and exec)
_PEAK = """
import sys
sys.path.insert(0, {root!r})
import pandas as pd
from notebook.formats.bdf import read_bdf
if {which!r} == "pandas":
    pd.read_csv({path!r})
elif {which!r} == "bdf":
    read_bdf({path!r})
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM")) / 1024)
"""



def refused(path: Path) -> None:
    try:
        read_bdf(path)
    except FormatError:
        return
    raise AssertionError(f"{path.name} was read; expected a refusal")


def peak_mb(path: Path, which: str) -> float:
    code = _PEAK.format(root=str(ROOT), which=which, path=str(path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def write_tall(path: Path) -> None:
    """A cycling record like a cycler's BDF export: 1 s samples, six columns."""
    rng = np.random.default_rng(0)
    with open(path, "w") as fh:
        fh.write(HEADER + ",Cycle Count / 1,Step Count / 1,Ambient Temperature / degC\n")
        for a in range(0, TALL_ROWS, 200_000):
            k = np.arange(a, min(TALL_ROWS, a + 200_000))
            v = 3.0 + rng.random(k.size)
            fh.writelines(f"{t}.25,{x:.6f},0.001250,{t // 20_000 + 1},{t // 10_000 + 1},25.1\n" for t, x in zip(k, v))



def main() -> None:
    import pandas as pd
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        wide = folder / "wide.csv"
        wide.write_text(HEADER + "".join(f",Extra {k} / 1" for k in range(15_000)) + "\n"
                        + ("0,3.7,0.1" + ",1" * 15_000 + "\n") * 5)
        report(f"15,000-column BDF ({wide.stat().st_size / 1e3:.0f} kB): refused",
               median_time(lambda: refused(wide)) * 1e3, "ms", median_time(lambda: pd.read_csv(wide)) * 1e3,
               "< 2 s (was > 120 s); baseline pandas.read_csv")

        at_limit = folder / "at_limit.csv"
        with open(at_limit, "w") as fh:
            fh.write(HEADER + "".join(f",Extra {k} / 1" for k in range(509)) + "\n")
            fh.writelines(f"{k},3.7,0.1" + ",1.25" * 509 + "\n" for k in range(20_000))
        report(f"512-column BDF, 20k rows ({at_limit.stat().st_size / 1e6:.0f} MB): read",
               median_time(lambda: read_bdf(at_limit)), "s", median_time(lambda: pd.read_csv(at_limit)),
               "< 2 s; baseline pandas.read_csv of every column")

        tall = folder / "tall.csv"
        write_tall(tall)
        size_mb = tall.stat().st_size / 1e6
        report(f"{size_mb:.0f} MB BDF, {TALL_ROWS / 1e6:.0f} M rows: read and checked",
               median_time(lambda: read_bdf(tall)), "s", median_time(lambda: pd.read_csv(tall)),
               "within 3x of pandas.read_csv (which checks nothing)")
        idle = peak_mb(tall, "nothing")          # the interpreter with pandas and our readers loaded
        ours, theirs = peak_mb(tall, "bdf") - idle, peak_mb(tall, "pandas") - idle
        report(f"  same, peak memory above the idle {idle:.0f} MB interpreter", ours, "MB", theirs,
               f"< 2x the file (was ~16x); ours {ours / size_mb:.2f}x, pandas {theirs / size_mb:.2f}x the file")


if __name__ == "__main__":
    main()
