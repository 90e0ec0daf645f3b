"""Level of detail for long live traces: a min/max pyramid per channel, extended as
samples arrive, from which a redraw takes only the blocks the view needs (one to four
per pixel of width). A frame then costs what the screen shows, not what the run holds.

Plain numpy, no Qt: the monitor owns one `MinMaxPyramid` per live buffer and asks it
for an envelope of each channel on every frame. Level 1 summarises `BASE` samples per
block; each higher level summarises `FANOUT` blocks of the level below. Samples are
never modified once recorded (LiveBuffer's contract), so complete blocks are final
and only new ones are ever computed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BASE = 16        # samples per level-1 block
FANOUT = 4       # level-(L-1) blocks per level-L block
RAW_FACTOR = BASE  # raw samples while the view holds at most this many per pixel (level 1 gives >= 1 block a pixel beyond)


class _Grow:
    """A 1-D float array that grows by doubling; `view()` is the filled part."""

    def __init__(self, capacity: int = 256):
        self._a = np.empty(capacity)
        self.n = 0

    def extend(self, values: np.ndarray) -> None:
        need = self.n + values.size
        if need > self._a.size:
            grown = np.empty(max(need, 2 * self._a.size))
            grown[: self.n] = self._a[: self.n]
            self._a = grown
        self._a[self.n : need] = values
        self.n = need

    def view(self) -> np.ndarray:
        return self._a[: self.n]


@dataclass(frozen=True)
class Window:
    """Which samples a view needs and at which level: level 0 means raw samples
    [i0, i1); level L >= 1 means blocks [b0, b1) of that level plus the raw tail
    [tail, i1) that no complete block of the level covers yet."""
    level: int
    i0: int
    i1: int
    b0: int = 0
    b1: int = 0
    tail: int = 0

    @property
    def block_size(self) -> int:
        return BASE * FANOUT ** (self.level - 1) if self.level else 1


class MinMaxPyramid:
    """Min/max pyramids of `channels` (fields of the sample records) over time `t`."""

    def __init__(self, channels: Sequence[str], time_field: str = "t"):
        self.channels = tuple(channels)
        self.time_field = time_field
        self._starts = _Grow()     # time of the first sample of every level-1 block (sorted)
        # _levels[L-1][channel] = (min, max) of the level-L blocks
        self._levels: list[dict[str, tuple[_Grow, _Grow]]] = []

    @property
    def indexed(self) -> int:
        """Raw samples covered by complete level-1 blocks."""
        return self._starts.n * BASE

    @property
    def depth(self) -> int:
        return len(self._levels)

    def blocks(self, level: int) -> int:
        return self._levels[level - 1][self.channels[0]][0].n if level <= self.depth else 0

    def extend(self, data: np.ndarray) -> None:
        """Index the samples of `data` (all samples so far, a prefix-stable record
        array) that complete new blocks. Cost: proportional to the new samples."""
        n_blocks = data.size // BASE
        first = self._starts.n
        if n_blocks <= first:
            return
        fresh = data[first * BASE : n_blocks * BASE]
        self._starts.extend(fresh[self.time_field][::BASE])
        below = {}
        for name in self.channels:
            rows = fresh[name].reshape(-1, BASE)
            # fmin/fmax skip NaN (a channel not measured for a while) without warnings;
            # a block with no finite sample stays NaN and breaks the drawn line there.
            below[name] = (np.fmin.reduce(rows, axis=1), np.fmax.reduce(rows, axis=1))
        self._append_level(1, below)
        level = 1
        while True:
            lower = self._levels[level - 1]
            have = lower[self.channels[0]][0].n
            done = self.blocks(level + 1) * FANOUT
            if have - done < FANOUT:
                break
            stop = done + (have - done) // FANOUT * FANOUT
            above = {}
            for name in self.channels:
                lo, hi = lower[name]
                above[name] = (np.fmin.reduce(lo.view()[done:stop].reshape(-1, FANOUT), axis=1),
                               np.fmax.reduce(hi.view()[done:stop].reshape(-1, FANOUT), axis=1))
            self._append_level(level + 1, above)
            level += 1

    def _append_level(self, level: int, values: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        if level > self.depth:
            self._levels.append({name: (_Grow(), _Grow()) for name in self.channels})
        for name, (lo, hi) in values.items():
            mins, maxs = self._levels[level - 1][name]
            mins.extend(lo)
            maxs.extend(hi)

    def window(self, data: np.ndarray, t0: float, t1: float, width_px: int) -> Window:
        """The samples (or blocks) needed to draw [t0, t1] (in the time field's unit)
        `width_px` pixels wide, with one sample either side so lines reach the edges."""
        n = data.size
        width_px = max(int(width_px), 1)
        starts = self._starts.view()
        if starts.size == 0:
            return Window(0, 0, n)
        # Block-granular bounds: a few samples beyond the view are drawn and clipped.
        k0 = max(int(np.searchsorted(starts, t0, side="right")) - 1, 0)
        k1 = int(np.searchsorted(starts, t1, side="right"))
        i0 = k0 * BASE
        i1 = n if k1 >= starts.size else min(k1 * BASE + 1, n)
        span = i1 - i0
        if span <= RAW_FACTOR * width_px:
            return Window(0, i0, i1)
        level = 1
        while level < self.depth and span // (BASE * FANOUT ** level) >= width_px:
            level += 1
        size = BASE * FANOUT ** (level - 1)
        available = self.blocks(level)
        b0 = i0 // size
        b1 = min(-(-i1 // size), available)
        tail = max(b1 * size, i0)
        return Window(level, i0, i1, b0, max(b1, b0), tail)

    def nearest(self, data: np.ndarray, t: float) -> int:
        """Index of the sample nearest to time `t`: a search over the block starts,
        then over the few raw samples of two blocks (never a copy of the whole run)."""
        if data.size == 0:
            raise ValueError("no samples")
        starts = self._starts.view()
        k = max(int(np.searchsorted(starts, t, side="right")) - 1, 0)
        lo, hi = k * BASE, data.size if k + 1 >= starts.size else (k + 2) * BASE
        times = data[self.time_field][lo:hi]
        j = int(np.searchsorted(times, t))
        candidates = [c for c in (j - 1, j) if 0 <= c < times.size]
        return lo + min(candidates, key=lambda c: abs(times[c] - t))

    def envelope(self, data: np.ndarray, window: Window, channel: str) -> tuple[np.ndarray, np.ndarray]:
        """(time, value) to draw `channel` over `window`: raw samples at level 0, else a
        min and a max point per block at the block's start time (peak style)."""
        if window.level == 0:
            part = data[window.i0 : window.i1]
            return part[self.time_field].copy(), part[channel].copy()
        stride = FANOUT ** (window.level - 1)
        starts = self._starts.view()[window.b0 * stride : window.b1 * stride : stride]
        lo, hi = self._levels[window.level - 1][channel]
        mins, maxs = lo.view()[window.b0 : window.b1], hi.view()[window.b0 : window.b1]
        if window.tail < window.i1:
            # The newest samples, not yet a complete block of this level: one more pair.
            rest = data[window.tail : window.i1]
            values = rest[channel]
            starts = np.append(starts, rest[self.time_field][0])
            mins = np.append(mins, np.fmin.reduce(values))
            maxs = np.append(maxs, np.fmax.reduce(values))
        return np.repeat(starts, 2), np.column_stack((mins, maxs)).ravel()
