"""Nothing recorded is lost: a process killed mid-run, a disk that fills up, a notebook
file that stops taking writes. Real processes, real SQLite files."""
from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

import cell
from conftest import ROOT
from notebook import Notebook, NotebookError, empty_samples
from notebook.writer import RunWriter, write_error

# A station run on the simulated bench at 3600x, printing for every batch it hands to the
# writer the monotonic clock (system-wide on Linux) and the batch size.
CHILD = """
import sys, time
import cell
from acquisition.protocol import preset
from acquisition.session import prepare_run
from notebook import Notebook

class Progress:
    def on_batch(self, samples):
        print("batch", time.monotonic(), samples.size, repr(float(samples["t"][-1])), flush=True)
    def on_event(self, event): pass
    def on_status(self, status, message): pass
    def on_spectrum(self, spectrum): pass

nb = Notebook(sys.argv[1])
session = prepare_run(nb, cell.from_template("sym-agc"), preset("plate-strip-0.16"), speed="3600",
                      listeners=[Progress()])
session.engine.run()
"""


def read_available(fd: int) -> bytes:
    os.set_blocking(fd, False)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return out
        if not chunk:
            return out
        out += chunk


# make test kills at four points (about 30 s in all); make test-long at all thirteen
KILL_SEEDS = [0, 1, 2, 3] + [pytest.param(seed, marks=pytest.mark.long) for seed in range(4, 13)]


POSIX_ONLY = "Windows has no SIGSTOP or SIGKILL, and select() there takes sockets, not pipes"


@pytest.mark.skipif(sys.platform == "win32", reason=POSIX_ONLY)
@pytest.mark.parametrize("seed", KILL_SEEDS)
def test_sigkill_mid_run_loses_at_most_the_last_second(db_path, seed):
    # seed 0 kills 4 s in; the long variants (pytest --long) at seeded random points
    run_for = 4.0 if seed == 0 else float(np.random.default_rng(seed).uniform(1.5, 8.0))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db_path)], cwd=ROOT, stdout=subprocess.PIPE, bufsize=0)
    lines, buffer = [], b""
    deadline = time.monotonic() + 60
    try:
        # let it run ~4 s of wall time (4 simulated hours) past its first batch
        while time.monotonic() < deadline:
            # wait for output at most until the deadline: a child that hangs silent fails the test, not CI
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break                                 # the child ended before it was stopped
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            lines += complete
            first = next((line for line in lines if line.startswith(b"batch ")), None)
            if first is not None and time.monotonic() - float(first.split()[1]) > run_for:
                break
        proc.send_signal(signal.SIGSTOP)              # from here on it hands nothing more over
        stopped = time.monotonic()
        buffer += read_available(proc.stdout.fileno())
        lines += buffer.split(b"\n")[:-1]            # complete lines only
        with Notebook(db_path) as other:             # a second station opened meanwhile: the run is live
            assert other.interrupted == [] and len(other.live_elsewhere) == 1
            assert other.run(other.live_elsewhere[0])["status"] == "running"
    finally:
        proc.kill()                                   # SIGKILL: no handler, no flush, no goodbye
        proc.wait(10)
    batches = [(float(w), int(n), float(t)) for _, w, n, t in (line.split() for line in lines if line.startswith(b"batch "))]
    assert batches and proc.returncode == -signal.SIGKILL
    handed = np.cumsum([n for _, n, _ in batches])

    integrity = sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0]
    assert integrity == "ok"
    with Notebook(db_path) as nb:
        (run_id,) = nb.interrupted
        run = nb.run(run_id)
        kept = nb.samples(run_id)
    assert run["status"] == "interrupted" and run["n_samples"] == kept.size
    # what is kept is exactly the first batches handed over, in order...
    assert kept.size in set(handed.tolist())
    k = int(np.searchsorted(handed, kept.size))
    assert kept["t"][-1] == batches[k][2]
    assert np.all(np.diff(kept["t"]) > 0)
    # ...and every batch handed over more than a second (the commit interval) before the stop is among them
    older = [i for i, (wall, _, _) in enumerate(batches) if wall <= stopped - 1.0 - 0.25]
    assert older and kept.size >= handed[older[-1]], (
        f"kept {kept.size} samples up to t = {kept['t'][-1]:.0f} s; handed over {handed[older[-1]]} "
        f"more than 1.25 s before the kill (up to t = {batches[older[-1]][2]:.0f} s)")


def limit_file_size(limit: int):
    import resource      # Unix-only: imported where it is needed, so the module loads on Windows

    def apply() -> None:
        # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG as on a full quota
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.skipif(sys.platform == "win32", reason="a file-size limit (setrlimit, preexec_fn) is Unix-only")
def test_a_disk_that_fills_up_stops_the_run_with_a_clear_message(db_path):
    Notebook(db_path).close()
    limit = db_path.stat().st_size + 10 * 2**20       # room for a few commits (~3 MB each at full speed), not for 20 MB
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "sym-agc", "plate-strip-0.16", "--db",
                             str(db_path), "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            preexec_fn=limit_file_size(limit))
    assert result.returncode == 1, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "failed"
    assert f"cannot write to the notebook {db_path}" in out["message"]
    assert "disk" in out["message"] and "The run was stopped" in out["message"]
    assert 0 < out["n_samples"] < 50 * 2 * 3600                              # stopped long before its end
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Notebook(db_path) as nb:
        run = nb.run(out["run_id"])
        kept = nb.samples(out["run_id"])
    # the final status could only be written if the full file took that one update
    assert run["status"] in ("failed", "interrupted") and run["n_samples"] == kept.size > 0
    assert kept["t"][0] == 1.0 and np.all(np.diff(kept["t"]) == 1.0)        # 1 s samples, none missing in between


def test_a_notebook_that_stops_taking_writes_keeps_what_was_committed(db_path):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(db_path, commit_interval_s=0.2, chunk_samples=1000)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {})
    samples = empty_samples(5000)
    samples["t"] = np.arange(1, 5001)
    writer.append(samples[:3000])
    time.sleep(0.6)                                     # committed
    writer.conn.execute("PRAGMA query_only = ON")       # from now on SQLite refuses every write
    writer.append(samples[3000:])
    time.sleep(0.6)
    assert writer.error is not None
    message = str(writer.error)
    assert message.startswith(f"cannot write to the notebook {db_path}: the notebook file has become read-only")
    assert "the 3,000 samples saved before it are kept" in message
    writer.finish("failed", "stopped")
    with Notebook(db_path) as nb:
        assert nb.run(run_id)["status"] == "interrupted"     # the closing update was refused too
        assert nb.samples(run_id)["t"].tolist() == list(range(1, 3001))


@pytest.mark.parametrize("code, cause", [(13, "the disk is full"), (10, "a disk I/O error"),
                                         (14, "can no longer be opened")])
def test_write_errors_say_what_happened(tmp_path, code, cause):
    exc = sqlite3.OperationalError("disk trouble")
    exc.sqlite_errorcode = code
    message = str(write_error(tmp_path / "n.sqlite", exc, 12345))
    assert cause in message and "12,345 samples saved before it are kept" in message


def test_a_reader_in_the_middle_of_a_read_does_not_block_the_writer(db_path):
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    writer = RunWriter(db_path, commit_interval_s=0.2, chunk_samples=100)
    run_id = writer.start_run(build_id, "plate-strip-0.16", "{}", {})
    samples = empty_samples(1000)
    samples["t"] = np.arange(1, 1001)
    writer.append(samples[:500])
    time.sleep(0.5)
    reader = Notebook(db_path, read_only=True)
    cursor = reader.conn.execute("SELECT data FROM sample_chunks WHERE run_id = ?", (run_id,))
    cursor.fetchone()                                   # a read transaction held open mid-statement
    writer.append(samples[500:])
    time.sleep(0.5)
    assert writer.error is None
    writer.finish("completed")
    cursor.close()
    reader.close()
    with Notebook(db_path, read_only=True) as nb:
        assert nb.run(run_id)["status"] == "completed" and nb.samples(run_id).size == 1000


def test_a_run_that_cannot_start_says_so(db_path):
    Notebook(db_path).close()
    writer = RunWriter(db_path)
    with pytest.raises(NotebookError) as err:            # the build does not exist: a foreign-key refusal
        writer.start_run(42, "plate-strip-0.16", "{}", {})
    assert str(err.value).startswith(f"cannot write to the notebook {db_path}: SQLite refused the write")
    assert str(err.value).endswith("The run could not start.") and writer.error is err.value
    writer.finish("failed")
    with Notebook(db_path, read_only=True) as nb:
        assert nb.runs() == []


HOLD_LOCK = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT INTO notes (build_id, created_utc, author, text) VALUES (1, 'now', 'other', 'held')")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


def test_a_notebook_another_program_keeps_locked_is_refused_by_name_and_left_whole(db_path, monkeypatch):
    """Another program (a database browser, a script) holds a write lock: every write
    says so and adds nothing; reading goes on; once the lock is gone, writes work."""
    from notebook import store
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.3)
    with Notebook(db_path) as nb:
        build_id = nb.save_build(cell.from_template("sym-agc"))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        nb = Notebook(db_path)                        # opening reads: fine
        assert [b["build_id"] for b in nb.builds()] == [build_id]
        with pytest.raises(NotebookError, match=r"is locked by another program \(it held its lock for more than "
                                                r"0.3 s\), so the build was not saved: finish or close"):
            nb.save_build(cell.from_template("full-agc"))
        with pytest.raises(NotebookError, match="locked by another program.*so the note was not added"):
            nb.add_note("seen", build_id=build_id)
        with pytest.raises(NotebookError, match="locked by another program.*so the tag was not added"):
            nb.add_tag("good", build_id=build_id)
    finally:
        holder.communicate("\n", timeout=10)
    assert [b["build_id"] for b in nb.builds()] == [build_id] and nb.notes(build_id=build_id) == []
    second = nb.save_build(cell.from_template("full-agc"))              # the lock is gone: writes work again
    assert sorted(b["build_id"] for b in nb.builds()) == [build_id, second]
    nb.close()
