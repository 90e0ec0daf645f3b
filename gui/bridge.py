"""Carries run-engine notifications from the engine thread to the GUI thread as Qt
signals (queued connections), so widgets are only ever touched on the GUI thread.
One bridge per channel: every signal says which channel it comes from."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore


class EngineBridge(QtCore.QObject):
    event = QtCore.Signal(int, dict)          # channel, event (alarms, warnings)
    spectrum = QtCore.Signal(int, dict)       # channel, EIS sweep
    status = QtCore.Signal(int, str, str)     # channel, status, message

    def __init__(self, channel: int, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.channel = channel

    # RunListener interface, called on the engine thread
    def on_batch(self, samples: np.ndarray) -> None:
        pass  # samples reach the monitor through the LiveBuffer, read on the GUI's timer

    def on_event(self, event: dict) -> None:
        self.event.emit(self.channel, event)

    def on_status(self, status: str, message: str) -> None:
        self.status.emit(self.channel, status, message)

    def on_spectrum(self, spectrum: dict) -> None:
        self.spectrum.emit(self.channel, spectrum)
