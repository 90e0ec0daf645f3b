"""Impedance of the circuit elements the simulated cells are made of (ohm cm2)."""
from __future__ import annotations

import numpy as np

CPE_Q = 1.0e-5        # F s^(n-1) / cm2: double layer at a Li | solid-electrolyte contact
CPE_N = 0.9


def parallel_r_cpe(omega: np.ndarray, r: float, q: float = CPE_Q, n: float = CPE_N) -> np.ndarray:
    """A resistance r in parallel with a constant-phase element: one depressed arc of diameter r."""
    return r / (1.0 + r * q * (1j * omega) ** n)


def warburg_open(omega: np.ndarray, r: float, tau: float) -> np.ndarray:
    """Finite-space Warburg (reflective boundary): a 45-degree line bending to a capacitive
    rise at low frequency; r sets its size, tau = L^2/D its corner."""
    x = np.sqrt(1j * omega * tau)
    return r / x / np.tanh(x)
