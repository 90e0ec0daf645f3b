"""Which `running` runs are being written right now, by any process. A RunWriter holds
an exclusive OS lock on `<notebook>.live/run-<id>` from the moment its run row is
committed until the run is closed; the operating system drops the lock when the
process ends, however it ends (SIGKILL, power cut). So a notebook being opened marks
`interrupted` only the runs whose lock nobody holds, and a second station (or the
command line) opened on the same notebook leaves the first one's live runs alone.

Locks are `flock` on POSIX (per open file, so they hold between two handles of one
process too) and `msvcrt.locking` on Windows."""
from __future__ import annotations

import errno
import os
from pathlib import Path

# One of the two exists on each platform (the self-check reads an import inside
# `try: ... except ImportError` as optional).
try:
    import fcntl
except ImportError:
    fcntl = None
try:
    import msvcrt
except ImportError:
    msvcrt = None


# what a lock held by someone else answers (msvcrt: EACCES or EDEADLOCK = EDEADLK)
HELD = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, errno.EDEADLK}


def lock_path(notebook: Path, run_id: int) -> Path:
    return notebook.with_name(notebook.name + ".live") / f"run-{run_id}"


class RunLock:
    """The lock of one run. `acquire()` never waits: False means another holder."""

    def __init__(self, notebook: Path, run_id: int):
        self.path = lock_path(notebook, run_id)
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if msvcrt is not None:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in HELD:
                os.close(fd)
                return False
            # A file system without locks (some network shares): run unlocked, as before
            # liveness existed; an opening elsewhere would then take the run for a crashed one.
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up and remove its file (a run that is closed needs neither)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if msvcrt is not None:
            try:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
            except OSError:
                pass              # never locked: a file system without locks
            os.close(fd)
            self._unlink()
        else:
            self._unlink()        # while still held: nobody can take a lock on a file about to go
            os.close(fd)

    def _unlink(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass                  # already gone, or another process has it open (Windows): harmless


def written_elsewhere(notebook: Path, run_id: int) -> bool:
    """Whether another live writer holds run `run_id`'s lock."""
    lock = RunLock(notebook, run_id)
    if not lock.acquire():
        return True
    lock.release()
    return False
