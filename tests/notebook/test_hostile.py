"""Hostile and damaged notebooks: a file carrying triggers or views that are not ours, run
rows that lie about their samples, chunk counts that would allocate terabytes, stored JSON
that does not parse; and two processes creating one notebook at once. Each is refused or
reported by name, and nothing recorded is changed."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, TEST_DATA
from notebook import Notebook, NotebookError, empty_samples
from notebook.importer import import_file
from notebook.writer import RunWriter

import cell


def _notebook_with_a_run(path, n: int = 14400, status: str = "completed") -> int:
    """A notebook with one run of n samples, left with `status` (by hand, as a crash would)."""
    with Notebook(path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {})
    samples = empty_samples(n)
    samples["t"] = np.arange(n, dtype=float)
    samples["current"] = 1e-3
    writer.append(samples)
    writer.finish("completed")
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("UPDATE runs SET status = ? WHERE id = ?", (status, run_id))
    raw.close()
    return run_id


def _stored_samples(path) -> int:
    raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return raw.execute("SELECT COALESCE(SUM(n), 0) FROM sample_chunks").fetchone()[0]
    finally:
        raw.close()


def _plant(path, sql: str) -> None:
    raw = sqlite3.connect(path)
    with raw:
        raw.execute(sql)
    raw.close()


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_a_trigger_that_deletes_samples_is_refused_by_name_before_anything_is_written(db_path):
    _notebook_with_a_run(db_path, status="running")     # opening writable would mark it interrupted
    _plant(db_path, "CREATE TRIGGER wipe AFTER UPDATE ON runs BEGIN DELETE FROM sample_chunks; END")
    for read_only in (False, True):
        with pytest.raises(NotebookError, match="unknown trigger 'wipe'"):
            Notebook(db_path, read_only=read_only)
    assert _stored_samples(db_path) == 14400
    listed = cli("runs", "--db", db_path)
    assert listed.returncode != 0 and "unknown trigger 'wipe'" in listed.stderr and "Traceback" not in listed.stderr
    assert _stored_samples(db_path) == 14400


@pytest.mark.parametrize("sql, named", [
    ("CREATE VIEW spy AS SELECT * FROM runs", "unknown view 'spy'"),
    ("CREATE TABLE extra (x)", "unknown table 'extra'"),
    ("CREATE INDEX runs_status ON runs(status)", "unknown index 'runs_status'"),
])
def test_unknown_views_tables_and_indexes_are_named(db_path, sql, named):
    _notebook_with_a_run(db_path)
    _plant(db_path, sql)
    with pytest.raises(NotebookError, match=named):
        Notebook(db_path, read_only=True)


def test_one_of_our_views_redefined_is_refused(db_path):
    _notebook_with_a_run(db_path)
    _plant(db_path, "DROP VIEW cycle_summary")
    _plant(db_path, "CREATE VIEW cycle_summary AS SELECT 1")
    with pytest.raises(NotebookError, match="view 'cycle_summary' differs from SolidStack's definition"):
        Notebook(db_path)


def test_a_run_whose_chunks_are_missing_is_reported_and_never_exported_empty(db_path, tmp_path):
    run_id = _notebook_with_a_run(db_path)
    _plant(db_path, "DELETE FROM sample_chunks")
    with Notebook(db_path, read_only=True) as nb, pytest.raises(NotebookError, match="recorded 14400 samples but its "
                                                                                    "stored chunks hold 0"):
        nb.samples(run_id)
    out = tmp_path / "run.csv"
    result = cli("export", out, "--db", db_path, "--run", run_id, "--format", "bdf-csv")
    assert result.returncode != 0 and "recorded 14400 samples" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_a_chunk_claiming_a_trillion_samples_is_refused_before_allocating(db_path):
    run_id = _notebook_with_a_run(db_path)
    _plant(db_path, "UPDATE sample_chunks SET n = 1000000000000 WHERE first_index = 0")
    with Notebook(db_path, read_only=True) as nb:
        started = time.monotonic()
        with pytest.raises(NotebookError, match="sample chunk at index 0 says it holds a different number"):
            nb.samples(run_id)
        assert time.monotonic() - started < 5.0


def test_malformed_stored_json_is_damage_to_one_record(db_path):
    run_id = _notebook_with_a_run(db_path)
    with Notebook(db_path) as nb:
        nb.conn.execute("INSERT INTO events (run_id, t_s, sample_index, kind, severity, message, evidence_json)"
                        " VALUES (?, 1, 1, 'hard_short', 'alarm', 'x', '{broken')", (run_id,))
        nb.conn.execute("UPDATE runs SET provenance_json = '{\"import\": ' WHERE id = ?", (run_id,))
        nb.conn.execute("UPDATE builds SET stack_json = '[' WHERE id = 1")
        nb.conn.commit()
    with Notebook(db_path) as nb:
        with pytest.raises(NotebookError, match=f"evidence of event 1 of run {run_id}.* is damaged"):
            nb.events(run_id)
        with pytest.raises(NotebookError, match="build 1's stack record .* is damaged"):
            nb.build(1)
        assert len(nb.builds()) == 1          # listing still works
        assert nb.samples(run_id).size == 14400
        # a malformed provenance row does not break importing other files
        result = import_file(nb, TEST_DATA / "cycling" / "sample.bdf.csv")
        assert result.n_samples > 0


def test_non_finite_values_are_stored_as_null_and_the_notebook_stays_importable(db_path, tmp_path):
    source = TEST_DATA / "cycling" / "nw_regular_export_ife_example.csv"
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    # the vendor's first-cycle charge-energy cell reads nan, as a Neware export can
    header = lines[0].split(",")
    column = header.index("Chg. Energy(Wh)")
    first = lines[3].split(",")     # lines 0-2 are the three tables' headers
    first[column] = "nan"
    lines[3] = ",".join(first)
    poisoned = tmp_path / "poisoned.csv"
    poisoned.write_text("\n".join(lines) + "\n")
    with Notebook(db_path) as nb:
        import_file(nb, poisoned)
        assert nb.conn.execute("SELECT MIN(json_valid(provenance_json)) FROM runs").fetchone()[0] == 1
        again = import_file(nb, poisoned)
        assert any("imported before" in w for w in again.warnings)
        stored = json.loads(nb.run(again.run_id)["provenance_json"])
        assert stored["import"]["vendor_cycles"][0]["charge_Wh"] is None


RACE_CHILD = """
import sys, time
from pathlib import Path
from notebook import Notebook
folder, start = Path(sys.argv[1]), float(sys.argv[2])
for k in range(int(sys.argv[3])):
    while time.time() < start + 0.1 * k:
        time.sleep(0.001)
    Notebook(folder / f"nb{k}.sqlite").close()
print("ok")
"""


def test_two_processes_creating_one_notebook_do_not_race(tmp_path):
    rounds = 20
    start = time.time() + 2.0        # both children have imported by then
    children = [subprocess.Popen([sys.executable, "-c", RACE_CHILD, str(tmp_path), str(start), str(rounds)],
                                 cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == "ok", err
    for k in range(rounds):
        with Notebook(tmp_path / f"nb{k}.sqlite", read_only=True) as nb:
            assert nb.conn.execute("PRAGMA user_version").fetchone()[0] >= 3


def _in_read_only_folder(fn):
    """fn() run where the notebook's folder cannot be written: in a forked child that drops
    root's privileges (root writes anywhere), else here. Returns fn's result, or raises what it raised."""
    if os.geteuid() != 0:
        return fn()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:            # the child: become 'nobody', answer through the pipe, leave at once
        code = 0
        try:
            os.setgid(65534)
            os.setuid(65534)
            reply = ("ok", fn())
        except BaseException as exc:     # noqa: BLE001 - carried to the parent, which judges it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            os.write(write_end, json.dumps(reply).encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        reply = json.loads(fh.read() or b'["error", "the child said nothing"]')
    os.waitpid(pid, 0)
    if reply[0] == "error":
        raise AssertionError(reply[1])
    return reply[1]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX file modes and fork")
def test_a_notebook_in_a_folder_nobody_may_write_is_read_as_a_snapshot():
    folder = Path(tempfile.mkdtemp(prefix="solidstack-ro-"))
    try:
        path = folder / "notebook.sqlite"
        run_id = _notebook_with_a_run(path, n=500)
        assert not (folder / "notebook.sqlite-wal").exists()     # a clean close merged it
        before = sorted(p.name for p in folder.iterdir())
        folder.chmod(0o555)
        path.chmod(0o444)

        def read():
            with Notebook(path, read_only=True) as nb:
                return nb.samples(run_id).size, nb.notice

        size, notice = _in_read_only_folder(read)
        assert size == 500 and "read as a snapshot" in notice

        def write():
            try:
                Notebook(path)
            except NotebookError as exc:
                return str(exc)
            return "opened"

        assert "open it read-only to browse it" in _in_read_only_folder(write)
        assert sorted(p.name for p in folder.iterdir()) == before      # no -shm, no -wal, nothing
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
