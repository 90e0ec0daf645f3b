"""Carries run-engine notifications from the engine thread to the GUI thread as Qt
signals (queued connections), so widgets are only ever touched on the GUI thread."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore


class EngineBridge(QtCore.QObject):
    event = QtCore.Signal(dict)
    spectrum = QtCore.Signal(dict)
    status = QtCore.Signal(str, str)

    # RunListener interface, called on the engine thread
    def on_batch(self, samples: np.ndarray) -> None:
        pass  # samples reach the monitor through the LiveBuffer, read on the GUI's timer

    def on_event(self, event: dict) -> None:
        self.event.emit(event)

    def on_status(self, status: str, message: str) -> None:
        self.status.emit(status, message)

    def on_spectrum(self, spectrum: dict) -> None:
        self.spectrum.emit(spectrum)
