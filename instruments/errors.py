"""Errors a driver raises, always naming the instrument and the command."""
from __future__ import annotations


class InstrumentError(RuntimeError):
    """A fault talking to an instrument: timeout, lost connection, garbled reply or an
    error the instrument reported."""

    def __init__(self, instrument: str, command: str, detail: str):
        self.instrument = instrument
        self.command = command
        self.detail = detail
        super().__init__(f"{instrument}: {detail} (command {command!r})")


class LimitError(ValueError):
    """A set-point outside what the instrument or the fixture allows."""
