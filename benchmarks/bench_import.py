"""Importing cycler files into a notebook, as `python main.py import` does: read, check
every row, compare the instrument's counter with the integrated current, store in one
transaction. Baselines measured in the same run: for a 1 M-row BDF CSV with capacity
counters, plain pandas.read_csv of the same file (reading only: no checks, no storage);
for the real Arbin `.res` in tests/data, access-parser's own row decoder of the same
table (the library the reader falls back on). Medians of 3 repeats.

Prints JSON lines in the format benchmarks/run_all.py collects."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from notebook import Notebook  # noqa: E402
from timing import median_time, report  # noqa: E402
from notebook.formats.arbin import read_arbin_res  # noqa: E402
from notebook.importer import import_file  # noqa: E402

ROWS = 1_000_000
RES = ROOT / "tests" / "data" / "cycling" / "20160805_test001_45_cc_01.res"



def write_bdf(path: Path) -> None:
    """A cycler's BDF export: 10 s samples, 1 mA charge and discharge of 2,000 samples
    each, and the standard's charge and discharge capacity counters (per step)."""
    k = np.arange(ROWS)
    step = k // 2000 + 1
    current = np.where(step % 2, 1e-3, -1e-3)
    within = k % 2000
    q = within * 10.0 * 1e-3 / 3600.0
    frame = pd.DataFrame({
        "Test Time / s": k * 10.0, "Voltage / V": 3.7 + 0.3 * np.sin(k / 300.0), "Current / A": current,
        "Cycle Count / 1": (step + 1) // 2, "Step Count / 1": step,
        "Charging Capacity / Ah": np.where(current > 0, q, 0.0), "Discharging Capacity / Ah": np.where(current < 0, q, 0.0)})
    frame.to_csv(path, index=False, float_format="%.9g")



def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = folder / "cycler.bdf.csv"
        write_bdf(path)
        runs = iter(range(1000))

        def imported() -> None:
            with Notebook(folder / f"nb{next(runs)}.sqlite") as nb:
                assert import_file(nb, path).n_samples == ROWS

        ours = median_time(imported)
        pandas_only = median_time(lambda: pd.read_csv(path))
        size = path.stat().st_size / 1e6
        report(f"import a {ROWS // 1000} k-row BDF CSV ({size:.0f} MB) into a notebook", ours, "s", pandas_only)
        report("... rows per second", ROWS / ours, "rows/s", None)

    from access_parser import AccessParser
    res = median_time(lambda: read_arbin_res(RES))
    library = median_time(lambda: AccessParser(str(RES)).parse_table("Channel_Normal_Table"))
    report("read the Arbin .res (10,261 rows)", res, "s", library)
    return 0


if __name__ == "__main__":
    sys.exit(main())
