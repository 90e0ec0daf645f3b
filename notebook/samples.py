"""The stream shape every source produces (live bench, simulated bench, replay) and
the binary chunk layout samples are stored in."""
from __future__ import annotations

import numpy as np

# One record per sample. NaN where a channel is not measured (e.g. no reference electrode).
SAMPLE_DTYPE = np.dtype([
    ("t", "<f8"),            # s since run start
    ("current", "<f8"),      # A, positive = charge (BDF convention)
    ("voltage", "<f8"),      # V, cell (working vs counter)
    ("ref", "<f8"),          # V, working electrode vs reference electrode
    ("pressure", "<f8"),     # MPa, stack pressure read-back
    ("temperature", "<f8"),  # degC
    ("step", "<i4"),         # protocol step index
    ("cycle", "<i4"),        # cycle number, from 1
])


def empty_samples(n: int = 0) -> np.ndarray:
    out = np.zeros(n, dtype=SAMPLE_DTYPE)
    for name in ("ref", "pressure", "temperature"):
        out[name] = np.nan
    return out


def to_blob(samples: np.ndarray) -> bytes:
    return np.ascontiguousarray(samples, dtype=SAMPLE_DTYPE).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=SAMPLE_DTYPE)
