"""The run writer: one thread owns the notebook connection for a run (the QCoDeS
pattern). Producers hand it samples, step summaries and events through a queue; it
stores samples as binary chunks and commits at least every second, so a crash loses
at most the last second.

A write that fails (disk full, a file that became read-only or vanished, an I/O error)
is kept in `error` as a NotebookError whose message says what happened in words and
what was kept; the engine polls it and stops the run with the source safe. After it,
the writer stores nothing more: what was committed stays as it is, and the run row is
closed as `failed` if the file still takes that, else marked `interrupted` on next open."""
from __future__ import annotations

import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from notebook.errors import NotebookError
from notebook.jsontext import dumps
from notebook.liveness import RunLock
from notebook.rows import insert_chunk, insert_event, insert_spectrum, insert_step
from notebook.store import connect, protocol_version_id, utc_now

EARLY_COMMIT_CHUNKS = 8   # commit before the second is up once this many chunks wait
FINAL_STATUSES = ("completed", "aborted", "shorted", "failed")

# SQLite's primary result codes (the low byte of sqlite_errorcode) -> what happened, in words
_CAUSES = {
    5: "another program kept the notebook locked for more than 10 s",
    8: "the notebook file has become read-only",
    10: "a disk I/O error (the disk may be full, removed or failing)",
    11: "the notebook file is damaged",
    13: "the disk is full",
    14: "the notebook file can no longer be opened (was it moved or its disk removed?)",
}


def write_error(path: Path, exc: BaseException, n_saved: int | None) -> NotebookError:
    """A failed notebook write as a message an operator can act on (n_saved None: the
    run had not started)."""
    if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) is not None:
        cause = _CAUSES.get(exc.sqlite_errorcode & 0xFF, "SQLite refused the write")
    elif isinstance(exc, OSError):
        cause = exc.strerror or "an operating-system error"
    else:
        cause = "an unexpected error"
    outcome = ("The run could not start." if n_saved is None
               else f"The run was stopped; the {n_saved:,} samples saved before it are kept.")
    return NotebookError(f"cannot write to the notebook {path}: {cause} ({type(exc).__name__}: {exc}). {outcome}")


class RunWriter:
    def __init__(self, path: str | Path, commit_interval_s: float = 1.0, chunk_samples: int = 16384):
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self.chunk_samples = chunk_samples
        self.error: BaseException | None = None   # set when a write failed; the engine stops the run
        self.run_id: int | None = None
        self._lock: RunLock | None = None       # held while the run is open: it is live, not interrupted
        self._queue: queue.Queue = queue.Queue()
        self._pending: list[np.ndarray] = []
        self._pending_rows: list[tuple[str, dict]] = []
        self._n_pending = 0
        self._n_written = 0
        self._n_committed = 0
        self._thread = threading.Thread(target=self._loop, name="notebook-writer", daemon=True)
        self._thread.start()

    # -- called from the producer's thread --
    def start_run(self, build_id: int, protocol: str, protocol_json: str, provenance: dict) -> int:
        future: Future = Future()
        self._queue.put(("start", (build_id, protocol, protocol_json, provenance), future))
        self.run_id = future.result(timeout=30)
        return self.run_id

    def append(self, samples: np.ndarray) -> None:
        self._queue.put(("samples", samples, None))

    def step(self, summary: dict) -> None:
        self._queue.put(("step", summary, None))

    def event(self, event: dict) -> None:
        self._queue.put(("event", event, None))

    def spectrum(self, spectrum: dict) -> None:
        """An impedance sweep: dict with spectrum, t_s, step, cycle, amplitude_v,
        instrument, freq_hz (array) and z (complex array, ohm)."""
        self._queue.put(("spectrum", spectrum, None))

    def finish(self, status: str, message: str = "") -> None:
        """Flush everything, close the run with `status` and stop the thread."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
        self._queue.put(("finish", (status, message), None))
        self._thread.join()

    # -- the writer thread --
    def _loop(self) -> None:
        try:
            self.conn = connect(self.path)
        except (sqlite3.Error, OSError) as exc:  # reported through self.error; the engine checks it
            self.error = write_error(self.path, exc, None)
            self._fail_waiting_start()
            return
        deadline = time.monotonic() + self.commit_interval_s
        while True:
            try:
                kind, payload, future = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                kind = None
            if self.error is not None:                  # nothing more is written after a failure
                if kind == "finish":
                    self._close_failed()
                    return
                if future is not None:
                    future.set_exception(self.error)
                continue
            try:
                if kind == "start":
                    future.set_result(self._start(*payload))
                elif kind == "samples":
                    self._pending.append(payload)
                    self._n_pending += payload.size
                    if self._n_pending >= EARLY_COMMIT_CHUNKS * self.chunk_samples:
                        # A fast run commits early too: memory stays bounded, and a full disk
                        # stops it within a few MB rather than at its end.
                        self._commit()
                        deadline = time.monotonic() + self.commit_interval_s
                elif kind in ("step", "event", "spectrum"):
                    # Held until the commit, like the samples: the write lock is then taken
                    # once a second for a few ms, so several runs share one notebook freely.
                    self._pending_rows.append((kind, payload))
                elif kind == "finish":
                    self._finish(*payload)
                    self.conn.close()
                    self._release()
                    return
                if time.monotonic() >= deadline:
                    self._commit()
                    deadline = time.monotonic() + self.commit_interval_s
            except (sqlite3.Error, OSError) as exc:  # disk full, read-only file...: keep the error, stop writing
                self.error = write_error(self.path, exc, None if self.run_id is None else self._n_committed)
                self._pending.clear()
                self._pending_rows.clear()
                if future is not None and not future.done():
                    future.set_exception(self.error)
                if kind == "finish":
                    self._close_failed()
                    return

    def _close_failed(self) -> None:
        """Close the run as `failed` with the write error, if the file still takes that
        one small update; if it does not, the run stays `running` on disk and becomes
        `interrupted` when the notebook is next opened. Samples not committed are dropped."""
        try:
            self.conn.rollback()
            self.conn.execute("UPDATE runs SET status = 'failed', message = ?, ended_utc = ?, n_samples = ? WHERE id = ?",
                              (str(self.error), utc_now(), self._n_committed, self.run_id))
            self.conn.commit()
        except sqlite3.Error:
            pass  # already reported through self.error; the on-disk state is consistent either way
        finally:
            self.conn.close()
            self._release()

    def _release(self) -> None:
        """After the run's last commit: from now on it is closed, or (if even closing it
        failed) a run left `running` that the next opening marks interrupted."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _fail_waiting_start(self) -> None:
        """Answer a start_run that is waiting, when the connection could not be made."""
        while True:
            try:
                kind, _, future = self._queue.get(timeout=30)
            except queue.Empty:
                return
            if future is not None:
                future.set_exception(self.error)
            if kind in ("start", "finish"):
                return

    def _start(self, build_id: int, protocol: str, protocol_json: str, provenance: dict) -> int:
        try:
            self.conn.execute("BEGIN IMMEDIATE")   # the protocol-version lookup and insert are one step
            cur = self.conn.execute(
                "INSERT INTO runs (build_id, protocol, protocol_id, protocol_json, status, started_utc, provenance_json)"
                " VALUES (?,?,?,?, 'running', ?, ?)",
                (build_id, protocol, protocol_version_id(self.conn, protocol, protocol_json), protocol_json, utc_now(),
                 dumps(provenance)),
            )
            # Locked before the row is visible: no opening in between can take it for a crashed run.
            lock = RunLock(self.path, cur.lastrowid)
            if not lock.acquire():
                raise OSError(f"the live-run lock {lock.path} is held by another process")
            self._lock = lock
            self.conn.commit()
        except (sqlite3.Error, OSError):
            self.conn.rollback()   # nothing of a run that could not start is left behind
            self._release()
            raise
        return cur.lastrowid

    def _write_chunks(self) -> None:
        if not self._pending:
            return
        samples = np.concatenate(self._pending)
        for start in range(0, samples.size, self.chunk_samples):
            chunk = samples[start:start + self.chunk_samples]
            insert_chunk(self.conn, self.run_id, self._n_written, chunk)
            self._n_written += chunk.size
        self._pending.clear()
        self._n_pending = 0

    def _write_rows(self) -> None:
        insert = {"step": insert_step, "event": insert_event, "spectrum": insert_spectrum}
        for kind, row in self._pending_rows:
            insert[kind](self.conn, self.run_id, row)
        self._pending_rows.clear()

    def _commit(self) -> None:
        if self.run_id is None or not (self._pending or self._pending_rows or self._n_written != self._n_committed):
            return
        self.conn.execute("BEGIN IMMEDIATE")   # wait for the write lock here, not half-way through
        self._write_chunks()
        self._write_rows()
        self.conn.execute("UPDATE runs SET n_samples = ? WHERE id = ?", (self._n_written, self.run_id))
        self.conn.commit()
        self._n_committed = self._n_written

    def _finish(self, status: str, message: str) -> None:
        self._commit()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("UPDATE runs SET status = ?, message = ?, ended_utc = ? WHERE id = ?",
                          (status, message, utc_now(), self.run_id))
        self.conn.commit()
