"""What a window knows of the lab store, kept off the GUI thread: a station's link (its
notebook's lab URL and the SyncWorker that drains the outbox, started, restarted and stopped
here) and a desk station's probe (a thread that connects now and then and reads the store's
schema version). Both answer `text()`, `role()` and `details()` at once from state their
threads keep, so the status bar (gui/lab_status.py) polls them without ever waiting on the
network; `run_in_thread` does the same for a one-off call (the settings dialog's "Test
connection").

This module imports psycopg (through lab/) only once a lab URL is in play.

Why threads and polling rather than signals from the worker: the SyncWorker is plain Python
(lab/ imports no Qt), and a poll of a snapshot can never block or reach a deleted widget."""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from notebook import Notebook, NotebookError
from notebook import station

NOT_SET_UP = "lab: not set up"
STOP_WAIT_S = 3.0          # a close waits at most this long for the sync thread (never on the network)
PROBE_ONLINE_S = 30.0      # a desk station re-checks the store this often while it answers
PROBE_OFFLINE_S = 5.0      # and this often while it does not


def role_of(text: str) -> str:
    """The theme role (gui/theme.py) a lab status text is shown in."""
    if text.startswith("lab: offline") or text.startswith("lab: error"):
        return "error"
    if text.endswith("behind") or text.startswith("lab: connecting"):
        return "warning"
    if text in ("lab: synced", "lab: connected"):
        return "ok"
    return "muted"


def run_in_thread(call: Callable[[], object]) -> Future:
    """`call()` on a daemon thread of its own; its result or exception in the Future. A
    daemon: a call stuck on a dead network never keeps the process from ending."""
    future: Future = Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(call())
        except BaseException as exc:      # handed to whoever reads the future, not lost
            future.set_exception(exc)
    threading.Thread(target=work, name="solidstack-lab-call", daemon=True).start()
    return future


def check_connection(url: str) -> str:
    """Connect to `url` and read the store's schema version: a line saying where and what
    was found. LabError (a libpq error in words, without a password) when it fails."""
    import psycopg
    from lab.connection import LabError, connect, describe
    from lab.schema import check_version
    conn = connect(url)
    try:
        version = check_version(conn)
        role = conn.info.user
    except psycopg.Error as exc:
        raise LabError(f"the lab store at {describe(url)} answered, but reading its schema version failed: "
                       f"{exc.diag.message_primary or type(exc).__name__}") from None
    finally:
        conn.close()
    return f"connected to {describe(url)} as {role}: lab store schema version {version}"


def _clock() -> str:
    return time.strftime("%H:%M")


class StationLink:
    """A station's link to the lab: the SyncWorker for its notebook while a URL is set.
    `set_url` stores a new URL in the notebook (refusing one with a password) and restarts
    the worker on it; `stop` ends it within STOP_WAIT_S."""

    def __init__(self, notebook: Notebook):
        self.notebook = notebook
        self.worker = None
        self._url: str | None = None
        self._problem = ""       # why no worker runs although a URL is set
        try:
            self._url = station.lab_url(notebook.conn)
            self.identity = station.identity(notebook.conn)
        except sqlite3.OperationalError as exc:   # a read-only notebook older than schema v5: no station table
            self.identity = station.StationIdentity("", "")
            self._problem = f"this notebook has no station identity ({exc})"

    @property
    def url(self) -> str | None:
        return self._url

    def start(self) -> None:
        """A worker on the notebook's URL, if one is set and the notebook may be written."""
        if self.worker is not None or not self._url:
            return
        if self.notebook.read_only:
            self._problem = "the notebook is open read-only here: its station syncs it"
            return
        from lab.sync import SyncWorker
        self.worker = SyncWorker(self.notebook.path, self._url)
        self.worker.start()
        self._problem = ""

    def stop(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            _stop_worker(worker)

    def set_url(self, url: str) -> None:
        """Remember `url` in the notebook and sync to it from now on. NotebookError (the
        notebook's words: e.g. a URL with a password is refused) changes nothing."""
        text = url.strip()
        if self.notebook.read_only:
            raise NotebookError("the notebook is open read-only: its lab URL is set on its station")
        station.set_lab_url(self.notebook.conn, text)
        if text != self._url or self.worker is None:
            self.stop()
            self._url = text
            self.start()

    def sync_now(self) -> bool:
        """Wake the worker to push at once; False when there is none."""
        if self.worker is None:
            return False
        self.worker.wake()
        return True

    def text(self) -> str:
        if self.worker is None:
            return "lab: read-only here" if self._url and self.notebook.read_only else NOT_SET_UP
        return self.worker.status().text()

    def role(self) -> str:
        return role_of(self.text())

    def details(self) -> str:
        """The tooltip: where (no credentials), the last error (redacted)."""
        from lab.connection import redact
        if not self._url:
            return "No lab store set: click to set the lab URL (Lab ▸ Lab settings…)."
        lines = [f"Lab store: {redact(self._url)}"]
        if self.worker is not None:
            status = self.worker.status()
            if status.behind.records:
                lines.append(f"Not yet in the lab: {status.behind.text()} ({status.behind.records} records)")
            if status.error:
                lines.append(f"Last error: {redact(status.error)}")
            if status.last_sync is not None:
                lines.append(f"Last sync: {status.last_sync:%H:%M:%S}")
        elif self._problem:
            lines.append(self._problem)
        lines.append("Click for the lab settings.")
        return "\n".join(lines)


def _stop_worker(worker) -> None:
    """Stop a SyncWorker, waiting at most STOP_WAIT_S: it stops after the batch in hand, and
    one stuck on the network is a daemon thread that ends by itself."""
    worker.stop(timeout=STOP_WAIT_S)


class LabProbe:
    """A desk station's view of the store: a daemon thread connects every PROBE_ONLINE_S
    (every PROBE_OFFLINE_S while the server does not answer) and reads the schema version.
    text(): "lab: connecting…", "lab: connected" or "lab: offline since HH:MM"."""

    def __init__(self, url: str):
        self.url = url
        self._lock = threading.Lock()
        self._text = "lab: connecting…"
        self._error = ""
        self._found = ""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="solidstack-lab-probe", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(STOP_WAIT_S)
            self._thread = None

    def wake(self) -> None:
        """Try again now (a retry button, or the Lab scope found the server back)."""
        self._wake.set()

    def _loop(self) -> None:
        from lab.connection import LabError, redact
        while not self._stop.is_set():
            try:
                found = check_connection(self.url)
            except (LabError, OSError) as exc:
                with self._lock:
                    if not self._text.startswith("lab: offline"):
                        self._text = f"lab: offline since {_clock()}"
                    self._error = redact(str(exc))
                wait = PROBE_OFFLINE_S
            else:
                with self._lock:
                    self._text, self._error, self._found = "lab: connected", "", found
                wait = PROBE_ONLINE_S
            self._wake.wait(wait)
            self._wake.clear()

    def text(self) -> str:
        with self._lock:
            return self._text

    def role(self) -> str:
        return role_of(self.text())

    def details(self) -> str:
        from lab.connection import redact
        with self._lock:
            lines = [f"Lab store: {redact(self.url)}"]
            if self._error:
                lines.append(f"Last error: {self._error}")
            elif self._found:
                lines.append(self._found[0].upper() + self._found[1:])
        return "\n".join(lines)

