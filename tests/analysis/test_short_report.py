"""Short analysis of a finished run replays the live detector over the record."""
from __future__ import annotations

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


from analysis.shorts import SoftShortDetector, SoftShortSettings  # noqa: E402
from test_shorts import charge_curve  # noqa: E402


def test_a_full_cell_is_replayed_with_the_soft_short_detector():
    t, i, v = charge_curve(stall_at=1000)          # 0.16 mA charge whose voltage stops rising at sample 1000
    report = short_report(t, i, v, area_cm2=2.0, detectors=[SoftShortDetector(SoftShortSettings(capacity_mAh=1.6))])
    assert report.detectors == ["soft_short"]
    (event,) = report.events
    assert event["kind"] == "soft_short" and event["evidence"]["criterion"] in ("fluctuation", "no_rise")
    # the onset is the start of the 3 % window (0.048 mAh = 108 samples of 10 s) that failed to rise:
    # within a window of the stall; the charge is 0.16 mA x 10 s per sample before it
    assert 1000 - 108 <= event["sample_index"] <= 1000 + 108
    assert report.charge_before_short_mAh == pytest.approx(0.16 * 10 * event["sample_index"] / 3600)
    assert report.areal_capacity_mAh_cm2 == pytest.approx(report.charge_before_short_mAh / 2.0)
    # the hard-short detector alone does not see a soft short
    assert short_report(t, i, v).events == []


def test_no_detector_means_nothing_replayed_and_progress_is_reported():
    t, i, v = plate_strip(cycles=1)
    report = short_report(t, i, v, detectors=[])
    assert report.events == [] and report.detectors == [] and "no detector applies" in report.notes[0]
    seen = []
    short_report(t, i, v, batch=100, progress=seen.append)
    # 7200 samples in batches of 100: a report every 50 batches, at samples 0 and 5000
    assert seen == [0.0, 5000 / 7200]
