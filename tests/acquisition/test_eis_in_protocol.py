"""EIS inside cycling protocols: the `eis` step's every-N-cycles, points-per-decade,
time-budget, bias and mode settings (acquisition/protocol.py), the cycling-c3-500-eis
preset, the editor's "EIS every N cycles" step, and a run on the simulated bench whose
cell switch sees break-before-make kept and whose spectra show the interfacial
resistance rising as the capacity fades."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cell
from acquisition.protocol import (PRESETS, CurrentStep, EisStep, StepList, point_time_s, preset, sweep_plan)


@pytest.fixture(scope="module")
def full_agc():
    return cell.from_template("full-agc")


def eis_steps(protocol, stack):
    return [s for s in protocol.expand(stack) if isinstance(s, EisStep)]


# -- the preset --
def test_the_500_cycle_preset_expands_to_20_sweeps_after_the_discharge_rest(full_agc):
    protocol = PRESETS["cycling-c3-500-eis"]
    steps = protocol.expand(full_agc)
    sweeps = [(k, s) for k, s in enumerate(steps) if isinstance(s, EisStep)]
    assert len(sweeps) == 20
    assert [s.cycle for _, s in sweeps] == list(range(25, 501, 25))
    for k, sweep in sweeps:
        before, rest = steps[k - 2], steps[k - 1]
        assert (before.label, before.cycle) == ("discharge", sweep.cycle)
        assert (rest.label, rest.current_a, rest.cycle) == ("rest", 0.0, sweep.cycle)
        assert sweep.bias_at_rest and sweep.mode == "potentiostatic" and sweep.amplitude_v == 0.01
    # Apart from the sweeps it is cycling-c3-500, step for step.
    assert [s for s in steps if not isinstance(s, EisStep)] == PRESETS["cycling-c3-500"].expand(full_agc)
    assert protocol.step_count() == len(steps) == 2000 + 20


def test_the_sweep_ends_where_the_time_budget_runs_out():
    # 1 MHz down to 10 mHz at 10 points a decade, 5 periods a point (at least 10 ms), 600 s.
    # By hand: the points 10^(6 - k/10) Hz take max(5 / f, 0.01) s; down to 0.1 Hz (k = 70)
    # that is 243.4 s, and the next four (79.4, 63.1, 50.1, 39.8 mHz) add 62.9, 79.2, 99.8
    # and 125.6 s: 50.1 mHz (k = 73) is reached at 485.3 s, 39.8 mHz would end at 610.9 s.
    total = 0.0
    k = 0
    while True:
        f = 10 ** (6 - k / 10)
        step = max(5 / f, 0.01)
        if total + step > 600.0:
            break
        total, k = total + step, k + 1
    assert k == 74 and total == pytest.approx(485.3, abs=0.1)
    f_start, f_stop, points = sweep_plan(PRESETS["cycling-c3-500-eis"].program[0]["steps"][-1])
    assert (f_start, points) == (1e6, 74)
    assert f_stop == pytest.approx(10 ** (6 - 73 / 10), rel=1e-9)
    assert float(np.sum(point_time_s(np.geomspace(f_start, f_stop, points)))) <= 600.0
    # Swept upwards it keeps its direction, and a budget it fits leaves the end as asked.
    up = {"kind": "eis", "f_start_hz": 0.01, "f_stop_hz": 1e6, "points_per_decade": 10, "amplitude_v": 0.01,
          "time_budget_s": 600.0}
    assert sweep_plan(up) == (pytest.approx(10 ** -1.3), 1e6, 74)
    assert sweep_plan({**up, "time_budget_s": 1e5}) == (0.01, 1e6, 81)


def test_points_per_decade_become_points():
    spec = {"kind": "eis", "f_start_hz": 1e5, "f_stop_hz": 0.1, "points_per_decade": 7, "amplitude_v": 0.01}
    assert sweep_plan(spec) == (1e5, 0.1, 43)                     # 6 decades x 7 + 1


def test_eis_at_the_end_of_charge_runs_after_the_charge_rest(full_agc):
    steps = preset("cycling-c3-500-eis", cycles=4, eis_every=2, eis_at="charge").expand(full_agc)
    at = [k for k, s in enumerate(steps) if isinstance(s, EisStep)]
    assert [steps[k].cycle for k in at] == [2, 4]
    assert all(steps[k - 2].label == "charge" and steps[k + 1].label == "discharge" for k in at)


def test_step_count_agrees_with_the_expansion_in_nested_loops(full_agc):
    sweep = {"kind": "eis", "f_start_hz": 1e5, "f_stop_hz": 20, "points": 11, "amplitude_v": 0.01}
    program = ({"kind": "rest", "duration_s": 60, "sample_interval_s": 10},
               {**sweep, "every_cycles": 3},                      # cycle 1: not run
               {"kind": "loop", "repeat": 4, "counts_cycles": True, "steps": [
                   {"kind": "loop", "repeat": 2, "counts_cycles": True, "steps": [
                       {"kind": "rest", "duration_s": 60, "sample_interval_s": 10}, {**sweep, "every_cycles": 3}]},
                   {"kind": "loop", "repeat": 3, "counts_cycles": False, "steps": [
                       {"kind": "rest", "duration_s": 60, "sample_interval_s": 10}]},
                   {**sweep, "every_cycles": 2}]})
    protocol = StepList("nested", program)
    steps = protocol.expand(full_agc)
    assert protocol.step_count() == len(steps)
    # Cycles: the outer loop's passes start 1, 4, 7, 10, each with two inner cycles after it.
    assert [s.cycle for s in steps if isinstance(s, EisStep)] == [3, 6, 6, 9, 12, 12]


def test_old_stored_protocols_read_as_before(full_agc):
    # A protocol file as the station wrote it before these settings existed.
    stored = json.dumps({"name": "eis", "program": [{"kind": "loop", "repeat": 1, "counts_cycles": True, "steps": [
        {"kind": "rest", "duration_s": 600.0, "sample_interval_s": 10.0},
        {"kind": "eis", "f_start_hz": 1000000.0, "f_stop_hz": 20.0, "points": 51, "amplitude_v": 0.01,
         "dc_bias_v": 0.25}]}], "voltage_limit_v": 5.0, "version": 1})
    rest, sweep = StepList.from_json(stored).expand(full_agc)
    assert isinstance(rest, CurrentStep)
    assert sweep == EisStep("eis", 1e6, 20.0, 51, 0.01, 1, 0.25)
    assert (sweep.mode, sweep.amplitude_a, sweep.bias_at_rest) == ("potentiostatic", 0.0, False)


def test_a_galvanostatic_sweep_carries_its_current(full_agc):
    spec = {"kind": "eis", "f_start_hz": 1e5, "f_stop_hz": 1, "points": 21, "mode": "galvanostatic",
            "amplitude_a": 5e-5}
    (sweep,) = StepList("g", (spec,)).expand(full_agc)
    assert (sweep.mode, sweep.amplitude_a, sweep.amplitude_v, sweep.dc_bias_v) == ("galvanostatic", 5e-5, 0.0, 0.0)


@pytest.mark.parametrize("change, message", [
    ({"points_per_decade": 10}, "steps[0].points: give points or points_per_decade, not both"),
    ({"points": None, "points_per_decade": 0}, "steps[0].points_per_decade: must be above 0"),
    ({"every_cycles": 0}, "steps[0].every_cycles: must be at least 1"),
    ({"every_cycles": 2.5}, "steps[0].every_cycles: must be a whole number"),
    ({"mode": "pulsed"}, "steps[0].mode: must be one of potentiostatic, galvanostatic"),
    ({"mode": "galvanostatic"}, "steps[0].amplitude_a: missing"),
    ({"mode": "galvanostatic", "amplitude_v": None, "amplitude_a": 1e-4, "bias_at_rest": True},
     "steps[0].bias_at_rest: a galvanostatic sweep at rest has no bias to set"),
    ({"amplitude_a": 1e-4}, "steps[0].amplitude_a: a potentiostatic sweep has its amplitude in V"),
    ({"bias_at_rest": True, "dc_bias_v": 3.7}, "steps[0].dc_bias_v: set a fixed bias or bias_at_rest, not both"),
    ({"bias_at_rest": "yes"}, "steps[0].bias_at_rest: must be true or false"),
    ({"time_budget_s": 0.015, "f_stop_hz": 0.1}, "steps[0].time_budget_s: 0.015 s does not fit two points"),
    ({"time_budget_s": 60.0, "f_stop_hz": 1e5}, "steps[0].f_stop_hz: must differ from f_start_hz"),
    ({"points": None, "points_per_decade": 100, "f_stop_hz": 1e-12}, "is more than the 1601 points"),
])
def test_bad_eis_settings_are_named(change, message):
    spec = {"kind": "eis", "f_start_hz": 1e5, "f_stop_hz": 1.0, "points": 21, "amplitude_v": 0.01}
    spec = {k: v for k, v in {**spec, **change}.items() if v is not None}
    with pytest.raises(ValueError) as refused:
        StepList("bad", (spec,))
    assert message in str(refused.value)


def test_the_editor_adds_an_eis_every_n_cycles_step_into_a_loop(full_agc):
    from gui.protocol_editor_model import ProtocolDraft, summary, title
    draft = ProtocolDraft.from_preset("cycling-c3-500")
    draft.set((0,), "repeat", 10)
    path = draft.add("eis-every", (0,))
    assert path == (0, 4)
    draft.set(path, "every_cycles", 5)
    assert draft.problems() == []
    assert title(draft.get(path)) == "EIS every 5 cycles (eis)"
    assert summary(draft.get(path)).startswith("1 MHz → 50.12 mHz (within 10 min), 74 points, 10 mV, at the rest")
    assert [s.cycle for s in eis_steps(draft.steplist(), full_agc)] == [5, 10]


# -- a run: the full preset on the simulated bench, the Solartron 1260 in the impedance role --
@pytest.fixture(scope="module")
def eis_run(tmp_path_factory, full_agc):
    """cycling-c3-500-eis at max speed (~20 s), with spies on the simulated cell and the
    SMU that note, at every impedance reading and every SMU command, what the cell
    switch had connected and whether the SMU output was on."""
    from acquisition.session import prepare_run
    from notebook import Notebook
    nb = Notebook(tmp_path_factory.mktemp("eis") / "nb.sqlite")
    session = prepare_run(nb, full_agc, PRESETS["cycling-c3-500-eis"], speed="max", seed=0,
                          impedance="solartron1260")
    bench = session.engine.bench
    switch, smu = bench.emulators["switch"], bench.emulators["smu"]
    readings, smu_states = [], []
    measure = smu.cell.impedance

    def spied_impedance(freqs):
        readings.append((switch.connected(), smu.output_on))
        return measure(freqs)

    smu.cell.impedance = spied_impedance
    handle = smu.handle

    def spied_handle(command):
        reply = handle(command)
        smu_states.append((command, smu.output_on, switch.connected()))
        return reply

    smu.handle = spied_handle
    try:
        session.engine.run()
    finally:
        session.close()
    yield {"nb": nb, "engine": session.engine, "switch": switch, "analyser": bench.emulators["eis"],
           "readings": readings, "smu_states": smu_states, "model": smu.cell}
    nb.close()


def test_the_run_stores_one_spectrum_every_25_cycles_with_its_cycle(eis_run):
    nb, engine = eis_run["nb"], eis_run["engine"]
    # No alarm, no sweep clipped or skipped (a retry after a timeout on a loaded test machine
    # is the connection's business, not the protocol's).
    assert engine.status == "completed"
    assert [e["kind"] for e in nb.events(engine.run_id) if e["kind"] != "instrument_retry"] == []
    spectra = nb.spectra(engine.run_id)
    assert [s["cycle"] for s in spectra] == list(range(25, 501, 25))
    # The 1260 covers the whole sweep asked: 1 MHz down to the budget's 50.1 mHz, 74 points.
    assert all(s["freq_hz"].size == 74 and s["freq_hz"][0] == pytest.approx(1e6) for s in spectra)
    assert all(s["freq_hz"][-1] == pytest.approx(10 ** -1.3, rel=1e-6) for s in spectra)
    # Each spectrum was taken after its cycle's discharge and rest, before the next charge.
    steps = nb.steps(engine.run_id)
    for spectrum in spectra:
        rest = next(s for s in steps if s["cycle"] == spectrum["cycle"] and s["label"] == "rest"
                    and s["step"] == spectrum["step"] - 1)
        assert rest["t_end"] <= spectrum["t_s"] + 1e-6


def test_break_before_make_held_and_the_source_was_off_while_the_analyser_was_connected(eis_run):
    switch, readings, smu_states = eis_run["switch"], eis_run["readings"], eis_run["smu_states"]
    assert switch.violations == []
    # Every impedance reading of the cell: the analyser alone on it, the SMU output off.
    assert len(readings) == 20 * 74
    assert set(readings) == {(("eis",), False)}
    # Whenever the SMU output was on, the switch had the cell on the SMU alone.
    assert {paths for _, on, paths in smu_states if on} == {("smu",)}
    # The switch's own log: after set-up, each sweep is open SMU -> close analyser -> open
    # analyser -> close SMU, and the SMU output read off at both ends.
    routing = [(e.command, e.paths, e.source_on) for e in switch.log]
    assert routing[:3] == [("*RST", (), False), ("ROUT:OPEN (@103,104)", (), False),
                           ("ROUT:CLOS (@101,102)", ("smu",), False)]
    per_sweep = [("ROUT:OPEN (@101,102)", (), False), ("ROUT:CLOS (@103,104)", ("eis",), False),
                 ("ROUT:OPEN (@103,104)", (), False), ("ROUT:CLOS (@101,102)", ("smu",), False)]
    assert routing[3:] == per_sweep * 20


def test_each_sweep_is_biased_at_the_rest_voltage_read_before_it(eis_run):
    nb, engine, analyser = eis_run["nb"], eis_run["engine"], eis_run["analyser"]
    samples = nb.samples(engine.run_id)
    # The engine sends a sweep in parts of a few points, each setting the bias again.
    biases = list(dict.fromkeys(float(c.split()[1]) for c in analyser.commands
                                if c.startswith("VB ") and float(c.split()[1]) != 0))
    rest_v = [samples["voltage"][samples["t"] <= s["t_s"]][-1] for s in nb.spectra(engine.run_id)]
    assert len(biases) == 20
    assert biases == pytest.approx(rest_v, abs=1e-5)
    assert all(3.3 < v < 3.8 for v in rest_v)       # discharged NMC at rest, not 0 V


def test_a_sweep_between_cycles_adds_no_charge_to_the_next_step(eis_run):
    # The first reading after a sweep is credited one sample interval, not the sweep's
    # ~485 s (which at C/3 would add 0.07 mAh to the charge and trip the CE detector).
    nb, engine = eis_run["nb"], eis_run["engine"]
    charge = {s["cycle"]: s["charge_mah"] for s in nb.steps(engine.run_id) if s["label"] == "charge"}
    one_sample_mah = 0.5333e-3 * 60 / 3.6
    for n in range(26, 501, 25):             # the charges right after a sweep
        assert charge[n] <= charge[n - 2] + one_sample_mah / 10


def test_interfacial_resistance_rises_as_the_capacity_fades(eis_run, full_agc):
    from analysis.eis import fit_circuit
    from instruments.sim.full_cell import r_cathode_ohm_cm2
    nb, engine = eis_run["nb"], eis_run["engine"]
    spectra = nb.spectra(engine.run_id)
    fits = []
    for s in spectra:     # each fit starts from the one before: the spectra change slowly
        guess = fits[-1].parameters if fits else None
        fits.append(fit_circuit(s["freq_hz"], s["z"], "R0-p(R1,CPE1)-p(R2,CPE2)-W1", guess=guess,
                                area_cm2=full_agc.area_cm2))
    r_int = np.array([f.area_specific_ohm_cm2["R2"] for f in fits])
    assert np.all(np.diff(r_int) > 0)
    # The model's truth: the cathode's interfacial resistance after the cycles completed
    # (a sweep in cycle n comes before cycle n's ageing step, at the next charge).
    truth = np.array([r_cathode_ohm_cm2(s["cycle"] - 1) for s in spectra])
    assert r_int == pytest.approx(truth, rel=0.02)
    assert all(abs(f.area_specific_ohm_cm2["R0"] - 40e-4 / 0.6e-3) < 0.1 for f in fits)   # the bulk does not age
    discharge = {s["cycle"]: s["charge_mah"] for s in nb.steps(engine.run_id) if s["label"] == "discharge"}
    at_sweeps = np.array([discharge[s["cycle"]] for s in spectra])
    assert np.all(np.diff(at_sweeps) <= 0) and at_sweeps[-1] < 0.85 * at_sweeps[0]
    # Retention over the run, as the paper's: exact to a 60 s sample at each end (see
    # test_paper_numbers.py), so 80.2 % within 1.5 %.
    assert discharge[500] / discharge[1] == pytest.approx(0.802, abs=0.015)


def test_galvanostatic_sweeps_measure_a_full_cell_on_the_im3590(tmp_path, full_agc):
    """The IM3590 cannot hold a full cell's rest voltage (its bias is +-2.5 V; the cell rests
    between its 2.6 V and 4.25 V cut-offs), so potentiostatic sweeps at rest are refused before
    the run starts, with nothing saved; driven by current at rest it measures."""
    from acquisition.session import prepare_run
    from instruments.sim.full_cell import r_cathode_ohm_cm2
    from notebook import Notebook
    nb = Notebook(tmp_path / "nb.sqlite")
    refused = preset("cycling-c3-500-eis", cycles=4, eis_every=2, eis_mode="potentiostatic")
    with pytest.raises(ValueError, match=r"rest voltage, which lies between 2\.6 and 4\.25 V .* Hioki IM3590's DC "
                                         r"bias of -2\.5\.\.2\.5 V: every sweep would be skipped\. Sweep galvanostatically"):
        prepare_run(nb, full_agc, refused, speed="max", seed=0, impedance="im3590")
    assert nb.builds() == [] and nb.runs() == []
    protocol = preset("cycling-c3-500-eis", cycles=4, eis_every=2, eis_mode="galvanostatic")
    session = prepare_run(nb, full_agc, protocol, speed="max", seed=0, impedance="im3590")
    try:
        session.engine.run()
    finally:
        session.close()
    run_id, switch = session.engine.run_id, session.engine.bench.emulators["switch"]
    assert session.engine.status == "completed" and switch.violations == []
    assert "eis_skipped" not in [e["kind"] for e in nb.events(run_id)]
    spectra = nb.spectra(run_id)
    assert [s["cycle"] for s in spectra] == [2, 4]
    # Clipped to the IM3590's 200 kHz; near its low end the cathode arc's real part
    # approaches bulk + anode contact + R_ct of the cycles completed (the model's rule).
    assert all(s["freq_hz"].max() == pytest.approx(200e3) for s in spectra)
    low = [s["z"][np.argmin(s["freq_hz"])].real for s in spectra]
    expected = [40e-4 / 0.6e-3 + 0.58 + r_cathode_ohm_cm2(s["cycle"] - 1) for s in spectra]
    assert low == pytest.approx(expected, rel=0.05)
    nb.close()
