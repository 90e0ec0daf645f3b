"""Running analyses off the GUI thread: a QThread works through a list of jobs (read a
run from the notebook, or compute one analysis of one run), reports progress as it
goes, hands each result to the GUI thread by a queued signal, and stops at the next
progress report once cancelled. The event loop is never blocked by analysis work."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6 import QtCore

from gui.analysis_runs import RunData, compute, load_run
from notebook import NotebookError

LOAD = "load"   # the job kind that reads a run; every other kind is an analysis in ANALYSES


@dataclass(frozen=True)
class Job:
    kind: str
    run_id: int
    options: tuple = ()     # analysis_runs.options_key() of the analysis' options

    @property
    def key(self) -> tuple:
        return (self.kind, self.run_id, self.options)


class Cancelled(Exception):
    """Raised inside the worker from a progress report once the user cancels."""


class AnalysisThread(QtCore.QThread):
    progress = QtCore.Signal(float, str)        # fraction of all jobs done, what is being done
    result = QtCore.Signal(object, object)      # Job, RunData or the analysis result
    failed = QtCore.Signal(object, str)         # Job, why it could not be done

    REPORT_EVERY_S = 0.05                       # progress signals at most 20 per second

    def __init__(self, path: Path, jobs: list[Job], runs: dict[int, RunData], parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.path = path
        self.jobs = list(jobs)
        self.runs = dict(runs)                  # the worker's own map: runs it loads join it
        self._cancel = threading.Event()
        self._last_report = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        total = len(self.jobs)
        for n, job in enumerate(self.jobs):
            if self._cancel.is_set():
                return

            def report(fraction: float, text: str, n: int = n) -> None:
                if self._cancel.is_set():
                    raise Cancelled
                now = time.monotonic()
                if now - self._last_report >= self.REPORT_EVERY_S:
                    self._last_report = now
                    self.progress.emit((n + min(max(fraction, 0.0), 1.0)) / total, text)

            try:
                report(0.0, _describe(job))
                if job.kind == LOAD:
                    value = load_run(self.path, job.run_id, report)
                    self.runs[job.run_id] = value
                elif job.run_id not in self.runs:
                    self.failed.emit(job, f"run #{job.run_id} could not be read")
                    continue
                else:
                    value = compute(job.kind, self.runs[job.run_id], dict(job.options), report)
            except Cancelled:
                return
            except (ValueError, NotebookError, np.linalg.LinAlgError) as exc:
                # a run or an analysis that cannot be done is reported; the other jobs go on
                self.failed.emit(job, str(exc))
                continue
            self.result.emit(job, value)
        self.progress.emit(1.0, "done")


def _describe(job: Job) -> str:
    return f"reading run #{job.run_id}" if job.kind == LOAD else f"{job.kind} of run #{job.run_id}"
