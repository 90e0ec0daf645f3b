"""Synthetic impedance-over-cycling runs for the EIS benchmark and the screenshots of
the impedance pages, written through the notebook's public writer (RunWriter) as a
run would write them: a full cell (NMC | LPSCl | Ag-C | Li, or without Ag-C) with a
spectrum every 25 cycles of 500 whose interfacial resistances grow with the square
root of the cycle number.

Per cm2: electrolyte 3 ohm cm2; Li contact arc 0.58 (Ag-C) or 6.59 (bare) ohm cm2
(DOMAIN.md, Fig 2c; CPE 1e-5, n 0.9), growing by 10 % x sqrt(cycle / 25); cathode
charge transfer 15 ohm cm2 (CPE 1e-3, n 0.85), growing by 5 % x sqrt(cycle / 25);
1 MHz to 0.1 Hz, 10 points per decade; 0.3 % noise of |Z| per part, seeded."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import cell  # noqa: E402
from notebook import Notebook  # noqa: E402
from notebook.writer import RunWriter  # noqa: E402

FREQUENCIES = np.logspace(6, -1, 71)
HOURS_PER_CYCLE = 6.0            # C/3 charge and discharge with rests
R_ANODE = {"full-agc": 0.58, "full-bare": 6.59}


def resistances(template: str, cycle: int) -> dict[str, float]:
    """The truth, ohm cm2: R0 electrolyte, R1 Li contact, R2 cathode charge transfer."""
    grow = math.sqrt(max(cycle, 0) / 25.0)
    return {"R0": 3.0, "R1": R_ANODE[template] * (1 + 0.10 * grow), "R2": 15.0 * (1 + 0.05 * grow)}


def spectrum_z(template: str, cycle: int, area_cm2: float, seed: int, noise: float = 0.003) -> np.ndarray:
    r = resistances(template, cycle)
    jw = 1j * 2 * np.pi * FREQUENCIES
    z = r["R0"] + r["R1"] / (1 + r["R1"] * 1e-5 * jw ** 0.9) + r["R2"] / (1 + r["R2"] * 1e-3 * jw ** 0.85)
    rng = np.random.default_rng(seed)
    z = z + np.abs(z) * noise * (rng.normal(size=z.size) + 1j * rng.normal(size=z.size))
    return z / area_cm2


def write_eis_run(path: Path, template: str = "full-agc", cycles: list[int] | None = None, seed: int = 0) -> int:
    """A completed run with one spectrum per cycle in `cycles` (default 25, 50, ..., 500:
    the 20 spectra of cycling-c3-500-eis); returns its run id."""
    cycles = list(range(25, 501, 25)) if cycles is None else cycles
    stack = cell.from_template(template)
    with Notebook(path) as nb:
        build_id = nb.save_build(stack)
    writer = RunWriter(path)
    run_id = writer.start_run(build_id, "cycling-c3-500-eis (synthetic)", "{}",
                              {"synthetic": "benchmarks/synthetic_eis.py"})
    for n, cycle in enumerate(cycles):
        writer.spectrum({"spectrum": n, "t_s": cycle * HOURS_PER_CYCLE * 3600.0, "step": 0, "cycle": cycle,
                         "amplitude_v": 0.01, "instrument": "synthetic", "freq_hz": FREQUENCIES,
                         "z": spectrum_z(template, cycle, stack.area_cm2, seed * 1000 + n)})
    writer.finish("completed")
    return run_id
