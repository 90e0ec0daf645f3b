"""The run writer: one thread owns the notebook connection for a run (the QCoDeS
pattern). Producers hand it samples, step summaries and events through a queue; it
stores samples as binary chunks and commits at least every second, so a crash loses
at most the last second."""
from __future__ import annotations

import json
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from notebook.samples import to_blob
from notebook.store import connect, utc_now

FINAL_STATUSES = ("completed", "aborted", "shorted", "failed")


class RunWriter:
    def __init__(self, path: str | Path, commit_interval_s: float = 1.0, chunk_samples: int = 16384):
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self.chunk_samples = chunk_samples
        self.error: BaseException | None = None   # set when a write failed; the engine stops the run
        self.run_id: int | None = None
        self._queue: queue.Queue = queue.Queue()
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._n_written = 0
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
        except Exception as exc:  # reported through self.error; the engine checks it
            self.error = exc
            return
        deadline = time.monotonic() + self.commit_interval_s
        while True:
            try:
                kind, payload, future = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                kind = None
            try:
                if kind == "start":
                    future.set_result(self._start(*payload))
                elif kind == "samples":
                    self._pending.append(payload)
                    self._n_pending += payload.size
                    if self._n_pending >= self.chunk_samples:
                        self._write_chunk()
                elif kind == "step":
                    self._write_step(payload)
                elif kind == "event":
                    self._write_event(payload)
                elif kind == "spectrum":
                    self._write_spectrum(payload)
                elif kind == "finish":
                    self._finish(*payload)
                    self.conn.close()
                    return
                if time.monotonic() >= deadline:
                    self._commit()
                    deadline = time.monotonic() + self.commit_interval_s
            except Exception as exc:  # disk full, read-only file...: keep the error, stop writing
                self.error = exc
                if future is not None and not future.done():
                    future.set_exception(exc)
                if kind == "finish":
                    return

    def _start(self, build_id: int, protocol: str, protocol_json: str, provenance: dict) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (build_id, protocol, protocol_json, status, started_utc, provenance_json)"
            " VALUES (?,?,?, 'running', ?, ?)",
            (build_id, protocol, protocol_json, utc_now(), json.dumps(provenance)),
        )
        self.conn.commit()
        return cur.lastrowid

    def _write_chunk(self) -> None:
        if not self._pending:
            return
        chunk = np.concatenate(self._pending)
        self.conn.execute(
            "INSERT INTO sample_chunks (run_id, first_index, n, t_first, t_last, data) VALUES (?,?,?,?,?,?)",
            (self.run_id, self._n_written, chunk.size, float(chunk["t"][0]), float(chunk["t"][-1]), to_blob(chunk)),
        )
        self._n_written += chunk.size
        self._pending.clear()
        self._n_pending = 0

    def _write_step(self, s: dict) -> None:
        self.conn.execute(
            "INSERT INTO run_steps (run_id, step, cycle, label, current_a, t_start, t_end, n_samples, charge_mah, v_mean, v_end)"
            " VALUES (:run_id, :step, :cycle, :label, :current_a, :t_start, :t_end, :n_samples, :charge_mah, :v_mean, :v_end)",
            {"run_id": self.run_id, **s},
        )

    def _write_event(self, e: dict) -> None:
        self.conn.execute(
            "INSERT INTO events (run_id, t_s, sample_index, kind, severity, message, evidence_json) VALUES (?,?,?,?,?,?,?)",
            (self.run_id, e["t_s"], e["sample_index"], e["kind"], e["severity"], e["message"], json.dumps(e.get("evidence", {}))),
        )

    def _write_spectrum(self, s: dict) -> None:
        self.conn.execute(
            "INSERT INTO spectra (run_id, spectrum, t_s, step, cycle, amplitude_v, instrument) VALUES (?,?,?,?,?,?,?)",
            (self.run_id, s["spectrum"], s["t_s"], s["step"], s["cycle"], s["amplitude_v"], s["instrument"]),
        )
        self.conn.executemany(
            "INSERT INTO spectrum_points (run_id, spectrum, point, freq_hz, z_real_ohm, z_imag_ohm) VALUES (?,?,?,?,?,?)",
            [(self.run_id, s["spectrum"], k, float(f), float(z.real), float(z.imag))
             for k, (f, z) in enumerate(zip(s["freq_hz"], s["z"]))],
        )

    def _commit(self) -> None:
        self._write_chunk()
        self.conn.execute("UPDATE runs SET n_samples = ? WHERE id = ?", (self._n_written, self.run_id))
        self.conn.commit()

    def _finish(self, status: str, message: str) -> None:
        self._commit()
        self.conn.execute("UPDATE runs SET status = ?, message = ?, ended_utc = ? WHERE id = ?",
                          (status, message, utc_now(), self.run_id))
        self.conn.commit()
