"""Setting up a run from names: template + protocol + bench + notebook, the same way
for the GUI and the headless `run` command."""
from __future__ import annotations

from dataclasses import dataclass

from acquisition.alarms import detectors_for
from acquisition.engine import RunEngine
from acquisition.protocol import AnyProtocol, EisStep
from cell import Stack
from cell.validation import errors, validate
from instruments.bench import hardware_bench, simulated_bench
from instruments.clock import WallClock, make_clock
from instruments.discovery import load_assignment
from instruments.impedance_range import clip_notes
from notebook import Notebook


@dataclass
class Session:
    engine: RunEngine
    build_id: int

    def close(self) -> None:
        self.engine.bench.close()


def prepare_run(notebook: Notebook, stack: Stack, protocol: AnyProtocol, speed="3600", seed: int = 0,
                listeners=(), build_id: int | None = None, bench: str = "sim",
                assignment_path=None, detector_overrides: dict | None = None, on_trip: str = "stop",
                impedance: str = "e4990a") -> Session:
    """Validate and save the build (unless given), open the bench, make an engine.
    bench "sim": the simulated bench at `speed`; "hw": the instruments of the saved
    role assignment, in real time. impedance: the analyser the simulated bench emulates
    (instruments.bench.IMPEDANCE_ANALYSERS)."""
    problems = errors(validate(stack))
    if problems:
        raise ValueError("the build is not valid: " + "; ".join(map(str, problems)))
    steps = protocol.expand(stack)  # a protocol that cannot apply to this cell says so before anything starts
    detectors = detectors_for(stack, detector_overrides)
    if bench == "sim":
        clock = make_clock(speed)
        instruments = simulated_bench(stack, clock, seed=seed, impedance=impedance)
    elif bench == "hw":
        clock = WallClock()
        try:
            instruments = hardware_bench(load_assignment(assignment_path), stack)
        except FileNotFoundError as exc:
            raise ValueError(str(exc)) from None
    else:
        raise ValueError(f"bench must be 'sim' or 'hw', got {bench!r}")
    try:
        for step in steps:
            if isinstance(step, EisStep):
                if instruments.eis is None:
                    raise ValueError("this protocol sweeps impedance: assign an impedance analyser (role eis)")
        # A span beyond the analyser's is clipped when the step runs (with a note); an
        # amplitude or bias it cannot apply, or no overlap at all, is refused here, before anything starts.
        if instruments.eis is not None:
            clip_notes(instruments.eis.CAPABILITY, steps)
    except ValueError:
        instruments.close()
        raise
    if build_id is None:
        build_id = notebook.save_build(stack)
    engine = RunEngine(notebook.path, build_id, stack, protocol, instruments, clock, detectors=detectors,
                       listeners=listeners, seed=seed, on_trip=on_trip)
    return Session(engine, build_id)
