"""What the notebook benchmarks share: a synthetic run of n samples, and writing it
through the station's RunWriter as a live run would, in batches."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cell  # noqa: E402
from notebook import Notebook, empty_samples  # noqa: E402
from notebook.writer import RunWriter  # noqa: E402


def synthetic_samples(n: int) -> np.ndarray:
    """1 kHz samples of a cell at 1 mA near 3.7 V."""
    s = empty_samples(n)
    s["t"] = np.arange(n) * 1e-3
    s["current"] = 1e-3
    s["voltage"] = 3.7 + 0.01 * np.sin(np.arange(n) / 1000)
    return s


def write_run(path: Path, data: np.ndarray, batch: int) -> tuple[int, float]:
    """(run id, seconds): `data` handed to a RunWriter `batch` samples at a time, to its finish."""
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    t0 = time.perf_counter()
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "bench", "{}", {})
    for start in range(0, data.size, batch):
        writer.append(data[start:start + batch])
    writer.finish("completed")
    return run_id, time.perf_counter() - t0
