"""The live side of a run, in memory that stops growing however long the run: the
newest samples (`keep` of them, at least), a min/max pyramid of the traces over all of
them (acquisition/lod.py), per-cycle charge and energy, which optional channels the run
measures, and its EIS spectra. Every sample is in the notebook; this is what the monitor
and the channel overview draw from without reading it back.

Appends come from the acquisition thread and do the indexing there, so a monitor that
is not looking at a channel never falls behind it. Readers take a `snapshot()` (views
of arrays never written again) and need no lock after that."""
from __future__ import annotations

import threading

import numpy as np

from acquisition.cycle_tally import CycleFigures, CycleTally
from acquisition.lod import BASE, KEEP_BLOCKS, LodView, MinMaxPyramid
from notebook.samples import SAMPLE_DTYPE

TRACE_FIELDS = ("voltage", "current", "ref", "pressure", "temperature")
OPTIONAL = ("ref", "pressure", "temperature")     # plotted once the run measures them
KEEP = 1 << 14    # raw samples kept at least (0.9 MB): a view of up to ~16 per pixel draws them


class LiveBuffer:
    def __init__(self, keep: int = KEEP, keep_blocks: int = KEEP_BLOCKS):
        if keep < BASE:
            raise ValueError(f"keep at least {BASE} raw samples, got {keep}")
        self.keep = keep
        self._raw = np.zeros(min(4096, 2 * keep), dtype=SAMPLE_DTYPE)
        self._n = 0             # samples in _raw
        self._first = 0         # run index of _raw[0]
        self.total = 0          # samples appended so far
        self._pyramid = MinMaxPyramid(TRACE_FIELDS, keep_blocks=keep_blocks)
        self._tally = CycleTally()
        self.measured = {"voltage", "current"}
        self._lock = threading.Lock()
        self.spectra: list[dict] = []   # EIS sweeps, in the order measured

    def append(self, samples: np.ndarray) -> None:
        with self._lock:
            self._pyramid.extend(samples)
            self._tally.extend(samples)
            for name in OPTIONAL:
                if name not in self.measured and np.isfinite(samples[name]).any():
                    self.measured.add(name)
            self._keep_raw(samples)
            self.total += samples.size

    def _keep_raw(self, samples: np.ndarray) -> None:
        """Add to the newest raw samples. Whenever old ones go, the rest moves to a new
        array: views handed out earlier keep the old one alive and unchanged."""
        m = samples.size
        if m >= self.keep:
            self._raw = np.zeros(2 * self.keep, dtype=SAMPLE_DTYPE)
            self._raw[: self.keep] = samples[-self.keep :]
            self._first, self._n = self.total + m - self.keep, self.keep
            return
        need = self._n + m
        if need > self._raw.size:
            retain = self._n if need <= 2 * self.keep else self.keep - m
            moved = np.zeros(min(max(2 * self._raw.size, need), 2 * self.keep), dtype=SAMPLE_DTYPE)
            moved[:retain] = self._raw[self._n - retain : self._n]
            self._raw, self._first, self._n = moved, self._first + self._n - retain, retain
        self._raw[self._n : self._n + m] = samples
        self._n += m

    @property
    def nbytes(self) -> int:
        """Memory held by the samples and the pyramid."""
        with self._lock:
            return self._raw.nbytes + self._pyramid.nbytes

    def snapshot(self) -> LodView:
        with self._lock:
            return self._pyramid.view(self._raw[: self._n], self._first, self.total)

    def recent(self) -> tuple[int, np.ndarray]:
        """(run index of the first, the newest samples kept in memory)."""
        with self._lock:
            return self._first, self._raw[: self._n]

    def last(self) -> np.void | None:
        with self._lock:
            return self._raw[self._n - 1] if self._n else None

    def cycle_figures(self, cycle: int) -> tuple[CycleFigures | None, CycleFigures | None]:
        """(the last complete cycle before `cycle`, `cycle` so far)."""
        with self._lock:
            return self._tally.latest_complete(cycle), self._tally.figures(cycle)

    def __len__(self) -> int:
        return self.total

    # the RunListener interface: only samples and spectra matter here
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
