"""Step-list protocols: validation that names the step and field, expansion for a cell
(units, cut-offs, cycle numbers), JSON round trip, and the paper's presets."""
from __future__ import annotations

import json

import numpy as np

import pytest

import cell
from acquisition.protocol import PRESETS, CurrentStep, EisStep, PressureStep, StepList, preset


def test_presets_expand_to_the_paper_experiments():
    full = cell.from_template("full-agc")
    rate = PRESETS["rate-test"].expand(full)
    charges = [s for s in rate if s.label == "charge"]
    # 1C = 8.0 mg/cm2 x 200 mA/g = 1.6 mA on 1 cm2: 0.1 C = 0.16 mA ... 0.5 C = 0.8 mA
    assert [round(s.current_a * 1e3, 3) for s in charges[::3]] == [0.16, 0.32, 0.533, 0.8]
    assert all(s.v_max == 4.25 for s in charges) and charges[-1].cycle == 12
    plate = PRESETS["plate-strip-0.16"].expand(cell.from_template("sym-agc", area_cm2=2.0))
    assert len(plate) == 100 and plate[0].current_a == pytest.approx(0.32e-3) and plate[1].current_a < 0
    assert plate[0].duration_s == 3600.0 and plate[-1].cycle == 50
    gitt = PRESETS["gitt"].expand(cell.from_template("half-agc"))
    assert len(gitt) == 620 and gitt[0].duration_s == 60.0 and gitt[1].duration_s == 1800.0
    (rest, sweep) = PRESETS["eis"].expand(cell.from_template("sym-bare"))
    assert isinstance(sweep, EisStep) and sweep.f_stop_hz == 20.0 and rest.current_a == 0.0


def test_units_capacity_limit_pressure_and_nested_cycles():
    protocol = StepList("custom", (
        {"kind": "pressure", "mpa": 5.0, "ramp_mpa_s": 0.1},
        {"kind": "cc", "current": 0.5, "unit": "mA", "duration_s": 36000, "q_max_mAh": 0.25, "sample_interval_s": 10},
        {"kind": "loop", "repeat": 2, "counts_cycles": True, "steps": [
            {"kind": "loop", "repeat": 3, "counts_cycles": False, "steps": [
                {"kind": "rest", "duration_s": 60, "sample_interval_s": 10}]}]},
    ))
    steps = protocol.expand(cell.from_template("sym-agc"))
    assert isinstance(steps[0], PressureStep) and steps[0].mpa == 5.0
    # 0.25 mAh at 0.5 mA is half an hour: the capacity limit shortens the 10 h step
    assert isinstance(steps[1], CurrentStep) and steps[1].duration_s == pytest.approx(1800.0)
    assert [s.cycle for s in steps[2:]] == [1, 1, 1, 2, 2, 2]
    assert protocol.nominal_duration_s(cell.from_template("sym-agc")) == pytest.approx(1800 + 6 * 60)


@pytest.mark.parametrize("program, message", [
    (({"kind": "cc", "current": 1, "unit": "A", "duration_s": 10, "sample_interval_s": 1},), r"steps\[0\]\.unit"),
    (({"kind": "cc", "current": "x", "unit": "mA", "duration_s": 10, "sample_interval_s": 1},), r"steps\[0\]\.current: must be a number"),
    (({"kind": "rest", "duration_s": -1, "sample_interval_s": 1},), r"steps\[0\]\.duration_s: must be above 0"),
    (({"kind": "loop", "repeat": 2, "steps": [{"kind": "jump"}]},), r"steps\[0\]\.steps\[0\]\.kind"),
    (({"kind": "eis", "f_start_hz": 1e6, "f_stop_hz": 20, "points": 1, "amplitude_v": 0.01},), r"points: must be at least 2"),
    (({"kind": "cc", "current": 1, "unit": "mA", "duration_s": 10, "sample_interval_s": 1, "v_min": 4, "v_max": 3},), "v_min: must be below v_max"),
    ((), r"steps: needs at least one step"),
])
def test_bad_steps_are_named(program, message):
    with pytest.raises(ValueError, match=message):
        StepList("bad", program)


def test_c_rate_on_a_cell_without_cathode_is_refused():
    with pytest.raises(ValueError, match="C-rates need a full cell"):
        PRESETS["rate-test"].expand(cell.from_template("sym-agc"))


def test_json_round_trip_and_bad_files():
    protocol = preset("plate-strip-0.16", cycles=3)
    back = StepList.from_json(protocol.to_json())
    assert back == protocol
    assert back.expand(cell.from_template("sym-agc")) == protocol.expand(cell.from_template("sym-agc"))
    with pytest.raises(ValueError, match="not valid JSON"):
        StepList.from_json("{nope")
    with pytest.raises(ValueError, match="unknown keys: colour"):
        StepList.from_json(json.dumps({"name": "x", "program": [], "colour": 1}))
    with pytest.raises(KeyError, match="has no setting speed"):
        preset("rate-test", speed=3)


def test_a_temperature_step_waits_for_the_chamber(tmp_path):
    from acquisition.session import prepare_run
    from notebook import Notebook
    protocol = StepList("warm-up", (
        {"kind": "temperature", "celsius": 60.0, "tolerance_c": 1.0, "timeout_s": 36000},
        {"kind": "rest", "duration_s": 600, "sample_interval_s": 60},
    ))
    with Notebook(tmp_path / "n.sqlite") as nb:
        session = prepare_run(nb, cell.from_template("sym-agc"), protocol, speed="max")
        try:
            assert session.engine.run() == "completed"
            assert session.engine.bench.chamber.setpoint() == 60.0
        finally:
            session.close()
        temperature = nb.samples(session.engine.run_id)["temperature"]
        # the cell started at the build's 25 C and was within 1 C of 60 C before the rest began
        assert np.all(np.abs(temperature - 60.0) <= 1.2)
    with pytest.raises(ValueError, match=r"steps\[0\]\.celsius: must be at most 150"):
        StepList("hot", ({"kind": "temperature", "celsius": 200},))


def test_a_chamber_that_never_gets_there_fails_the_run_clearly(tmp_path):
    from acquisition.session import prepare_run
    from notebook import Notebook
    protocol = StepList("warm-up", ({"kind": "temperature", "celsius": 60.0, "tolerance_c": 0.5, "timeout_s": 600},))
    with Notebook(tmp_path / "n.sqlite") as nb:
        session = prepare_run(nb, cell.from_template("sym-agc"), protocol, speed="max")
        try:
            assert session.engine.run() == "failed"     # a 600 s lag cannot close 35 C in 600 s
        finally:
            session.close()
        assert "did not" not in session.engine.message and "not 60 C, within 600 s" in session.engine.message
