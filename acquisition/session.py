"""Setting up a run from names: template + protocol + bench + notebook, the same way
for the GUI and the headless `run` command."""
from __future__ import annotations

from dataclasses import dataclass

from acquisition.engine import RunEngine
from acquisition.protocol import AnyProtocol, EisStep
from cell import Stack
from cell.validation import errors, validate
from instruments.bench import simulated_bench
from instruments.clock import make_clock
from notebook import Notebook


@dataclass
class Session:
    engine: RunEngine
    build_id: int

    def close(self) -> None:
        self.engine.bench.close()


def prepare_run(notebook: Notebook, stack: Stack, protocol: AnyProtocol, speed="3600", seed: int = 0,
                listeners=(), build_id: int | None = None) -> Session:
    """Validate and save the build (unless given), open the simulated bench, make an engine."""
    problems = errors(validate(stack))
    if problems:
        raise ValueError("the build is not valid: " + "; ".join(map(str, problems)))
    steps = protocol.steps(stack)  # a protocol that cannot apply to this cell says so before anything starts
    clock = make_clock(speed)
    if build_id is None:
        build_id = notebook.save_build(stack)
    bench = simulated_bench(stack, clock, seed=seed)
    try:
        for step in steps:
            if isinstance(step, EisStep):
                bench.eis.check_sweep(step.f_start_hz, step.f_stop_hz, step.points, step.amplitude_v)
    except ValueError:
        bench.close()
        raise
    engine = RunEngine(notebook.path, build_id, stack, protocol, bench, clock, listeners=listeners, seed=seed)
    return Session(engine, build_id)
