"""The baseline of benchmarks/bench_cyclers.py is what it claims: one request per point
and one status request per channel (counted by the emulator itself), giving the same
points and states as the batched client it is compared with."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from cycler_fixtures import neware

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_cyclers import PerPoint  # noqa: E402

from instruments.cyclers.neware import PAGE, NewareClient  # noqa: E402

POINTS = 2500          # frozen at 25 000 s of test time, a point every 10 s


def test_per_point_baseline_downloads_one_point_per_request_and_the_same_points():
    with neware(cells="full-agc,sym-agc", frozen_at=POINTS * 10.0) as server:
        counted = server.emulator.requests
        batched = NewareClient("127.0.0.1", server.port, timeout_s=5.0)
        naive = PerPoint(NewareClient("127.0.0.1", server.port, timeout_s=5.0))
        try:
            batched.connect()
            key = batched.channels()[0].key
            naive.connect()
            naive.channels()

            before = counted["download"]
            ours = np.concatenate(list(batched.history(key, 0)))
            assert counted["download"] - before == POINTS // PAGE + 1      # 1000, 1000, 500: a short page ends it

            before = counted["download"]
            theirs = np.concatenate(list(naive.history(key, 100)))
            assert counted["download"] - before == POINTS - 100 + 1       # one per point, then the empty answer
            assert ours.size == POINTS and theirs.size == POINTS - 100
            for field in theirs.dtype.names:      # field by field: NaN temperatures compare equal there
                np.testing.assert_array_equal(theirs[field], ours[100:][field])
            np.testing.assert_array_equal(ours["point"], np.arange(1, POINTS + 1))   # the emulator's own index
        finally:
            batched.close()
            naive.close()


def test_per_point_baseline_asks_the_status_one_channel_per_request():
    with neware(cells="full-agc,sym-agc,full-bare", frozen_at=100.0) as server:
        counted = server.emulator.requests
        batched = NewareClient("127.0.0.1", server.port, timeout_s=5.0)
        naive = PerPoint(batched)
        try:
            batched.connect()
            keys = [info.key for info in batched.channels()]
            before = counted["getchlstatus"]
            assert naive.states(keys) == batched.states(keys) == {key: "running" for key in keys}
            assert counted["getchlstatus"] - before == len(keys) + 1       # three for the baseline, one batched
        finally:
            batched.close()
