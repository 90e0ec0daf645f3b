"""Notebook ingest: the run writer's binary chunks against a naive one-row-per-sample
executemany into the same kind of database (WAL, synchronous=FULL, a commit per batch),
both in the same run. Medians of 3 repeats. Reading back: bench_notebook_read.py."""
from __future__ import annotations

import json
import statistics
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook import Notebook  # noqa: E402
from synthetic_runs import synthetic_samples, write_run  # noqa: E402

N = 2_000_000
BATCH = 1000
REPEATS = 3


def chunked(path: Path, data: np.ndarray) -> float:
    run_id, write_s = write_run(path, data, BATCH)
    with Notebook(path, read_only=True) as nb:
        assert nb.run(run_id)["n_samples"] == N
    return write_s


def naive(path: Path, data: np.ndarray) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE samples (run_id INT, idx INT, t REAL, current REAL, voltage REAL, ref REAL,"
                 " pressure REAL, temperature REAL, step INT, cycle INT)")
    t0 = time.perf_counter()
    rows = data.tolist()
    for start in range(0, N, BATCH):
        conn.executemany("INSERT INTO samples VALUES (1,?,?,?,?,?,?,?,?,?)",
                         [(start + k, *row) for k, row in enumerate(rows[start:start + BATCH])])
        conn.commit()
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main() -> None:
    data = synthetic_samples(N)
    writes, naives = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(REPEATS):
            writes.append(chunked(Path(tmp) / f"chunked{k}.sqlite", data))
            naives.append(naive(Path(tmp) / f"naive{k}.sqlite", data))
    rate = N / statistics.median(writes)
    naive_rate = N / statistics.median(naives)
    print(json.dumps({"figure": "notebook ingest (2 M samples, 1 k batches)", "value": rate / 1e6, "unit": "M/s",
                      "baseline": naive_rate / 1e6, "ratio": rate / naive_rate, "goal": ">= 1 M/s and >= 5x naive"}))


if __name__ == "__main__":
    main()
