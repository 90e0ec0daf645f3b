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


# -- issue 19 item 7: what cannot run is refused before anything is expanded --
def _one_line_refusal(text: str, match: str) -> str:
    with pytest.raises(ValueError, match=match) as info:
        StepList.from_json(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


def _loops(*repeats, inner='{"kind": "rest", "duration_s": 1, "sample_interval_s": 1}'):
    program = inner
    for repeat in reversed(repeats):
        program = f'{{"kind": "loop", "repeat": {repeat}, "steps": [{program}]}}'
    return f'{{"name": "x", "program": [{program}]}}'


def test_nested_loops_that_unroll_past_the_bound_are_refused_without_expanding():
    import time
    import tracemalloc
    text = _loops(100000, 100000)
    assert len(text) < 200       # the probe's file was 179 bytes
    tracemalloc.start()
    started = time.process_time()
    _one_line_refusal(text, r"steps: the loops unroll to 10,000,000,000 steps; a protocol may have at most 100,000")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000 and time.process_time() - started < 1.0


def test_a_protocol_at_the_step_bound_is_counted_and_iterated_lazily():
    import itertools
    import tracemalloc
    protocol = StepList.from_json(_loops(1000, 100))      # exactly 100,000 one-second rests
    assert protocol.step_count() == 100_000
    tracemalloc.start()
    first = list(itertools.islice(protocol.iter_steps(cell.from_template("sym-agc")), 3))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [s.duration_s for s in first] == [1.0] * 3 and peak < 200_000   # not 100,000 steps' worth
    with pytest.raises(ValueError, match="100,100 steps"):
        StepList.from_json(_loops(1001, 100))


def test_a_protocol_longer_than_three_years_is_refused():
    # 100 x 1e6 s = 1157 days against the bound of 3 x 365.25 = 1096 days
    _one_line_refusal(_loops(100, inner='{"kind": "rest", "duration_s": 1e6, "sample_interval_s": 10}'),
                      r"takes 1,157 days; a protocol may last at most 1,096 days")
    StepList.from_json(_loops(94, inner='{"kind": "rest", "duration_s": 1e6, "sample_interval_s": 10}'))  # 1088 days


CC = '"kind": "cc", "current": 0.5, "unit": "mA", "duration_s": 10, "sample_interval_s": 1'


@pytest.mark.parametrize("step, match", [
    ('{"kind": "cc", "current": NaN, "unit": "mA", "duration_s": 10, "sample_interval_s": 1}',
     r"steps\[0\]\.current: must be a finite number, got nan"),
    ('{"kind": "cc", "current": 1e300, "unit": "mA", "duration_s": 10, "sample_interval_s": 1}',
     r"steps\[0\]\.current: must be at most 10000, got 1e\+300"),
    ('{"kind": "cc", "current": -1e300, "unit": "C", "duration_s": 10, "sample_interval_s": 1}',
     r"steps\[0\]\.current: must be at least -1000"),
    ('{"kind": "rest", "duration_s": Infinity, "sample_interval_s": 1}', r"duration_s: must be a finite number, got inf"),
    ('{"kind": "rest", "duration_s": 10, "sample_interval_s": NaN}', r"sample_interval_s: must be a finite number"),
    ('{' + CC + ', "v_min": NaN}', r"steps\[0\]\.v_min: must be a finite number"),
    ('{' + CC + ', "v_max": 1e300}', r"steps\[0\]\.v_max: must be at most 210"),
    ('{' + CC + ', "q_max_mAh": 1e300}', r"q_max_mAh: must be at most 1e\+06"),
    ('{"kind": "eis", "f_start_hz": 1e300, "f_stop_hz": 20, "points": 51, "amplitude_v": 0.01}', r"f_start_hz: must be at most 1e\+09"),
    ('{"kind": "eis", "f_start_hz": 1e6, "f_stop_hz": 20, "points": 51.5, "amplitude_v": 0.01}', r"points: must be a whole number"),
    ('{"kind": "pressure", "mpa": NaN, "ramp_mpa_s": 0.1}', r"mpa: must be a finite number"),
    ('{"kind": "pressure", "mpa": 5, "ramp_mpa_s": 1e300}', r"ramp_mpa_s: must be at most 100"),
    ('{"kind": "temperature", "celsius": NaN}', r"celsius: must be a finite number"),
    ('{"kind": "loop", "repeat": 2.5, "steps": [{"kind": "rest", "duration_s": 1, "sample_interval_s": 1}]}',
     r"repeat: must be a whole number, got 2.5"),
    ('{"kind": "loop", "repeat": 1e300, "steps": [{"kind": "rest", "duration_s": 1, "sample_interval_s": 1}]}',
     r"repeat: must be at most 100000"),
    ('{' + CC.replace("0.5", "1" + "0" * 400) + '}', r"current: must be a finite number, got a number too large to use"),
])
def test_non_finite_and_absurd_values_are_refused_by_step_and_field(step, match):
    _one_line_refusal(f'{{"name": "x", "program": [{step}]}}', match)


@pytest.mark.parametrize("text, match", [
    ('{"name": "x", "program": "abc"}', r"program must be a list of steps, got 'abc'"),
    ('{"name": "x", "program": 5}', r"program must be a list of steps, got 5"),
    ('{"name": "x", "program": {"kind": "rest"}}', r"program must be a list of steps, got an object"),
    ('{"name": 5, "program": []}', r"name must be text, got 5"),
    ('{"name": "x", "voltage_limit_v": "5", "program": []}', r"voltage_limit_v must be a number, got '5'"),
    ('{"name": "x", "voltage_limit_v": NaN, "program": [{"kind": "rest", "duration_s": 1, "sample_interval_s": 1}]}',
     r"voltage_limit_v: must be 0.02 to 210 V, got nan"),
    ('{"name": "x", "version": "1", "program": []}', r"version must be a whole number from 1, got '1'"),
    ('{"name": "x", "program": [[1, 2]]}', r"steps\[0\]\.kind: must be one of .*, got a list"),
    ('{"name": "x", "program": [{"kind": ["cc"]}]}', r"steps\[0\]\.kind: must be one of .*, got a list"),
    ('{"name": "x", "program": [{"kind": {"a": 1}}]}', r"steps\[0\]\.kind: must be one of .*, got an object"),
    ('{"name": "x", "program": [{' + CC + ', "label": 5}]}', r"steps\[0\]\.label: must be text"),
    ('{"name": "x", "program": [{' + CC.replace('"mA"', '["mA"]') + '}]}', r"steps\[0\]\.unit: must be one of .*, got a list"),
    ('{"name": "x", "program": [{' + CC + ', "v_mni": 3.0}]}', r"steps\[0\]: a cc step has no field v_mni"),
    ('{"name": "x", "program": [{"kind": "loop", "repeat": 2, "counts_cycles": "yes", "steps": '
     '[{"kind": "rest", "duration_s": 1, "sample_interval_s": 1}]}]}', r"counts_cycles: must be true or false, got 'yes'"),
    ('{"name": "x", "program": [{"kind": "loop", "repeat": 2, "steps": {"kind": "rest"}}]}',
     r"steps\[0\]\.steps: needs at least one step, got an object"),
    ('{"name": "x", "program": [1' + "0" * 5000 + ']}', r"^protocol file is not valid JSON"),
])
def test_wrong_json_types_are_refused_in_one_line(text, match):
    _one_line_refusal(text, match)


@pytest.mark.parametrize("depth", [5000, 200_000])
def test_deep_nesting_is_refused_in_one_line(depth):
    deep = "[" * depth + "]" * depth
    _one_line_refusal(f'{{"name": "x", "program": {deep}}}', r"^protocol file nests too deep to read")
    # nested inside a field, within what the JSON reader takes: the value is named by type, never printed
    shallow = "[" * 500 + "]" * 500
    _one_line_refusal(f'{{"name": "x", "program": [{{"kind": "rest", "duration_s": {shallow}, "sample_interval_s": 1}}]}}',
                      r"steps\[0\]\.duration_s: must be a number, got a list")
    _one_line_refusal(f'{{"name": "x", "program": [{{"kind": "loop", "repeat": 1, "steps": {shallow}}}]}}',
                      r"steps\[0\]\.steps\[0\]\.kind: must be one of .*, got a list")


def test_a_huge_protocol_file_is_refused_before_it_is_parsed():
    _one_line_refusal('{"name": "x", "program": []}' + " " * 1_000_000, r"1,000,028 characters; a protocol file holds at most 1,000,000")


@pytest.mark.parametrize("content, expected", [
    (_loops(100000, 100000), "the loops unroll to 10,000,000,000 steps"),
    ('{"name": "x", "program": [{"kind": "rest", "duration_s": NaN, "sample_interval_s": 1}]}',
     "steps[0].duration_s: must be a finite number, got nan"),
    ('{"name": "x", "program": [{' + CC.replace("0.5", "1e300") + '}]}', "steps[0].current: must be at most 10000, got 1e+300"),
    ('{"name": "x", "program": 5}', "program must be a list of steps, got 5"),
    ('{"name": "x", "program": ' + "[" * 5000 + "]" * 5000 + "}", "protocol file nests too deep to read"),
    (b'{"name": "\xff"}', "is not UTF-8 text (byte 10)"),
    ('{"name": "x", "program": []}' + " " * 1_000_000, "a protocol file holds at most 1,000,000"),
])
def test_the_run_command_refuses_each_in_one_line_and_writes_nothing(tmp_path, content, expected):
    import subprocess
    import sys
    from conftest import ROOT
    path = tmp_path / "hostile.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    db = tmp_path / "n.sqlite"
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "sym-agc", str(path), "--db", str(db)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and expected in line and "Traceback" not in result.stderr
    assert not db.exists()
