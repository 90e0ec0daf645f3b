"""Opening notebooks safely, the schema, builds, and reading runs back."""
from __future__ import annotations

import hashlib
import sqlite3

import numpy as np
import pytest

import cell
from notebook import Notebook, NotebookError, empty_samples
from notebook.schema import APPLICATION_ID, SCHEMA_VERSION
from notebook.writer import RunWriter


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_new_notebook_is_marked_and_versioned(db_path):
    Notebook(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"builds", "build_layers", "runs", "sample_chunks", "run_steps", "events", "run_overview", "cycle_summary"} <= names


def test_build_round_trip_with_layers(db_path):
    stack = cell.from_template("asym-agc", operator="BE", notes="Ag-C lot 7", area_cm2=0.785)
    with Notebook(db_path) as nb:
        build_id = nb.save_build(stack)
        assert nb.build(build_id) == stack
        layers = nb.conn.execute("SELECT material, thickness_um FROM build_layers WHERE build_id = ? ORDER BY position",
                                 (build_id,)).fetchall()
        assert [tuple(r) for r in layers] == [("Li", 30.0), ("AgC", 2.0), ("LPSCl", 40.0), ("Li", 30.0)]


def write_run(db_path, n=25000, status="completed"):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(db_path, chunk_samples=10000)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {"app_version": "test"})
    samples = empty_samples(n)
    samples["t"] = np.arange(1, n + 1)
    samples["voltage"] = np.sin(np.arange(n))
    for start in range(0, n, 700):
        writer.append(samples[start:start + 700])
    writer.step({"step": 0, "cycle": 1, "label": "plate", "current_a": 1e-4, "t_start": 0.0, "t_end": float(n),
                 "n_samples": n, "charge_mah": 0.5, "v_mean": 0.0, "v_end": 0.0})
    writer.event({"t_s": 5.0, "sample_index": 4, "kind": "hard_short", "severity": "alarm", "message": "m",
                  "evidence": {"ratio": 0.01}})
    if status is None:
        return run_id, samples, writer
    writer.finish(status)
    return run_id, samples, writer


def test_every_sample_comes_back_in_order(db_path):
    run_id, samples, _ = write_run(db_path)
    with Notebook(db_path) as nb:
        back = nb.samples(run_id)
        run = nb.run(run_id)
        assert back.tobytes() == samples.tobytes()   # bit for bit (NaN channels included)
        assert run["status"] == "completed" and run["n_samples"] == samples.size
        assert nb.events(run_id)[0]["evidence"] == {"ratio": 0.01}
        assert nb.conn.execute("SELECT charge_mah FROM cycle_summary WHERE run_id = ?", (run_id,)).fetchone()[0] == 0.5
        assert nb.acknowledge_run(run_id) == 1
        assert nb.events(run_id)[0]["acknowledged_utc"] is not None


def test_any_stretch_of_a_run_reads_back_across_chunks(db_path):
    run_id, samples, _ = write_run(db_path)
    with Notebook(db_path) as nb:
        chunks = nb.conn.execute("SELECT COUNT(*) FROM sample_chunks WHERE run_id = ?", (run_id,)).fetchone()[0]
        assert chunks > 2                       # the stretches below cross chunk boundaries
        n = samples.size
        for start, stop in ((0, n), (0, 1), (n // 3, 2 * n // 3 + 7), (n - 1, n), (5, 5)):
            assert nb.sample_range(run_id, start, stop).tobytes() == samples[start:stop].tobytes()
        assert nb.sample_range(run_id, n - 10, n + 500).size == 10       # only what is stored
        with pytest.raises(ValueError, match="start <= stop"):
            nb.sample_range(run_id, 10, 5)


def test_a_run_left_running_is_interrupted_on_reopen_with_its_data(db_path):
    run_id, samples, writer = write_run(db_path, status=None)
    writer._queue.put(("samples", samples[:0], None))
    import time
    time.sleep(1.5)  # past the commit interval: what was handed over is on disk
    with Notebook(db_path) as nb:         # its writer is alive: a second opening leaves the run alone
        assert nb.interrupted == [] and nb.live_elsewhere == [run_id]
        assert nb.run(run_id)["status"] == "running"
    writer._lock.release()                # what the OS does when the writing process dies
    with Notebook(db_path) as nb:
        assert nb.interrupted == [run_id] and nb.live_elsewhere == []
        assert nb.run(run_id)["status"] == "interrupted"
        assert nb.samples(run_id).size == samples.size
    writer.finish("completed")


def test_read_only_opening_changes_nothing(db_path):
    write_run(db_path)
    before = digest(db_path)
    with Notebook(db_path, read_only=True) as nb:
        assert nb.runs()[0]["n_samples"] == 25000
        with pytest.raises(NotebookError, match="read-only"):
            nb.save_build(cell.from_template("sym-bare"))
    assert digest(db_path) == before


def test_a_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("time,voltage\n0,3.7\n")
    before = digest(path)
    with pytest.raises(NotebookError, match="not a SolidStack notebook"):
        Notebook(path)
    assert digest(path) == before


def test_another_sqlite_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(NotebookError, match="SQLite database but not a SolidStack notebook"):
        Notebook(path)
    assert digest(path) == before


def test_a_newer_schema_is_refused(db_path):
    Notebook(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = digest(db_path)
    with pytest.raises(NotebookError, match="newer SolidStack"):
        Notebook(db_path)
    assert digest(db_path) == before


def test_missing_folder_and_missing_file(tmp_path):
    with pytest.raises(NotebookError, match="folder .* does not exist"):
        Notebook(tmp_path / "nope" / "n.sqlite")
    with pytest.raises(NotebookError, match="does not exist"):
        Notebook(tmp_path / "absent.sqlite", read_only=True)


def test_unknown_run_is_named(db_path):
    with Notebook(db_path) as nb, pytest.raises(NotebookError, match="no run 42"):
        nb.samples(42)


def test_a_version_1_notebook_is_migrated_forward_with_its_data(db_path):
    from notebook.schema import APPLICATION_ID, MIGRATIONS
    conn = sqlite3.connect(db_path)
    conn.executescript(MIGRATIONS[1])
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO builds (id, created_utc, template, description, area_cm2, stack_pressure_mpa,"
                 " densification_pressure_mpa, temperature_c, stack_json) VALUES (1, 'x', 'sym-agc', 'Li | Li', 1, 5, 375, 25, '{}')")
    conn.execute("INSERT INTO runs (id, build_id, protocol, protocol_json, status, started_utc, provenance_json)"
                 " VALUES (1, 1, 'plate-strip-0.16', '{}', 'completed', 'x', '{}')")
    conn.commit()
    conn.close()
    with Notebook(db_path) as nb:
        assert nb.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert nb.run(1)["status"] == "completed"
        assert nb.spectra(1) == []


def test_spectra_round_trip(db_path):
    run_id, _, writer = write_run(db_path, status=None)
    freqs = np.geomspace(1e6, 20, 11)
    z = (5 + 2 / (1 + 1j * freqs / 1e3))
    writer.spectrum({"spectrum": 0, "t_s": 12.0, "step": 1, "cycle": 1, "amplitude_v": 0.01,
                     "instrument": "E4990A", "freq_hz": freqs, "z": z})
    writer.finish("completed")
    with Notebook(db_path, read_only=True) as nb:
        (back,) = nb.spectra(run_id)
        assert np.array_equal(back["freq_hz"], freqs) and np.array_equal(back["z"], z)
        assert back["instrument"] == "E4990A" and back["t_s"] == 12.0


def test_new_notebooks_use_64k_pages_and_a_damaged_chunk_is_named(db_path):
    run_id, _, _ = write_run(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 65536
    second = conn.execute("SELECT first_index FROM sample_chunks WHERE run_id = ? ORDER BY first_index LIMIT 1 OFFSET 1",
                          (run_id,)).fetchone()[0]
    conn.execute("UPDATE sample_chunks SET n = n - 1 WHERE run_id = ? AND first_index = ?", (run_id, second))
    conn.commit()
    conn.close()
    with Notebook(db_path) as nb, pytest.raises(NotebookError, match=f"is damaged: the sample chunk at index {second} says it holds"):
        nb.samples(run_id)


def test_every_writing_connection_commits_durably(db_path):
    """synchronous = FULL (2): a commit is on disk before it returns, so a power cut loses
    nothing committed; WAL journal. Both the notebook's own connection and a run writer's."""
    from notebook.writer import RunWriter
    with Notebook(db_path) as nb:
        assert nb.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert nb.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(db_path)
    writer.start_run(build_id, "p", "{}", {})
    try:
        # the writer's own connection (it lives on the writer's thread; reading a pragma is safe)
        assert writer.conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        assert writer.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        writer.finish("completed")
