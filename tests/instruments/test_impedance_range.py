"""What each analyser says it can do, and a requested sweep clipped to it: the points per
decade kept (counted by hand below), the direction kept, one line saying what changed,
and a refusal for what clipping cannot fix."""
from __future__ import annotations

import math

import pytest

from instruments.errors import LimitError
from instruments.hioki_im3590 import HiokiIM3590
from instruments.impedance_range import GALVANOSTATIC, clip_notes, hz, plan_sweep
from instruments.keysight_e4990a import KeysightE4990A
from instruments.solartron_1260 import Solartron1260

E4990A, IM3590, S1260 = KeysightE4990A.CAPABILITY, HiokiIM3590.CAPABILITY, Solartron1260.CAPABILITY


def test_each_driver_states_its_span():
    assert (E4990A.f_min_hz, E4990A.f_max_hz) == (20.0, 120e6)          # the E4990A driver's own FREQ_RANGE_HZ
    assert (IM3590.f_min_hz, IM3590.f_max_hz) == (1e-3, 200e3)
    assert (S1260.f_min_hz, S1260.f_max_hz) == (10e-6, 32e6)
    assert E4990A.amplitude_v == (5e-3, 1.0) and E4990A.bias_v == (-40.0, 40.0) and E4990A.max_points == 1601


def test_the_paper_range_on_the_im3590_keeps_ten_points_a_decade():
    # 1 MHz..0.1 Hz in 71 points = 10 a decade; 200 kHz..0.1 Hz is log10(2e6) = 6.301 decades
    # -> round(63.01) + 1 = 64 points, still from high to low.
    plan = plan_sweep(IM3590, 1e6, 0.1, 71, 0.01)
    assert (plan.f_start_hz, plan.f_stop_hz, plan.points) == (200e3, 0.1, 64)
    assert plan.note == ("the Hioki IM3590 covers 1 mHz to 200 kHz: the sweep asked, 1 MHz to 0.1 Hz in 71 points, "
                         "was clipped to 200 kHz to 0.1 Hz, 64 points")


def test_the_paper_range_on_the_e4990a_stops_at_20_hz():
    # log10(1e6 / 20) = 4.699 decades x 10 = 46.99 -> 47 + 1 = 48 points; upward sweeps stay upward
    plan = plan_sweep(E4990A, 0.1, 1e6, 71, 0.01)
    assert (plan.f_start_hz, plan.f_stop_hz, plan.points) == (20.0, 1e6, 48)
    assert plan.clipped and "20 Hz to 120 MHz" in plan.note


def test_a_sweep_inside_the_span_is_sent_as_asked():
    plan = plan_sweep(S1260, 1e6, 0.1, 71, 0.01)
    assert (plan.f_start_hz, plan.f_stop_hz, plan.points, plan.note) == (1e6, 0.1, 71, None)


def test_too_many_points_are_cut_to_the_analyser_most():
    plan = plan_sweep(E4990A, 1e6, 100.0, 5000, 0.01)
    assert plan.points == 1601 and "cut to 1601 points" in plan.note


@pytest.mark.parametrize("capability, args, message", [
    (E4990A, (10.0, 0.1, 21, 0.01), "covers 20 Hz to 120 MHz: none of the sweep asked (10 Hz to 0.1 Hz)"),
    (IM3590, (1e5, 1.0, 21, 10.0), "amplitude range is 0.005..5 V rms; 10 V was asked"),
    (IM3590, (1e5, 1.0, 21, 0.01, 3.7), "DC bias range is -2.5..2.5 V; 3.7 V was asked"),
    (E4990A, (1e5, 100.0, 21, 0.01, 0.0, GALVANOSTATIC), "cannot measure galvanostatically"),
    (S1260, (1e5, 1e5, 21, 0.01), "two different positive frequencies"),
])
def test_what_clipping_cannot_fix_is_refused_in_one_line(capability, args, message):
    with pytest.raises(LimitError) as err:
        plan_sweep(capability, *args)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_galvanostatic_drive_is_checked_in_amps():
    plan = plan_sweep(S1260, 1e5, 1.0, 51, 1e-4, 0.0, GALVANOSTATIC)
    assert plan.points == 51
    with pytest.raises(LimitError, match="0..0.06 A rms; 0.1 A"):
        plan_sweep(S1260, 1e5, 1.0, 51, 0.1, 0.0, GALVANOSTATIC)


def test_frequencies_read_as_people_write_them():
    assert [hz(v) for v in (10e-6, 1e-3, 0.05, 0.1, 20.0, 200e3, 32e6)] == [
        "10 µHz", "1 mHz", "50 mHz", "0.1 Hz", "20 Hz", "200 kHz", "32 MHz"]
    assert math.isclose(plan_sweep(IM3590, 200e3, 1e-3, 81, 0.01).points, 81)   # exactly its span: as asked


def test_a_sweep_biased_at_rest_is_refused_only_when_the_whole_rest_window_is_beyond_the_bias():
    from acquisition.protocol import CurrentStep, EisStep
    im3590 = HiokiIM3590.CAPABILITY          # DC bias -2.5..2.5 V
    sweep = EisStep("eis", 100e3, 1.0, 30, 0.01, cycle=1, bias_at_rest=True)

    def cycled(v_min, v_max):
        return [CurrentStep("charge", 1e-3, 3600, 1, 10, v_max=v_max), CurrentStep("discharge", -1e-3, 3600, 1, 10,
                                                                                  v_min=v_min), sweep]
    with pytest.raises(LimitError, match=r"step 2 \(eis\): .* between 2\.6 and 4\.25 V .* -2\.5\.\.2\.5 V"):
        clip_notes(im3590, cycled(2.6, 4.25))
    assert clip_notes(im3590, cycled(-0.5, 0.5)) == []          # Li | Li: rests near 0 V
    assert clip_notes(im3590, cycled(2.0, 4.25)) == []          # may rest within reach: measured, or skipped then
    assert clip_notes(im3590, [sweep]) == []                    # no cut-offs before it: judged when it runs
    galvanostatic = EisStep("eis", 100e3, 1.0, 30, 0.0, cycle=1, mode="galvanostatic", amplitude_a=1e-4,
                            bias_at_rest=True)
    assert clip_notes(im3590, cycled(2.6, 4.25)[:2] + [galvanostatic]) == []
    assert clip_notes(Solartron1260.CAPABILITY, cycled(2.6, 4.25)) == []     # its bias reaches +-40.95 V
