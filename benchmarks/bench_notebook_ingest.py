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
import cell  # noqa: E402
from notebook import Notebook, empty_samples  # noqa: E402
from notebook.writer import RunWriter  # noqa: E402

N = 2_000_000
BATCH = 1000
REPEATS = 3


def samples() -> np.ndarray:
    s = empty_samples(N)
    s["t"] = np.arange(N) * 1e-3
    s["current"] = 1e-3
    s["voltage"] = 3.7 + 0.01 * np.sin(np.arange(N) / 1000)
    return s


def chunked(path: Path, data: np.ndarray) -> float:
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    t0 = time.perf_counter()
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "bench", "{}", {})
    for start in range(0, N, BATCH):
        writer.append(data[start:start + BATCH])
    writer.finish("completed")
    write_s = time.perf_counter() - t0
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
    data = samples()
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
