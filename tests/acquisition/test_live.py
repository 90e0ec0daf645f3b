"""The live buffer (plain numpy): what a frame draws must be exactly the extremes of the
samples it stands for, however the samples arrived and however much of the run the
buffer has let go of; about as many points as the view has pixels; memory that stops
growing; per-cycle figures as they accumulate."""
from __future__ import annotations

import numpy as np
import pytest

from acquisition.cycle_tally import CycleTally
from acquisition.live import LiveBuffer
from acquisition.lod import BASE, FANOUT, KEEP_BLOCKS, MinMaxPyramid
from notebook.samples import empty_samples


def record(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = empty_samples(n)
    data["t"] = np.cumsum(rng.uniform(0.5, 1.5, n))
    data["voltage"] = np.sin(data["t"] / 500.0) + rng.normal(0, 0.1, n)
    data["ref"][n // 3 : n // 2] = rng.normal(0, 1e-3, n // 2 - n // 3)   # measured only for a while
    return data


def fed(data: np.ndarray, seed: int = 1, **sizes) -> LiveBuffer:
    """A buffer given `data` in uneven batches, as an engine gives it."""
    buffer = LiveBuffer(**sizes)
    rng = np.random.default_rng(seed)
    n = 0
    while n < data.size:
        step = int(rng.integers(1, 5000))
        buffer.append(data[n : n + step])
        n += step
    return buffer


def test_growing_in_uneven_batches_gives_the_same_pyramid_as_one_go():
    data = record(200_000)
    whole = MinMaxPyramid(["voltage", "ref"])
    whole.extend(data)
    grown = MinMaxPyramid(["voltage", "ref"])
    rng = np.random.default_rng(1)
    n = 0
    while n < data.size:
        step = int(rng.integers(1, 5000))
        grown.extend(data[n : n + step])
        n += step
    assert grown.depth == whole.depth >= 6
    for a, b in zip(whole._levels, grown._levels):
        # when old blocks were let go of depends on the batches; what both keep is equal
        assert a.count == b.count and min(a.n, b.n) >= min(a.count, KEEP_BLOCKS)
        start = max(a.first, b.first)
        np.testing.assert_array_equal(a.rows(start, a.count), b.rows(start, b.count))
    assert whole.indexed == data.size // BASE * BASE


def check_window(data: np.ndarray, buffer: LiveBuffer, t0: float, t1: float, width: int):
    view = buffer.snapshot()
    window = view.window(t0, t1, width)
    t = data["t"]
    assert t[window.i0] <= max(t0, t[0]) and (window.i1 == data.size or t[window.i1 - 1] >= t1)
    for name in ("voltage", "ref"):
        x, y = view.envelope(window, name)
        if window.level == 0:
            np.testing.assert_array_equal(y, data[name][window.i0 : window.i1])
            continue
        size = window.block_size
        bounds = sorted({*range(window.b0 * size, window.b1 * size + 1, size), window.tail_end} - {None})
        if window.tail >= window.tail_end:
            bounds = bounds[:-1] if bounds[-1] != window.b1 * size else bounds
        assert x.size == 2 * (len(bounds) - 1)
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            block = data[name][a:b]
            assert x[2 * k] == t[a]
            if np.isfinite(block).any():
                assert y[2 * k] == np.nanmin(block) and y[2 * k + 1] == np.nanmax(block)
            else:
                assert np.isnan(y[2 * k]) and np.isnan(y[2 * k + 1])
    return window


@pytest.mark.parametrize("t0, t1, width", [(0.0, 1e9, 800), (5e4, 6e4, 800), (7e4, 7.05e4, 300), (1e5, 2e5, 1),
                                           (1.9e5, 1e9, 500)])
def test_each_drawn_block_holds_the_extremes_of_its_samples(t0, t1, width):
    data = record(200_017)            # not a whole number of blocks: a raw tail remains
    check_window(data, fed(data), t0, t1, width)


@pytest.mark.parametrize("t0, t1, width", [(0.0, 1e9, 800), (5e4, 6e4, 800), (7e4, 7.05e4, 300), (1e5, 2e5, 1),
                                           (1.9e5, 1e9, 500), (2.0e5, 2.02e5, 800), (1e3, 3e3, 1000)])
def test_after_letting_go_of_old_samples_every_drawn_block_is_still_exact(t0, t1, width):
    """A small buffer: raw samples and the fine levels hold only the end of the run, so
    older views come from coarser levels (marked coarse) and are still exact extremes."""
    data = record(300_001)
    buffer = fed(data, keep=5_000, keep_blocks=64)
    window = check_window(data, buffer, t0, t1, width)
    if t1 < 1e5:
        assert window.coarse and window.level >= 2


def test_the_drawn_points_follow_the_width_not_the_history():
    data = record(1_000_000)
    view = fed(data).snapshot()
    window = view.window(0.0, data["t"][-1], 1000)
    x, y = view.envelope(window, "voltage")
    assert 2 * 1000 <= x.size <= 2 * (FANOUT * 1000 + 2)
    assert y.max() == data["voltage"].max() and y.min() == data["voltage"].min()


def test_a_zoom_to_a_few_recent_samples_draws_them_raw():
    data = record(100_000)
    view = fed(data).snapshot()
    window = view.window(data["t"][95_000], data["t"][95_100], 800)
    assert window.level == 0 and not window.coarse
    x, y = view.envelope(window, "voltage")
    assert x[0] <= data["t"][95_000] and x[-1] >= data["t"][95_100]


def test_memory_stops_growing_however_long_the_run():
    data = record(4_000_000)
    small = LiveBuffer(keep_blocks=256)        # levels that fill up within this run
    default = LiveBuffer()
    sizes = []
    for start in range(0, data.size, 20_000):
        small.append(data[start : start + 20_000])
        default.append(data[start : start + 20_000])
        sizes.append(small.nbytes)
    # flat once full: the second half of the run adds nothing (the top levels' few rows aside)
    assert max(sizes[len(sizes) // 2 :]) <= max(sizes[: len(sizes) // 2]) + 20_000
    # the raw samples alone would be 4 M x 56 B = 224 MB; the default buffer holds 2 x 16 k
    # raw samples (1.8 MB) and at most 1.25 x 8192 rows of 88 B (0.9 MB) a level
    assert default.nbytes < 1.9e6 + default._pyramid.depth * 0.95e6
    first, recent = default.recent()
    assert first + recent.size == default.total == data.size and recent.size >= default.keep
    assert recent.tobytes() == data[first:].tobytes()     # (NaN != NaN: compare the bytes)


@pytest.mark.parametrize("n", [5, 1000, 100_003])
def test_nearest_sample_to_a_time(n):
    data = record(n)
    view = fed(data, keep=200_000).snapshot()       # every sample still in memory
    t = data["t"]
    for query in (-5.0, t[0], t[n // 2] + 0.1, t[-1] - 0.2, t[-1] + 100):
        assert view.nearest(query) == int(np.argmin(np.abs(t - query)))


def test_an_old_time_is_located_for_reading_back():
    data = record(100_000)
    view = fed(data, keep=2_000, keep_blocks=64).snapshot()
    assert view.nearest(data["t"][10]) is None
    start, stop = view.locate(data["t"][50_000])
    assert start <= 50_000 < stop and stop - start <= 64 * BASE * FANOUT
    assert view.t_first == data["t"][0]


def test_which_optional_channels_are_measured_and_the_last_sample():
    data = record(10_000)
    buffer = LiveBuffer()
    buffer.append(data[:3000])
    assert buffer.measured == {"voltage", "current"} and buffer.last().tobytes() == data[2999].tobytes()
    buffer.append(data[3000:])
    assert buffer.measured == {"voltage", "current", "ref"}


def test_cycle_tally_counts_charge_each_way_per_cycle():
    n = 7200
    data = empty_samples(n)
    data["t"] = np.arange(1, n + 1, dtype=float)                    # 1 s samples, 2 h
    data["current"] = np.where(np.arange(n) % 3600 < 1800, 1e-3, -0.9e-3)
    data["voltage"] = 3.7
    data["cycle"] = np.arange(n) // 3600 + 1
    tally = CycleTally()
    for a, b in ((0, 1000), (1000, 5000), (5000, n)):
        tally.extend(data[a:b])
    first = tally.figures(1)
    assert first.charge_mAh == pytest.approx(0.5) and first.discharge_mAh == pytest.approx(0.45)
    assert first.ce == pytest.approx(0.9) and first.energy_in_mWh == pytest.approx(0.5 * 3.7)
    assert tally.latest_complete(2).cycle == 1
    assert tally.latest_complete(3).cycle == 2
    assert tally.latest_complete(1) is None
