"""Lab work off the GUI thread: a query, a note or a fetch runs on a plain thread of its
own, and its result, its failure (in words, with any password taken out of them) or its
progress comes back to the GUI thread by a queued signal. The window never waits on the
network.

Each task has a `slot` name ("query", "fetch", ...): a newer task in the same slot makes an
older one's answer stale, and a stale answer is dropped, so a list never shows the result of
filters that are no longer set."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6 import QtCore

from notebook import NotebookError

log = logging.getLogger(__name__)

Report = Callable[[int, int, str], None]      # done, total, what is being done


class Stale(Exception):
    """Raised in a task from its progress report once a newer task took its slot."""


def failure_text(exc: BaseException) -> str:
    """An exception as one line a user can read, with any password removed."""
    from lab.connection import LabError, redact     # psycopg only once the lab is in play
    if isinstance(exc, (LabError, NotebookError)):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(" ".join(text.split())) or type(exc).__name__


@dataclass
class _Task:
    slot: str
    number: int
    on_done: Callable[[object], None]
    on_failed: Callable[[str], None]
    on_progress: Callable[[int, int, str], None] | None


class LabTasks(QtCore.QObject):
    """Runs callables on threads; `busy(slot)` says whether one is going in that slot."""
    _finished = QtCore.Signal(int, bool, object)       # task number, succeeded, result or text
    _progress = QtCore.Signal(int, int, int, str)      # task number, done, total, text
    changed = QtCore.Signal()                          # a task started or ended

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self._tasks: dict[int, _Task] = {}
        self._latest: dict[str, int] = {}
        self._count = 0
        # queued: these are emitted from the task's thread and handled on this object's (the GUI's)
        self._finished.connect(self._deliver, QtCore.Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._report, QtCore.Qt.ConnectionType.QueuedConnection)

    def run(self, slot: str, work: Callable[[Report], object], on_done: Callable[[object], None],
            on_failed: Callable[[str], None], on_progress: Callable[[int, int, str], None] | None = None) -> int:
        """Start `work(report)` on a thread of its own; its return value goes to `on_done`,
        a failure's words to `on_failed`, both on the GUI thread, unless a newer task has
        taken `slot` meanwhile. Returns the task's number."""
        self._count += 1
        number = self._count
        self._tasks[number] = _Task(slot, number, on_done, on_failed, on_progress)
        self._latest[slot] = number

        def report(done: int, total: int, text: str) -> None:
            if self._latest.get(slot) != number:
                raise Stale
            self._emit(self._progress, number, done, total, text)

        def body() -> None:
            try:
                value = work(report)
            except Stale:
                self._emit(self._finished, number, False, None)
                return
            except (NotebookError, OSError, ValueError) as exc:
                self._emit(self._finished, number, False, failure_text(exc))
                return
            except Exception as exc:   # noqa: BLE001 -- on a thread nobody would see it: it is shown (and
                # logged unless it is the lab's own LabError, whose words say it all)
                if type(exc).__name__ != "LabError":
                    log.exception("lab task %s failed", slot)
                self._emit(self._finished, number, False, failure_text(exc))
                return
            self._emit(self._finished, number, True, value)

        threading.Thread(target=body, name=f"lab-{slot}-{number}", daemon=True).start()
        self.changed.emit()
        return number

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass     # the widget that asked has been deleted meanwhile: nobody is waiting

    def busy(self, slot: str | None = None) -> bool:
        return any(slot is None or task.slot == slot for task in self._tasks.values())

    def _current(self, number: int) -> _Task | None:
        task = self._tasks.get(number)
        return task if task is not None and self._latest.get(task.slot) == number else None

    def _deliver(self, number: int, ok: bool, value: object) -> None:
        task = self._current(number)
        self._tasks.pop(number, None)
        if task is not None:
            if ok:
                task.on_done(value)
            elif value is not None:
                task.on_failed(str(value))
        self.changed.emit()

    def _report(self, number: int, done: int, total: int, text: str) -> None:
        task = self._current(number)
        if task is not None and task.on_progress is not None:
            task.on_progress(done, total, text)
