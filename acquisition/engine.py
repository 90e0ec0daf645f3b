"""The run engine: drives a protocol on a bench off the GUI thread, evaluates the
short detector on every batch, hands every sample to the notebook writer and the
listeners (live buffers, the GUI bridge), and always ends with the source safe.

Order on a trip (DESIGN.md rule 3): the source is made safe first, in the same batch,
then the samples and the event are written, then listeners hear of it.

Safety bounds (docs/ARCHITECTURE.md, "Time to safe"): while current flows the engine
reads the instrument at least every max(20 sample intervals, 1 s) of run time, whatever
the clock speed, so a trip is acted on within that span of the sample that confirmed it.
A run is `completed` only when its protocol reached its end; anything else that ends it
(a stop, a signal, an error, even a KeyboardInterrupt) leaves it `aborted` or `failed`
with the source switched off, retried, and an alarm event if it would not go off.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import math
import platform
import threading
import time
from dataclasses import asdict
from typing import Protocol

import numpy as np

import resources
from acquisition.protocol import (AnyProtocol, CurrentStep, EisStep, PressureStep, TemperatureStep, is_stop_step,
                                  point_time_s)
from acquisition.alarms import describe, detectors_for
from analysis.segments import sample_durations
from cell import Stack
from instruments.bench import Bench
from instruments.errors import InstrumentError, LimitError
from instruments.impedance_range import clip_notes, plan_step, step_drive
from notebook.samples import empty_samples
from notebook.writer import RunWriter

log = logging.getLogger(__name__)

SHORT_KINDS = ("hard_short", "soft_short", "sudden_drop", "ce_drop")
SWEEP_PART = 8     # EIS points per part of a sweep handed on as the spectrum grows
# While current flows, read the instrument at least every this many sample intervals
# (and at least every second of run time): what bounds the charge a short can take
# between the sample that confirms it and the source going off, at any clock speed.
SAFETY_POLL_SAMPLES = 20
SAFETY_POLL_FLOOR_S = 1.0
SAFE_OFF_ATTEMPTS = 3
SAFE_OFF_RETRY_WAIT_S = 0.2   # wall time between attempts: a dropped link gets a moment to come back
OPERATOR_STOP = "stopped by the operator"


class _StopRequested(Exception):
    """A stop asked for while the engine waited on something other than a current step."""


class RunListener(Protocol):
    def on_batch(self, samples: np.ndarray) -> None: ...
    def on_event(self, event: dict) -> None: ...
    def on_status(self, status: str, message: str) -> None: ...
    def on_spectrum(self, spectrum: dict) -> None: ...


class RunEngine:
    def __init__(self, notebook_path, build_id: int, stack: Stack, protocol: AnyProtocol, bench: Bench, clock,
                 detectors: list | None = None, listeners=(), seed: int | None = None, on_trip: str = "stop"):
        self.notebook_path = notebook_path
        self.build_id = build_id
        self.stack = stack
        self.protocol = protocol
        self.bench = bench
        self.clock = clock
        self.detectors = detectors_for(stack) if detectors is None else detectors
        if on_trip not in ("stop", "pause"):
            raise ValueError(f"on_trip must be 'stop' or 'pause', got {on_trip!r}")
        self.on_trip = on_trip   # what an alarm does after making the cell safe
        self.listeners = list(listeners)
        self.seed = seed
        self.run_id: int | None = None
        self.status = "pending"
        self.message = ""
        self.events: list[dict] = []
        self.n_samples = 0
        self.t_now = 0.0
        self._last_t = 0.0
        self._t_zero = self._t_offset = 0.0
        self._spectra = 0
        self._clipped: set[tuple] = set()               # sweeps whose clipping has been noted in the run
        self._last_v: float | None = None               # the latest reading: the rest voltage before a sweep
        self._pressure_setpoint: float | None = None   # what the fixture should hold, once reached
        self._cycle_charge: dict[int, dict] = {}      # cycle -> mAh charged and discharged
        self._last_step_charge = 0.0                  # mAh of the step that just ended
        self._stop = threading.Event()
        self._stop_reason = OPERATOR_STOP
        self._pause = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = {"step": 0, "n_steps": 0, "cycle": 0, "t_s": 0.0, "remaining_s": 0.0}
        # Poll ~20 times a second of wall time; flat out, every 600 simulated seconds.
        self.poll_s = 0.05 * clock.speed if math.isfinite(clock.speed) else 600.0

    # -- control, from any thread --
    def start(self) -> None:
        # Running from now on, not when the thread gets going: a pause or stop asked for
        # in between is honoured at the first poll, and the GUI's buttons already agree.
        self.status = "running"
        self._thread = threading.Thread(target=self.run, name="run-engine", daemon=True)
        self._thread.start()

    def stop(self, reason: str = OPERATOR_STOP) -> None:
        """Ask the run to end; it stops at the next poll with the source safe, `aborted`
        with `reason` as its message. Only sets flags: safe to call from a signal handler.
        The first reason given is the one kept."""
        if not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()

    def pause(self) -> None:
        """Hold the run at the next poll: the source goes safe (off, high impedance) and
        the step waits; resume() carries on with what was left of it."""
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    def progress(self) -> dict:
        """Where the run is: step, n_steps, cycle, t_s, remaining_s (to every step's limit)."""
        return dict(self._progress)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the run itself --
    def provenance(self) -> dict:
        return {
            "app": resources.APP_NAME,
            "app_version": resources.APP_VERSION,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "bench": self.bench.kind,
            "instruments": {role: {"idn": idn, "driver": type(getattr(self.bench, role)).__name__}
                            for role, idn in self.bench.identities.items()},
            "stack": self.stack.to_dict(),
            "protocol": asdict(self.protocol),
            "detectors": describe(self.detectors),
            "clock_speed": "max" if not math.isfinite(self.clock.speed) else self.clock.speed,
            "seed": self.seed,
            **({"impedance": self._impedance_provenance()} if self.bench.eis is not None else {}),
        }

    def _impedance_provenance(self) -> dict:
        """What the analyser in the impedance role can do, and how the protocol's sweeps
        were clipped to it (each distinct sweep once)."""
        capability = self.bench.eis.CAPABILITY
        try:
            notes = clip_notes(capability, self.protocol.iter_steps(self.stack))
        except LimitError as exc:      # prepare_run refuses these; a hand-made engine notes it
            notes = [str(exc)]
        return {"analyser": self.bench.eis.name, "capability": capability.to_dict(), "clipped": notes}

    def run(self) -> str:
        writer = RunWriter(self.notebook_path)
        self.run_id = writer.start_run(self.build_id, self.protocol.name, self.protocol.to_json(), self.provenance())
        for connection in self.bench.connections():
            connection.on_fault = functools.partial(self._report_fault, writer, connection.retries)
        self._set_status("running", "")
        # Pessimistic: only _drive reaching the protocol's end makes a run `completed`.
        status, message = "failed", "the run ended before its protocol did"
        smu = self.bench.smu
        interrupted: BaseException | None = None
        try:
            status, message = self._drive(smu, writer)
        except InstrumentError as exc:
            status, message = "failed", str(exc)
            self._emit_event(writer, "instrument_fault", "alarm", message,
                             {"instrument": exc.instrument, "command": exc.command, "detail": exc.detail})
        except Exception as exc:  # any failure still ends with the source safe and the run closed
            log.exception("run %s failed", self.run_id)
            status, message = "failed", f"{type(exc).__name__}: {exc}"
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: close the run safely, then let it go on
            interrupted = exc
            status, message = "aborted", f"interrupted ({type(exc).__name__})"
        finally:
            problem, late = self._make_safe(smu, writer)
            if problem is not None:
                message = f"{message}; could not switch the source off: {problem}"
            writer.finish(status, message)
            if writer.error is not None and status != "failed":
                status, message = "failed", f"notebook write failed: {writer.error}"
        self._set_status(status, message)
        if interrupted is not None or late is not None:
            raise interrupted or late
        return status

    def _make_safe(self, smu, writer: RunWriter) -> tuple[str | None, KeyboardInterrupt | None]:
        """Switch the source off and read it back, retrying. Returns (None once it reads
        off, else what went wrong, after an alarm event saying to switch it off by hand;
        a KeyboardInterrupt that arrived meanwhile, for the caller to raise once the run
        is closed: it does not cut the retries short)."""
        last = ""
        interrupted: BaseException | None = None
        for attempt in range(1, SAFE_OFF_ATTEMPTS + 1):
            try:
                # A retry starts on a fresh session: an exchange cut off half-way (by an
                # interrupt, a timeout) must not leave its reply to be read as this one's.
                smu.safe_off(fresh_session=attempt > 1)
                break
            except (Exception, KeyboardInterrupt) as exc:  # each attempt's failure is reported below
                if isinstance(exc, KeyboardInterrupt):
                    interrupted = exc
                last = f"{type(exc).__name__}: {exc}" if not isinstance(exc, InstrumentError) else str(exc)
                log.error("could not make %s safe (attempt %d of %d): %s", smu.name, attempt, SAFE_OFF_ATTEMPTS, last)
                self._try_event(writer, "safe_off_retry", "warning",
                                f"{smu.name}: switching the source off failed (attempt {attempt} of "
                                f"{SAFE_OFF_ATTEMPTS}): {last}", {"attempt": attempt, "detail": last})
                if attempt < SAFE_OFF_ATTEMPTS:
                    time.sleep(SAFE_OFF_RETRY_WAIT_S)
        else:
            self._try_event(writer, "safe_off_failed", "alarm",
                            f"{smu.name}: THE SOURCE MAY STILL BE ON: it did not switch off after {SAFE_OFF_ATTEMPTS} "
                            f"attempts ({last}); switch the output off at the instrument",
                            {"attempts": SAFE_OFF_ATTEMPTS, "detail": last})
            return last, interrupted
        return None, interrupted

    def _try_event(self, writer: RunWriter, kind: str, severity: str, message: str, evidence: dict) -> None:
        """An event from the closing path: a notebook or listener failing here must not
        stop the source being switched off, so that failure is logged instead."""
        try:
            self._emit_event(writer, kind, severity, message, evidence)
        except Exception:
            log.exception("could not record %s event: %s", kind, message)

    def _drive(self, smu, writer: RunWriter) -> tuple[str, str]:
        try:
            return self._steps(smu, writer)
        except _StopRequested:
            return "aborted", self._stop_reason

    def _steps(self, smu, writer: RunWriter) -> tuple[str, str]:
        p = self.protocol
        smu.reset()
        smu.set_voltage_limit(p.voltage_limit_v)
        smu.set_current(0.0)
        if self.bench.switch is not None:
            self.bench.switch.reset()         # opens every channel
            self.bench.switch.route("smu")    # the cell on the source before it is ever enabled
        smu.output(True)
        if self.bench.ref is not None:
            self.bench.ref.configure(0.1)   # mV-level anode potentials: the 100 mV range
        if self.bench.pressure is not None:
            self._reach_pressure(self.stack.stack_pressure_mpa)
        smu.clear_buffer()  # t = 0 at the first step, not at set-up
        self._last_t = 0.0
        # The SMU times readings from its last buffer clear; a run longer than its buffer
        # clears it again between steps, and this is where that clear fell in run time.
        self._t_zero, self._t_offset = self.clock.now(), 0.0
        # Steps one at a time: a run never needs its whole unrolled program in memory.
        n_steps = p.step_count()
        left_s = p.nominal_duration_s(self.stack)      # this step and all after it, to their limits
        for step_index, step in enumerate(p.iter_steps(self.stack)):
            self._progress.update(step=step_index, n_steps=n_steps, cycle=step.cycle, remaining_s=left_s)
            left_s -= getattr(step, "duration_s", 0.0)
            if self._stop.is_set():
                return "aborted", self._stop_reason
            if isinstance(step, EisStep):
                self._eis_step(smu, writer, step_index, step)
                continue
            if isinstance(step, TemperatureStep):
                self._reach_temperature(step)
                continue
            if isinstance(step, PressureStep):
                if self.bench.pressure is None:
                    raise RuntimeError("the protocol changes the stack pressure but no pressure controller is assigned")
                self._reach_pressure(step.mpa, ramp_mpa_s=step.ramp_mpa_s)
                continue
            outcome = self._current_step(smu, writer, step_index, step)
            if outcome is not None:
                return outcome
            outcome = self._judge_cycle(smu, writer, step, self._last_step_charge)
            if outcome is not None:
                return outcome
        return "completed", ""

    def _current_step(self, smu, writer: RunWriter, step_index: int, step: CurrentStep) -> tuple[str, str] | None:
        """Run one current step to its end; a (status, message) ends the run early. A
        pause (asked for, or after an alarm with on_trip="pause") makes the source safe,
        waits, and on resume runs what was left of the step."""
        poll = self.poll_s
        if is_stop_step(step):
            # A cut-off ends the step early; poll often enough not to leave long idle gaps.
            poll = min(poll, 20 * step.sample_interval_s)
        if step.current_a != 0:
            # The safety bound: a trip is acted on within this much run time of the sample
            # that confirmed it, however fast the clock runs (600 s flat out otherwise).
            poll = min(poll, max(SAFETY_POLL_SAMPLES * step.sample_interval_s, SAFETY_POLL_FLOOR_S))
        acc = {"n": 0, "charge": 0.0, "v_sum": 0.0, "v_end": None, "t_start": self._last_t, "t_end": self._last_t}
        after = self._progress["remaining_s"] - step.duration_s
        remaining = step.duration_s
        while remaining > 0:
            if not smu.fits(remaining, step.sample_interval_s):
                smu.clear_buffer()      # every reading in it has been collected and stored
                self._t_offset = self.clock.now() - self._t_zero
            smu.set_current(step.current_a)
            smu.output(True)  # a cut-off step's trigger model switched it off at its end
            smu.start_sampling(remaining, step.sample_interval_s, step.v_min, step.v_max)
            acc["restarted"] = True
            step_end = self.clock.now() + remaining
            while True:
                sampling = smu.is_sampling()
                trip = self._collect(smu, writer, step_index, step, acc)
                left = max(step_end - self.clock.now(), step.sample_interval_s if sampling else 0.0)
                self._progress["remaining_s"] = after + left
                if trip is not None:
                    self._emit_event(writer, trip.kind, "alarm", trip.message, trip.evidence,
                                     t_s=trip.t_s, sample_index=trip.index)
                    if self.on_trip == "stop" or not self._hold("paused after an alarm: resume or stop"):
                        writer.step(self._step_summary(step_index, step, acc))
                        # a short closes the run as shorted; a limit breach or pressure drift as aborted
                        return ("shorted" if trip.kind in SHORT_KINDS else "aborted"), trip.message
                    # The operator chose to go on: judge from here with a fresh detector.
                    self.detectors = [type(d)(d.settings) if d.kind == trip.kind else d for d in self.detectors]
                    break
                if writer.error is not None:
                    raise RuntimeError(f"notebook write failed: {writer.error}")
                if not sampling:
                    left = 0.0
                    break
                if self._stop.is_set():
                    smu.abort()
                    writer.step(self._step_summary(step_index, step, acc))
                    return "aborted", self._stop_reason
                if self._pause.is_set():
                    smu.abort()
                    self._collect(smu, writer, step_index, step, acc)
                    smu.safe_off()
                    if not self._hold("paused by the operator"):
                        writer.step(self._step_summary(step_index, step, acc))
                        return "aborted", f"{self._stop_reason} while paused"
                    break
                self.clock.sleep(min(poll, max(step_end - self.clock.now(), step.sample_interval_s)))
            remaining = left
        writer.step(self._step_summary(step_index, step, acc))
        self._last_step_charge = acc["charge"]
        return None

    def _judge_cycle(self, smu, writer: RunWriter, step: CurrentStep, charge_mah: float) -> tuple[str, str] | None:
        """Tally each finished step's charge by cycle; after a discharge, the cycle's
        Coulombic efficiency goes to the detectors that judge whole cycles."""
        q = self._cycle_charge.setdefault(step.cycle, {"charge": 0.0, "discharge": 0.0})
        if step.current_a > 0:
            q["charge"] += charge_mah
            q["current_a"] = step.current_a
        elif step.current_a < 0:
            q["discharge"] += charge_mah
        judges = [d for d in self.detectors if hasattr(d, "update_cycle")]
        if not judges or step.current_a >= 0:
            return None
        previous = self._cycle_charge.get(step.cycle - 1, {})
        rate_changed = abs(previous.get("current_a", 0.0) - q.get("current_a", 0.0)) > 1e-3 * abs(step.current_a)
        for detector in judges:
            trip = detector.update_cycle(step.cycle, q["charge"], q["discharge"], self._last_t, max(self.n_samples - 1, 0),
                                         rate_changed)
            if trip is not None:
                smu.safe_off()
                self._emit_event(writer, trip.kind, "alarm", trip.message, trip.evidence,
                                 t_s=trip.t_s, sample_index=trip.index)
                if self.on_trip == "stop" or not self._hold("paused after an alarm: resume or stop"):
                    return "shorted", trip.message
        return None

    def _collect(self, smu, writer: RunWriter, step_index: int, step: CurrentStep, acc: dict):
        """Read what the instruments took since the last poll, run the detectors, store
        and hand on the batch. Returns a detector's trip, after making the cell safe."""
        t, i, v = smu.read_new()
        if not t.size:
            return None
        t = t + self._t_offset
        batch = empty_samples(t.size)
        batch["t"], batch["current"], batch["voltage"] = t, i, v
        batch["step"], batch["cycle"] = step_index, step.cycle
        if self.bench.ref is not None:
            batch["ref"] = self.bench.ref.read(t.size)   # one reading per SMU trigger
        # Pressure and temperature change slowly: one reading per batch serves its samples.
        if self.bench.pressure is not None:
            batch["pressure"] = self.bench.pressure.read()[0]
        if self.bench.temperature is not None:
            batch["temperature"] = self.bench.temperature.read_temperature()
        dt = sample_durations(np.concatenate(([self._last_t], t)))[1:]
        if acc.pop("restarted", False):
            # The first reading after sampling (re)starts stands for one interval (the SMU
            # stamps a reading at its interval's end), not for the gap before it: a sweep
            # between cycles, a pause, a late poll after a cut-off took no charge.
            dt[0] = min(dt[0], step.sample_interval_s)
        trip = next((trip for d in self.detectors if hasattr(d, "update") and (trip := d.update(t, i, v))), None)
        if trip is None and self._pressure_setpoint is not None and not np.isnan(batch["pressure"][0]):
            index = self.n_samples + t.size - 1
            trip = next((trip for d in self.detectors if hasattr(d, "update_pressure") and (
                trip := d.update_pressure(float(t[-1]), index, float(batch["pressure"][0]), self._pressure_setpoint))), None)
        if trip is not None:
            smu.safe_off()  # first: the cell is safe before anything is logged or shown
        self._take(writer, batch, acc, dt)
        self._last_t = float(t[-1])
        self._progress["t_s"] = self._last_t
        return trip

    def _hold(self, why: str) -> bool:
        """Wait, source safe, until resumed (True) or stopped (False)."""
        self._pause.set()
        self._set_status("paused", why)
        while self._pause.is_set():
            if self._stop.wait(0.05):
                return False
        self._set_status("running", "")
        return True

    def _wait(self, seconds: float) -> None:
        """Let run time pass, no longer than a poll at a time, so a stop asked for while
        the engine waits on a fixture is not held up by the wait (30 s at real speed)."""
        left = seconds
        while left > 0:
            if self._stop.is_set():
                raise _StopRequested
            span = min(left, self.poll_s)
            self.clock.sleep(span)
            left -= span
        if self._stop.is_set():
            raise _StopRequested

    def _reach_pressure(self, mpa: float, tolerance_mpa: float = 0.05, ramp_mpa_s: float = 0.1,
                        timeout_s: float = 600.0) -> None:
        """Ramp the fixture to the build's stack pressure and wait until it holds it."""
        controller = self.bench.pressure
        self._pressure_setpoint = None   # no drift alarms while it ramps
        controller.set_ramp(ramp_mpa_s)
        controller.set_pressure(mpa)
        waited = 0.0
        while abs(controller.read()[0] - mpa) > tolerance_mpa:
            if waited >= timeout_s:
                raise InstrumentError(controller.name, f"set-point {mpa:g} MPa",
                                      f"pressure {controller.read()[0]:.3f} MPa did not reach {mpa:g} MPa within {timeout_s:g} s")
            self._wait(5.0)
            waited += 5.0
        self._pressure_setpoint = mpa

    def _reach_temperature(self, step: TemperatureStep) -> None:
        """Set the chamber and wait, the cell at rest, until it is within tolerance."""
        chamber = self.bench.chamber
        if chamber is None:
            raise RuntimeError("the protocol sets a temperature but no temperature chamber is assigned (role chamber)")
        chamber.set_temperature(step.celsius)
        read = self.bench.temperature.read_temperature if self.bench.temperature is not None else chamber.temperature
        waited = 0.0
        while abs(read() - step.celsius) > step.tolerance_c:
            if waited >= step.timeout_s:
                raise InstrumentError(chamber.name, f"set-point {step.celsius:g} C",
                                      f"the cell reached {read():.1f} C, not {step.celsius:g} C, within {step.timeout_s:g} s")
            self._wait(30.0)
            waited += 30.0

    def _eis_step(self, smu, writer: RunWriter, step_index: int, step: EisStep) -> None:
        """Break before make: the SMU's output goes off into high impedance (read back)
        before the switch connects the analyser, and the switch connects the SMU again
        (read back) after the sweep, or a stop during it, before any later step enables
        the source. A step biased at rest holds the cell at the voltage of the last
        reading before it (the end of the rest that precedes the sweep)."""
        smu.safe_off()
        if step.bias_at_rest:
            if self._last_v is None:
                raise RuntimeError(f"step {step_index} ({step.label}) biases the sweep at the rest voltage, "
                                   "but no voltage has been read yet: put a rest step before it")
            step = dataclasses.replace(step, dc_bias_v=round(self._last_v, 6))
        switch = self.bench.switch
        if switch is None:
            self._sweep(smu, writer, step_index, step)
            return
        switch.route("eis")
        try:
            self._sweep(smu, writer, step_index, step)
        finally:
            switch.route("smu")

    def _sweep(self, smu, writer: RunWriter, step_index: int, step: EisStep) -> None:
        """An impedance sweep at rest: the SMU goes to high impedance so it does not load
        the cell, and the analyser sweeps in parts of a few points, so the monitor draws
        the spectrum as it grows; the whole spectrum is stored at the end. A span beyond
        the analyser's is clipped to it (instruments.impedance_range), noted once per
        distinct sweep; each point keeps the flag the analyser gave it (overload, out of range)."""
        eis = self.bench.eis
        try:
            plan = plan_step(eis.CAPABILITY, step)
        except LimitError as exc:
            # e.g. a bias at the rest voltage beyond the analyser's: not sent, the run goes on
            self._emit_event(writer, "eis_skipped", "warning", f"{eis.name}: sweep of step {step_index} not made: {exc}",
                             {"step": step_index, "detail": str(exc)})
            return
        key = (step.f_start_hz, step.f_stop_hz, step.points)
        if plan.clipped and key not in self._clipped:
            self._clipped.add(key)
            self._emit_event(writer, "eis_range_clipped", "warning", plan.note,
                             {"step": step_index, "asked": list(key),
                              "sent": [plan.f_start_hz, plan.f_stop_hz, plan.points],
                              "capability": eis.CAPABILITY.to_dict()})
        amplitude, bias, mode = step_drive(step)
        freqs = np.geomspace(plan.f_start_hz, plan.f_stop_hz, plan.points)
        bounds = list(range(0, plan.points, SWEEP_PART)) + [plan.points]
        if bounds[-1] - bounds[-2] < 2:      # every part needs two points: fold a lone one in
            bounds.pop(-2)
        spectrum = {"run_id": self.run_id, "spectrum": self._spectra, "t_s": self._last_t, "step": step_index,
                    "cycle": step.cycle, "amplitude_v": step.amplitude_v, "instrument": eis.name,
                    "freq_hz": np.zeros(0), "z": np.zeros(0, dtype=complex), "flags": [], "complete": False}
        for lo, hi in zip(bounds, bounds[1:]):
            if self._stop.is_set():
                raise _StopRequested    # the source is already off; the part-sweep is dropped
            f, z, flags = eis.measure(freqs[lo], freqs[hi - 1], hi - lo, amplitude, bias, mode)
            # Simulated time passes as the protocol's time budget reckons a sweep's.
            self.clock.sleep(float(np.sum(point_time_s(f))))
            spectrum = {**spectrum, "freq_hz": np.concatenate([spectrum["freq_hz"], f]),
                        "z": np.concatenate([spectrum["z"], z]), "flags": spectrum["flags"] + list(flags),
                        "complete": hi == plan.points}
            for listener in self.listeners:
                listener.on_spectrum(spectrum)
        self._spectra += 1
        writer.spectrum(spectrum)

    def _report_fault(self, writer: RunWriter, retries: int, instrument: str, command: str, detail: str,
                      attempt: int) -> None:
        self._emit_event(writer, "instrument_retry", "warning",
                         f"{instrument}: {detail} on {command!r} (attempt {attempt + 1} of {retries + 1})",
                         {"instrument": instrument, "command": command, "detail": detail, "attempt": attempt})

    def _take(self, writer: RunWriter, batch: np.ndarray, acc: dict, dt: np.ndarray) -> None:
        writer.append(batch)
        acc["n"] += batch.size
        acc["charge"] += float(np.sum(np.abs(batch["current"]) * dt)) / 3.6
        acc["v_sum"] += float(np.sum(batch["voltage"]))
        acc["v_end"] = float(batch["voltage"][-1])
        acc["t_end"] = float(batch["t"][-1])
        self.n_samples += batch.size
        self.t_now = acc["t_end"]
        self._last_v = acc["v_end"]
        for listener in self.listeners:
            listener.on_batch(batch)

    @staticmethod
    def _step_summary(step_index: int, step, acc: dict) -> dict:
        return {"step": step_index, "cycle": step.cycle, "label": step.label, "current_a": step.current_a,
                "t_start": acc["t_start"], "t_end": acc["t_end"], "n_samples": acc["n"],
                "charge_mah": acc["charge"], "v_mean": acc["v_sum"] / acc["n"] if acc["n"] else None,
                "v_end": acc["v_end"]}

    def _emit_event(self, writer: RunWriter, kind: str, severity: str, message: str, evidence: dict,
                    t_s: float | None = None, sample_index: int | None = None) -> None:
        event = {"run_id": self.run_id, "t_s": self.t_now if t_s is None else t_s,
                 "sample_index": max(self.n_samples - 1, 0) if sample_index is None else sample_index,
                 "kind": kind, "severity": severity, "message": message, "evidence": evidence}
        writer.event(event)
        self.events.append(event)
        for listener in self.listeners:
            listener.on_event(event)

    def _set_status(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        for listener in self.listeners:
            listener.on_status(status, message)
