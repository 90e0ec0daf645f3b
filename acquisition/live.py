"""Live buffers: a growing in-memory copy of a run's samples that the monitor reads
on its own timer. Appends come from the engine thread; views are safe to read from
any thread because recorded samples are never modified in place."""
from __future__ import annotations

import threading

import numpy as np

from notebook.samples import SAMPLE_DTYPE


class LiveBuffer:
    def __init__(self, capacity: int = 1 << 16):
        self._data = np.zeros(capacity, dtype=SAMPLE_DTYPE)
        self._n = 0
        self._lock = threading.Lock()
        self.spectra: list[dict] = []   # EIS sweeps, in the order measured

    def append(self, samples: np.ndarray) -> None:
        with self._lock:
            need = self._n + samples.size
            if need > self._data.size:
                # A new array: views handed out earlier keep the old one alive and valid.
                grown = np.zeros(max(need, 2 * self._data.size), dtype=SAMPLE_DTYPE)
                grown[: self._n] = self._data[: self._n]
                self._data = grown
            self._data[self._n : need] = samples
            self._n = need

    def view(self) -> np.ndarray:
        with self._lock:
            return self._data[: self._n]

    def __len__(self) -> int:
        return self._n

    # the RunListener interface: only samples matter here
    def on_batch(self, samples: np.ndarray) -> None:
        self.append(samples)

    def on_event(self, event: dict) -> None:
        pass

    def on_status(self, status: str, message: str) -> None:
        pass

    def on_spectrum(self, spectrum: dict) -> None:
        """A sweep arrives in parts: each part replaces the last one of the same spectrum."""
        with self._lock:
            if self.spectra and self.spectra[-1]["spectrum"] == spectrum["spectrum"]:
                self.spectra[-1] = spectrum
            else:
                self.spectra.append(spectrum)
