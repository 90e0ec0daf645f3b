"""Reading a 10 M-sample run back into numpy (Notebook.samples: chunks copied into one
array sized from their counts) against the way it was read before (a list of chunk
arrays joined by np.concatenate) on the same file in the same run. Also the writer's
sustained ingest at that size. Medians of 3 repeats."""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook import Notebook  # noqa: E402
from notebook.samples import SAMPLE_DTYPE, from_blob  # noqa: E402
from synthetic_runs import synthetic_samples, write_run  # noqa: E402

N = 10_000_000
BATCH = 10_000
REPEATS = 3


def concatenated(nb: Notebook, run_id: int) -> np.ndarray:
    """The previous reader: every chunk as an array in a list, then one concatenate."""
    blobs = [from_blob(r[0]) for r in nb.conn.execute(
        "SELECT data FROM sample_chunks WHERE run_id = ? ORDER BY first_index", (run_id,))]
    return np.concatenate(blobs) if blobs else np.zeros(0, dtype=SAMPLE_DTYPE)


def main() -> None:
    data = synthetic_samples(N)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "read.sqlite"
        run_id, write_s = write_run(path, data, BATCH)
        ours, before = [], []
        with Notebook(path, read_only=True) as nb:
            for _ in range(REPEATS):
                t0 = time.perf_counter()
                back = nb.samples(run_id)
                ours.append(time.perf_counter() - t0)
                assert back.size == N and back["t"][-1] == data["t"][-1]
                del back
                t0 = time.perf_counter()
                back = concatenated(nb, run_id)
                before.append(time.perf_counter() - t0)
                del back
    value, baseline = statistics.median(ours), statistics.median(before)
    print(json.dumps({"figure": "read a 10 M-sample run into numpy", "value": value, "unit": "s",
                      "baseline": baseline, "ratio": baseline / value, "goal": "< 1 s (baseline: list + concatenate)"}))
    print(json.dumps({"figure": "notebook ingest, 10 M samples in 10 k batches", "value": N / write_s / 1e6,
                      "unit": "M/s", "baseline": None, "ratio": None, "goal": ">= 1 M/s"}))


if __name__ == "__main__":
    main()
