"""The monitor's min/max pyramid and per-cycle tally (plain numpy): what a frame draws
must be exactly the extremes of the samples it stands for, however the samples
arrived, and stay about as many points as the view has pixels."""
from __future__ import annotations

import numpy as np
import pytest

from gui.monitor_cycles import CycleTally
from gui.monitor_lod import BASE, FANOUT, MinMaxPyramid
from notebook.samples import empty_samples


def record(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = empty_samples(n)
    data["t"] = np.cumsum(rng.uniform(0.5, 1.5, n))
    data["voltage"] = np.sin(data["t"] / 500.0) + rng.normal(0, 0.1, n)
    data["ref"][n // 3 : n // 2] = rng.normal(0, 1e-3, n // 2 - n // 3)   # measured only for a while
    return data


def test_growing_in_uneven_batches_gives_the_same_pyramid_as_one_go():
    data = record(200_000)
    whole = MinMaxPyramid(["voltage", "ref"])
    whole.extend(data)
    grown = MinMaxPyramid(["voltage", "ref"])
    rng = np.random.default_rng(1)
    n = 0
    while n < data.size:
        n = min(data.size, n + int(rng.integers(1, 5000)))
        grown.extend(data[:n])
    assert grown.depth == whole.depth >= 6
    for level in range(1, whole.depth + 1):
        for name in ("voltage", "ref"):
            for a, b in zip(whole._levels[level - 1][name], grown._levels[level - 1][name]):
                np.testing.assert_array_equal(a.view(), b.view())
    assert whole.indexed == data.size // BASE * BASE


@pytest.mark.parametrize("t0, t1, width", [(0.0, 1e9, 800), (5e4, 6e4, 800), (7e4, 7.05e4, 300), (1e5, 2e5, 1)])
def test_each_drawn_block_holds_the_extremes_of_its_samples(t0, t1, width):
    data = record(200_017)            # not a whole number of blocks: a raw tail remains
    pyramid = MinMaxPyramid(["voltage", "ref"])
    pyramid.extend(data)
    window = pyramid.window(data, t0, t1, width)
    t = data["t"]
    assert t[window.i0] <= max(t0, t[0]) and (window.i1 == data.size or t[window.i1 - 1] >= t1)
    for name in ("voltage", "ref"):
        x, y = pyramid.envelope(data, window, name)
        if window.level == 0:
            np.testing.assert_array_equal(y, data[name][window.i0 : window.i1])
            continue
        assert x.size <= 2 * (FANOUT * width + 2)
        size = window.block_size
        bounds = [*range(window.b0 * size, window.tail, size), window.tail, window.i1]
        bounds = sorted(set(bounds))
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            block = data[name][a:b]
            assert x[2 * k] == t[a]
            if np.isfinite(block).any():
                assert y[2 * k] == np.nanmin(block) and y[2 * k + 1] == np.nanmax(block)
            else:
                assert np.isnan(y[2 * k]) and np.isnan(y[2 * k + 1])


def test_the_drawn_points_follow_the_width_not_the_history():
    data = record(1_000_000)
    pyramid = MinMaxPyramid(["voltage"])
    pyramid.extend(data)
    window = pyramid.window(data, 0.0, data["t"][-1], 1000)
    x, y = pyramid.envelope(data, window, "voltage")
    assert 2 * 1000 <= x.size <= 2 * (FANOUT * 1000 + 2)
    assert y.max() == data["voltage"].max() and y.min() == data["voltage"].min()


def test_a_zoom_to_a_few_samples_draws_them_raw():
    data = record(100_000)
    pyramid = MinMaxPyramid(["voltage"])
    pyramid.extend(data)
    window = pyramid.window(data, data["t"][5000], data["t"][5100], 800)
    assert window.level == 0
    x, y = pyramid.envelope(data, window, "voltage")
    assert x[0] <= data["t"][5000] and x[-1] >= data["t"][5100]


def test_cycle_tally_counts_charge_each_way_per_cycle():
    n = 7200
    data = empty_samples(n)
    data["t"] = np.arange(1, n + 1, dtype=float)                    # 1 s samples, 2 h
    data["current"] = np.where(np.arange(n) % 3600 < 1800, 1e-3, -0.9e-3)
    data["voltage"] = 3.7
    data["cycle"] = np.arange(n) // 3600 + 1
    tally = CycleTally()
    tally.extend(data[:1000])
    tally.extend(data[:5000])
    tally.extend(data)
    first = tally.figures(1)
    assert first.charge_mAh == pytest.approx(0.5) and first.discharge_mAh == pytest.approx(0.45)
    assert first.ce == pytest.approx(0.9) and first.energy_in_mWh == pytest.approx(0.5 * 3.7)
    assert tally.latest_complete(2).cycle == 1
    assert tally.latest_complete(3).cycle == 2
    assert tally.latest_complete(1) is None


@pytest.mark.parametrize("n", [5, 1000, 100_003])
def test_nearest_sample_to_a_time(n):
    data = record(n)
    pyramid = MinMaxPyramid(["voltage"])
    pyramid.extend(data)
    t = data["t"]
    for query in (-5.0, t[0], t[n // 2] + 0.1, t[-1] - 0.2, t[-1] + 100):
        assert pyramid.nearest(data, query) == int(np.argmin(np.abs(t - query)))
