"""Opening a notebook that holds 1,000 runs (each on its own build, with step
summaries, events, a note and a tag) and listing them, as `python main.py runs` and the
browser do; baseline: the same listing as one query per run (the N+1 pattern a naive
browser would use). Medians of 5 repeats, the notebook's pages in the OS cache."""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cell  # noqa: E402
from notebook import Notebook, empty_samples  # noqa: E402
from notebook.rows import insert_chunk, insert_event, insert_step  # noqa: E402
from notebook.search import RunQuery  # noqa: E402
from notebook.store import protocol_version_id, utc_now  # noqa: E402

RUNS = 1000
REPEATS = 5


def fill(path: Path) -> None:
    samples = empty_samples(2000)
    samples["t"] = np.arange(1, 2001)
    stacks = [cell.from_template(t, operator=op) for t, op in (("sym-agc", "CW"), ("sym-bare", "BE"), ("full-agc", "CW"))]
    with Notebook(path) as nb, nb.conn:
        protocol = protocol_version_id(nb.conn, "plate-strip-0.16", '{"cycles": 50}')
        for k in range(RUNS):
            build_id = nb.insert_build(stacks[k % 3].edit_layer(1, "lot", f"LOT-{k % 40}"))
            run_id = nb.conn.execute(
                "INSERT INTO runs (build_id, protocol, protocol_id, protocol_json, status, started_utc, ended_utc,"
                " n_samples, provenance_json) VALUES (?, 'plate-strip-0.16', ?, '{\"cycles\": 50}', ?, ?, ?, 2000, ?)",
                (build_id, protocol, ("completed", "shorted", "aborted")[k % 3], utc_now(), utc_now(),
                 json.dumps({"stack": stacks[k % 3].to_dict(), "app_version": "bench"}))).lastrowid
            insert_chunk(nb.conn, run_id, 0, samples)
            for step in range(100):
                insert_step(nb.conn, run_id, {"step": step, "cycle": step // 2 + 1, "label": "plate", "current_a": 1e-4,
                                              "t_start": 0.0, "t_end": 1.0, "n_samples": 20, "charge_mah": 0.1,
                                              "v_mean": 0.01, "v_end": 0.01})
            for e in range(k % 4):
                insert_event(nb.conn, run_id, {"t_s": 1.0, "sample_index": e, "kind": "instrument_retry",
                                               "severity": "warning", "message": "retry"})
            nb.conn.execute("INSERT INTO notes (run_id, created_utc, text) VALUES (?, ?, ?)",
                            (run_id, utc_now(), f"note {k}"))
            nb.conn.execute("INSERT INTO run_tags (run_id, tag, created_utc) VALUES (?, ?, ?)",
                            (run_id, f"batch-{k % 10}", utc_now()))


def n_plus_one(path: Path) -> int:
    with Notebook(path, read_only=True) as nb:
        rows = []
        for (run_id,) in nb.conn.execute("SELECT id FROM runs ORDER BY id").fetchall():
            run = nb.run(run_id)
            build = nb.conn.execute("SELECT * FROM builds WHERE id = ?", (run["build_id"],)).fetchone()
            events = len(nb.events(run_id))
            tags = nb.tags(run_id=run_id)
            rows.append((run["status"], build["template"], events, tags))
        return len(rows)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "listing.sqlite"
        fill(path)
        opened, listed, searched, naive = [], [], [], []
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            nb = Notebook(path)                          # writable: checks, migrates, marks interrupted
            t1 = time.perf_counter()
            runs = nb.runs()
            t2 = time.perf_counter()
            found = nb.find_runs(RunQuery(operator="CW", lot="LOT-1", text="note"))
            t3 = time.perf_counter()
            nb.close()
            assert len(runs) == RUNS and found
            opened.append(t1 - t0)
            listed.append(t2 - t0)
            searched.append(t3 - t2)
            t0 = time.perf_counter()
            assert n_plus_one(path) == RUNS
            naive.append(time.perf_counter() - t0)
    value, baseline = statistics.median(listed), statistics.median(naive)
    print(json.dumps({"figure": "open a notebook of 1,000 runs and list them", "value": value, "unit": "s",
                      "baseline": baseline, "ratio": baseline / value, "goal": "< 0.5 s (baseline: a query per run)"}))
    print(json.dumps({"figure": "... of which opening", "value": statistics.median(opened), "unit": "s",
                      "baseline": None, "ratio": None, "goal": ""}))
    print(json.dumps({"figure": "browser search (operator, lot, text) over 1,000 runs", "value": statistics.median(searched),
                      "unit": "s", "baseline": None, "ratio": None, "goal": ""}))


if __name__ == "__main__":
    main()
