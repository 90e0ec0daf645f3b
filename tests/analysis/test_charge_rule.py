"""The charge-integration rule (segments.sample_durations) and the counter as reference
(cycling.cycle_summary with dq_Ah or a stored table, analysis.counters), on synthetic
records whose true charge is known by construction."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import counters
from analysis.cycling import cycle_summary
from analysis.plating import plate_strip_table
from analysis.segments import sample_durations


def station_record(steps, t0=0.0):
    """(t, current, step) as the station logs it: each step's readings at the END of
    their intervals (start + k * interval while within the step), as the SMU emulator
    stamps them; a step that is not a whole number of intervals (a rest, a cut-off) ends
    unlogged. steps: (current A, duration s, interval s). Truth: current x duration."""
    t, i, s, start = [], [], [], t0
    for k, (amps, duration, interval) in enumerate(steps):
        n = int(duration // interval + 1e-9)
        t.append(start + interval * np.arange(1, n + 1))
        i.append(np.full(n, amps))
        s.append(np.full(n, k))
        start += duration
    return np.concatenate(t), np.concatenate(i), np.concatenate(s)


def eclab_record(steps, t0=0.0):
    """As EC-Lab logs: a step's first point as it starts, then every interval, the last
    at its end (and the next step's first point 1 ms later)."""
    t, i, s, start = [], [], [], t0
    for k, (amps, duration, interval) in enumerate(steps):
        n = int(round(duration / interval))
        t.append(start + 1e-3 * (k > 0) + interval * np.arange(0, n + 1))
        i.append(np.full(n + 1, amps))
        s.append(np.full(n + 1, k))
        start = t[-1][-1]
    return np.concatenate(t), np.concatenate(i), np.concatenate(s)




def charge_each_way(t, i, step):
    q = i * sample_durations(t, i, step) / 3.6
    return q[q > 0].sum(), -q[q < 0].sum()


@pytest.mark.parametrize("interval", [1.0, 8.0, 60.0, 450.0])
def test_station_steps_are_exact_at_any_rate_even_after_a_sparse_rest(interval):
    # a 6900 s rest logged every 600 s: its last reading at 6600 s, its last 300 s unlogged
    steps = [(1e-3, 3600.0, interval), (0.0, 6900.0, 600.0), (-0.5e-3, 7200.0, interval)]
    t, i, step = station_record(steps)
    assert charge_each_way(t, i, step) == pytest.approx((1.0, 1.0), rel=1e-12)
    # the old rule (each sample back to the one before) counted those 300 s at -0.5 mA
    old = i * np.diff(t, prepend=0.0) / 3.6
    assert -old[old < 0].sum() == pytest.approx(1.0 + 0.5e-3 * 300 / 3.6, rel=1e-12)


@pytest.mark.parametrize("interval", [1.0, 10.0, 300.0])
def test_eclab_steps_logged_at_both_ends_are_exact(interval):
    t, i, step = eclab_record([(1e-3, 3600.0, interval), (0.0, 7200.0, 600.0), (-0.5e-3, 7200.0, interval)])
    q_in, q_out = charge_each_way(t, i, step)
    # each later step's first point sits 1 ms after the last of the one before: at most 1 ms of credit
    assert q_in == pytest.approx(1.0, rel=1e-12)
    assert q_out == pytest.approx(1.0, abs=0.5e-3 * 1e-3 / 3.6 * 1.001)


def test_a_late_first_sample_is_not_credited_from_t_zero():
    # a constant-current record cut from a longer test: its first reading at t = 40 000 s
    t, i, step = station_record([(2e-3, 1800.0, 10.0)], t0=40_000.0 - 10.0)
    assert t[0] == 40_000.0
    assert charge_each_way(t, i, step)[0] == pytest.approx(1.0, rel=1e-12)       # 2 mA x 0.5 h
    assert sample_durations(t)[0] == 10.0                      # with no current given as well
    # the old rule gave the first sample 40 000 s: +2222 %
    assert (i * np.diff(t, prepend=0.0)).sum() / 3.6 == pytest.approx(1.0 + 2e-3 * (40_000 - 10) / 3.6)


def test_an_unlogged_rest_end_costs_at_most_one_interval_of_the_new_step():
    # rest logged at 0, 600, ..., 3000 s (its end at 3600 s is not logged), then EC-Lab logs
    # the charge from its first point at 3600 s, every 5 s: truth 1 mA x 3600 s = 1 mAh
    t = np.concatenate([np.arange(0.0, 3001.0, 600.0), 3600.0 + np.arange(0.0, 3601.0, 5.0)])
    i = np.where(t >= 3600.0, 1e-3, 0.0)
    q = charge_each_way(t, i, None)[0]
    assert 1.0 <= q <= 1.0 + 1e-3 * 5.0 / 3.6 + 1e-12           # not the 600 s gap the old rule gave
    assert sample_durations(t, i)[6] == 5.0


def test_plate_strip_with_sparse_rests_between_halves():
    t, i, step = station_record([(1e-3, 3600.0, 30.0), (0.0, 3500.0, 900.0), (-1e-3, 3600.0, 30.0),
                                 (0.0, 3500.0, 900.0)])
    table = plate_strip_table(t, i, np.full(t.size, 0.01), step, np.ones(t.size, dtype=int))
    assert table["plate_mAh"].iloc[0] == pytest.approx(1.0, rel=1e-12)
    assert table["strip_mAh"].iloc[0] == pytest.approx(1.0, rel=1e-12)


def test_cycle_summary_is_exact_on_sparse_station_cycles():
    t, i, step = station_record([(1e-3, 3600.0, 20.0), (0.0, 7000.0, 600.0), (-0.9e-3, 3600.0, 20.0),
                                 (0.0, 7000.0, 600.0)] * 3, t0=500.0)
    s = cycle_summary(t, i, np.full(t.size, 3.7), step=step)
    assert s.cycles["charge_mAh"].tolist() == pytest.approx([1.0] * 3, rel=1e-12)
    assert s.cycles["discharge_mAh"].tolist() == pytest.approx([0.9] * 3, rel=1e-12)
    assert s.cycles["discharge_Wh"].tolist() == pytest.approx([0.9 * 3.7e-3] * 3, rel=1e-12)
    assert s.cycles["charge_time_s"].tolist() == pytest.approx([3600.0] * 3)


def counted(t, i, step, error=0.0):
    """The counter's dq (Ah) of the true current, and a current column `error` off it."""
    dq = i * sample_durations(t, i, step) / 3600.0
    return dq, i * (1.0 + error)


def test_the_counter_is_the_reference_and_a_small_difference_is_a_note():
    t, i, step = station_record([(1e-3, 3600.0, 10.0), (-1e-3, 3600.0, 10.0)] * 2)
    dq, current = counted(t, i, step, error=0.0003)
    s = cycle_summary(t, current, np.full(t.size, 3.7), step=step, dq_Ah=dq, counter="dq/mA.h")
    assert s.cycles["charge_mAh"].tolist() == pytest.approx([1.0, 1.0], rel=1e-12)      # the counter's
    assert "charge from the instrument's counter dq/mA.h; integrated current agrees within 0.03 %" in s.notes
    assert s.warnings == []
    assert s.counter_check["charge_diff"].tolist() == pytest.approx([0.0003, 0.0003], rel=1e-6)
    assert s.to_dict()["counter_check"][0]["cycle"] == 1


def test_a_difference_over_half_a_percent_is_a_warning_and_the_counter_still_wins():
    t, i, step = station_record([(1e-3, 3600.0, 10.0), (-1e-3, 3600.0, 10.0)] * 2)
    dq, current = counted(t, i, step, error=0.012)
    s = cycle_summary(t, current, np.full(t.size, 3.7), step=step, dq_Ah=dq, counter="dq/mA.h")
    assert s.cycles["discharge_mAh"].tolist() == pytest.approx([1.0, 1.0], rel=1e-12)
    (warning,) = s.warnings
    assert "differs from the instrument's counter dq/mA.h by up to 1.2 % (over 0.5 %) in cycle(s) 1, 2" in warning
    assert s.to_dict()["warnings"] == [warning]


def test_idle_samples_with_an_ac_current_open_no_half_cycles():
    # charge, an EIS step (mean AC current of either sign, counter still), charge again
    t, i, step = station_record([(1e-3, 3600.0, 10.0), (0.0, 600.0, 1.0), (1e-3, 3600.0, 10.0)])
    dq = i * sample_durations(t, i, step) / 3600.0
    eis = step == 1
    i = i.copy()
    i[eis] = 1e-4 * np.sin(np.arange(eis.sum()))
    s = cycle_summary(t, i, np.full(t.size, 3.7), dq_Ah=dq, counter="dq/mA.h", step=step)
    assert s.cycles["cycle"].tolist() == [1]
    assert s.cycles["charge_mAh"].iloc[0] == pytest.approx(2.0, rel=1e-12)
    assert s.warnings == []                                   # the AC current is rest, not charge
    # without the counter the AC current's sign changes open half cycles
    assert len(cycle_summary(t, i, np.full(t.size, 3.7), step=step).cycles) > 1


def test_a_stored_table_is_used_only_for_the_cycles_it_counts():
    t, i, step = station_record([(1e-3, 3600.0, 10.0), (-1e-3, 3600.0, 10.0)] * 2)
    cycle = np.repeat([1, 2], t.size // 2)
    table = pd.DataFrame({"cycle": [1, 2], "charge_mAh": [1.001, 0.999], "discharge_mAh": [0.998, 1.0]})
    s = cycle_summary(t, i, np.full(t.size, 3.7), cycle, step=step, reference=table,
                      reference_source="the vendor's cycle table")
    assert s.cycles["charge_mAh"].tolist() == [1.001, 0.999]
    assert s.cycles["ce"].iloc[0] == pytest.approx(0.998 / 1.001)
    assert s.notes[-1].startswith("charge from the vendor's cycle table; integrated current agrees within 0.2 %")
    # a file with one cycle number throughout: cycles are numbered here, the table cannot be matched
    flat = cycle_summary(t, i, np.full(t.size, 3.7), np.ones(t.size, dtype=int), step=step,
                         reference=table.iloc[:1], reference_source="the vendor's cycle table")
    assert flat.cycles["charge_mAh"].tolist() == pytest.approx([1.0, 1.0], rel=1e-12)
    assert any("renumbered here" in note for note in flat.notes)


def test_a_record_without_current_has_no_cycles_and_says_so():
    t = np.array([0.0, 1.0, 2.0, 2.8])
    s = cycle_summary(t, np.zeros(4), np.full(4, 3.5), np.ones(4, dtype=int), dq_Ah=np.zeros(4), counter="dq/mA.h")
    assert s.cycles.empty and math.isnan(s.average_ce)
    assert "no current flowed" in s.notes[-1]


def test_compare_leaves_out_halves_too_small_to_judge():
    reference = pd.DataFrame({"cycle": [1, 2], "charge_mAh": [1.0, 1e-5], "discharge_mAh": [1.0, 0.0]})
    integrated = pd.DataFrame({"cycle": [1, 2], "charge_mAh": [1.001, 3e-5], "discharge_mAh": [0.999, 0.0]})
    check = counters.compare(reference, integrated)
    assert counters.worst_difference(check) == pytest.approx(1e-3)
    assert math.isnan(check["discharge_diff"].iloc[1])
    note, warning = counters.describe("X", check)
    assert note == "charge from X; integrated current agrees within 0.1 %" and warning is None
