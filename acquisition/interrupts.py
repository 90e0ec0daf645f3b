"""The operating system's requests to stop, turned into an orderly stop of a headless
run: Ctrl-C (SIGINT), `kill` (SIGTERM) and, on Windows, Ctrl-Break or a closed console
window (the Windows C runtime reports every console event but Ctrl-C as SIGBREAK; the
process then has a few seconds before Windows ends it) end the run `aborted`, with the signal
named as the reason, at the engine's next poll, with the source switched off.

The handlers only set the engine's stop flag. Raising KeyboardInterrupt instead would
cut an instrument exchange in half, and its late reply could then be read as the answer
to the switch-off's read-back."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

# (signal name, the reason recorded with the run); absent names are skipped on each platform
_SIGNALS = (("SIGINT", "stopped by SIGINT (Ctrl-C)"),
            ("SIGTERM", "stopped by SIGTERM"),
            ("SIGBREAK", "stopped by SIGBREAK (Ctrl-Break or the console window closed)"))


def catchable() -> list[tuple[signal.Signals, str]]:
    """(signal, reason) for each stop request this platform delivers to Python."""
    return [(getattr(signal, name), reason) for name, reason in _SIGNALS if hasattr(signal, name)]


class StopRequests:
    """What arrived while the handlers were installed: the first signal, if any."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.reason = ""

    @property
    def exit_code(self) -> int | None:
        """128 + the signal's number (130 for SIGINT, 143 for SIGTERM), None if none came."""
        return None if self.signum is None else 128 + int(self.signum)


@contextmanager
def stop_on_signals(stop: Callable[[str], None]) -> Iterator[StopRequests]:
    """Within the block, a stop signal calls `stop(reason)` (e.g. RunEngine.stop)
    instead of interrupting the program; the previous handlers come back afterwards.
    Python installs handlers only in the main thread: entered from another one (a test
    calling the CLI in-process), it installs none and the signals keep their handlers."""
    requests = StopRequests()

    def handler(signum: int, frame) -> None:
        if requests.signum is None:
            requests.signum = signum
            requests.reason = dict((int(s), r) for s, r in catchable())[signum]
        stop(requests.reason)

    previous = {}
    in_main = threading.current_thread() is threading.main_thread()
    try:
        for signum, _ in catchable() if in_main else []:
            previous[signum] = signal.signal(signum, handler)
        yield requests
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)
