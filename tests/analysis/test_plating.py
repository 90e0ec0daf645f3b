"""Per-cycle plating/stripping figures against hand-computed values."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.plating import plate_strip_table
from analysis.segments import sample_durations, step_bounds


def synthetic(cycles=2, n=3600, amps=1e-3, volts=2e-3):
    t = np.arange(1, 2 * cycles * n + 1, dtype=float)          # 1 s samples from t = 1 s
    step = np.repeat(np.arange(2 * cycles), n)
    sign = np.where(step % 2 == 0, 1.0, -1.0)
    cycle = step // 2 + 1
    voltage = sign * volts * (1 + 0.5 * (np.arange(t.size) % n) / n)   # rises 2 -> 3 mV in each half
    return t, sign * amps, voltage, step, cycle


def test_step_bounds_and_durations():
    starts, ends = step_bounds(np.array([0, 0, 1, 1, 1, 2]))
    assert starts.tolist() == [0, 2, 5] and ends.tolist() == [2, 5, 6]
    assert sample_durations(np.array([1.0, 2.0, 4.0])).tolist() == [1.0, 1.0, 2.0]


def test_table_values_by_hand():
    table = plate_strip_table(*synthetic())
    assert table["cycle"].tolist() == [1, 2]
    # 1 mA for 3600 s = 1 mAh each way
    assert table["plate_mAh"].tolist() == pytest.approx([1.0, 1.0])
    assert table["strip_mAh"].tolist() == pytest.approx([1.0, 1.0])
    # |V| runs linearly from 2 mV to 2 + 0.5 x 3599/3600 x 2 mV: mean 2.49986, end 2.99972 mV
    assert table["plate_overpotential_mV"].tolist() == pytest.approx([2.0 + 0.5 * 2 * 3599 / 7200] * 2)
    assert table["strip_end_mV"].tolist() == pytest.approx([2 * (1 + 0.5 * 3599 / 3600)] * 2)


def test_an_unfinished_cycle_has_no_strip_figures():
    t, i, v, step, cycle = synthetic(cycles=1)
    table = plate_strip_table(t[:3600], i[:3600], v[:3600], step[:3600], cycle[:3600])
    assert len(table) == 1 and np.isnan(table["strip_mAh"].iloc[0])


def test_empty_input_gives_an_empty_table():
    empty = np.zeros(0)
    assert plate_strip_table(empty, empty, empty, empty.astype(int), empty.astype(int)).empty
