"""Short analysis of a finished run replays the live detector over the record."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.short_report import short_report
from test_shorts import plate_strip


def test_time_to_short_and_areal_capacity_before_it():
    t, i, v = plate_strip(short_at=20000)
    report = short_report(t, i, v, area_cm2=0.5)
    assert report.time_to_short_s == t[20000]
    # 0.16 mA for the 20000 one-second samples before the onset
    assert report.charge_before_short_mAh == pytest.approx(0.16 * 20000 / 3600)
    assert report.areal_capacity_mAh_cm2 == pytest.approx(0.16 * 20000 / 3600 / 0.5)
    event = report.events[0]
    assert event["kind"] == "hard_short" and event["sample_index"] == 20000
    assert event["evidence"]["ratio"] == pytest.approx(0.3 / 16.0, rel=0.3)
    assert report.to_dict()["events"][0]["t_s"] == t[20000]


def test_clean_run_has_no_events():
    t, i, v = plate_strip(cycles=3)
    report = short_report(t, i, v)
    assert report.events == [] and report.time_to_short_s is None and report.areal_capacity_mAh_cm2 is None
    assert report.charge_before_short_mAh == pytest.approx(0.16 * t.size / 3600)
    with pytest.raises(ValueError, match="area_cm2"):
        short_report(t, i, v, area_cm2=-1)
