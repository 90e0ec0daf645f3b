"""One instrument's VISA session and its health: every exchange is retried a bounded
number of times after a timeout, a lost connection or a garbled reply, by reopening
the resource (never the resource manager, which other instruments share). Each
failed attempt is reported with the instrument and the command; when the retries are
spent the caller gets an InstrumentError naming both."""
from __future__ import annotations

from typing import Callable

import pyvisa

from instruments.errors import InstrumentError

FaultReporter = Callable[[str, str, str, int], None]   # instrument, command, detail, attempt


class Garbled(ValueError):
    """A reply that does not parse as what the command returns."""


def _describe(exc: BaseException, timeout_ms: int) -> str:
    if isinstance(exc, pyvisa.errors.VisaIOError) and exc.error_code == pyvisa.constants.StatusCode.error_timeout:
        return f"timeout: no reply within {timeout_ms} ms"
    if isinstance(exc, Garbled):
        return str(exc)
    if isinstance(exc, (ConnectionError, pyvisa.errors.VisaIOError)):
        return f"connection lost: {exc}"
    return f"{type(exc).__name__}: {exc}"


class Connection:
    def __init__(self, rm: pyvisa.ResourceManager, resource_name: str, instrument: str, *, retries: int = 2,
                 timeout_ms: int = 5000, read_termination: str = "\n", write_termination: str = "\n",
                 on_fault: FaultReporter | None = None):
        self.rm = rm
        self.resource_name = resource_name
        self.instrument = instrument
        self.retries = retries
        self.timeout_ms = timeout_ms
        self._terminations = (read_termination, write_termination)
        self.on_fault = on_fault
        self.resource = None
        self.reconnects = 0
        try:
            self._open()
        except (pyvisa.Error, OSError) as exc:
            raise InstrumentError(instrument, "open", f"cannot open {resource_name}: {exc}") from exc

    def _open(self) -> None:
        read, write = self._terminations
        self.resource = self.rm.open_resource(self.resource_name, read_termination=read,
                                              write_termination=write, timeout=self.timeout_ms)

    def _reopen(self) -> None:
        if self.resource is not None:
            try:
                self.resource.close()
            except (pyvisa.Error, OSError):
                pass  # it is already broken; a fresh session is what we want
            self.resource = None
        self._open()
        self.reconnects += 1

    def _exchange(self, command: str, action: Callable[[], object]):
        last = ""
        for attempt in range(self.retries + 1):
            try:
                if self.resource is None:
                    self._reopen()
                return action()
            except (pyvisa.Error, OSError, Garbled) as exc:
                last = _describe(exc, self.timeout_ms)
                if self.on_fault is not None:
                    self.on_fault(self.instrument, command, last, attempt)
                if attempt < self.retries:
                    try:
                        self._reopen()
                    except (pyvisa.Error, OSError) as reopen_exc:
                        last = f"{last}; reopening failed: {reopen_exc}"
                        self.resource = None
        raise InstrumentError(self.instrument, command, f"{last} (gave up after {self.retries} reconnects)")

    def query(self, command: str, parse: Callable[[str], object] = str.strip):
        """Send a query and parse its reply; `parse` raises Garbled for a bad reply."""
        return self._exchange(command, lambda: parse(self.resource.query(command)))

    def write(self, command: str) -> None:
        self._exchange(command, lambda: self.resource.write(command))

    def close(self) -> None:
        if self.resource is not None:
            try:
                self.resource.close()
            except (pyvisa.Error, OSError):
                pass  # closing a dead session: nothing left to release
            self.resource = None
