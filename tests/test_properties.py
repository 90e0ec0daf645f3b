"""Property-based tests of what users type and load (issue 10, bad input everywhere):
whatever comes in, the parsers and validators either accept it or refuse it with
their own error type and a message; they never crash with something else, and a
refused input changes nothing."""
from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cell
from acquisition.protocol import StepList
from cell.stack import Layer
from notebook.formats import read_spectrum, read_timeseries
from notebook.formats.common import FormatError

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**9, 10**9))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=20)
step_kinds = st.sampled_from(["cc", "rest", "eis", "pressure", "loop", "jump"])
steps = st.fixed_dictionaries({"kind": step_kinds}, optional={
    "current": numbers, "unit": st.sampled_from(["mA", "mA/cm2", "C", "A"]), "duration_s": numbers,
    "sample_interval_s": numbers, "v_min": numbers, "v_max": numbers, "repeat": numbers,
    "steps": st.lists(st.fixed_dictionaries({"kind": step_kinds}), max_size=2),
    "f_start_hz": numbers, "f_stop_hz": numbers, "points": numbers, "amplitude_v": numbers, "mpa": numbers})


@given(st.one_of(json_values, st.fixed_dictionaries({"name": st.text(max_size=8), "program": st.lists(steps, max_size=4)})))
@settings(max_examples=300, deadline=None)
def test_protocol_files_are_accepted_or_refused_by_name(data):
    try:
        protocol = StepList.from_json(json.dumps(data))
    except ValueError as exc:
        assert str(exc)
        return
    assert protocol.validate() == []


@given(st.text(alphabet=string.printable, max_size=400))
@settings(max_examples=200, deadline=None)
def test_protocol_text_that_is_not_json_is_refused(text):
    try:
        StepList.from_json(text)
    except ValueError as exc:
        assert str(exc)


@given(area=numbers, pressure=numbers, temperature=numbers,
       layers=st.lists(st.tuples(st.sampled_from(["Al", "Cu", "NMC", "LPSCl", "AgC", "C", "Li", "LiRE", "Zn"]),
                                 numbers, numbers), min_size=0, max_size=7))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_stack_is_judged_without_crashing(area, pressure, temperature, layers):
    stack = cell.from_template("sym-bare").with_changes(
        area_cm2=area, stack_pressure_mpa=pressure, temperature_c=temperature,
        layers=tuple(Layer(m, t, a) for m, t, a in layers))
    issues = cell.validate(stack)
    assert all(issue.field and issue.message for issue in issues)
    if not cell.validation.errors(issues):
        f = cell.figures(stack)
        assert f.stack_thickness_um >= 0 and f.areal_mass_mg_cm2 > 0


@given(st.binary(max_size=2000))
@settings(max_examples=150, deadline=None)
def test_random_files_are_refused_as_format_errors_and_left_alone(tmp_path_factory, blob):
    for suffix in (".csv", ".mpt", ".DTA", ".z"):
        path = tmp_path_factory.mktemp("f") / f"data{suffix}"
        path.write_bytes(blob)
        for reader in (read_timeseries, read_spectrum):
            try:
                reader(path)
            except FormatError as exc:
                assert str(path.name) in str(exc) or str(path) in str(exc)
            assert path.read_bytes() == blob
