"""Level of detail for live traces, in memory that stops growing: a min/max pyramid of
a run's channels, extended as samples arrive, from which a frame takes only the blocks
its view needs (one to four per pixel of width), so a frame costs what the screen shows,
not what the run holds.

Level 1 summarises `BASE` samples per block; each higher level summarises `FANOUT`
blocks of the level below. Each level keeps only its newest `keep_blocks` to
1.25 x `keep_blocks` blocks: what it forgets is still summarised by the levels above, so
the whole run stays drawable (coarser where it is old) while memory is bounded by
about depth x keep_blocks rows, whatever the run's length. Samples are never modified
once recorded, so complete blocks are final and only new ones are ever computed.

Plain numpy, no Qt. The pyramid is extended on the acquisition thread (LiveBuffer);
a frame reads a `LodView`, a snapshot made of views of arrays the pyramid never
writes into again, so it needs no lock.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BASE = 16          # samples per level-1 block
FANOUT = 4         # level-(L-1) blocks per level-L block
RAW_FACTOR = BASE  # raw samples while the view holds at most this many per pixel
# Newest blocks a level keeps (up to a quarter more before forgetting: 0.9 MB). The level a
# whole-run view draws from has 1-4 blocks a pixel of the run, so it is never forgotten at
# widths up to 2048 px: the whole run is always drawn at full detail.
KEEP_BLOCKS = 8192


class _Rows:
    """A 2-D float array growing at the end and forgetting at the front. Row i of the
    whole history is at `i - first`; forgetting copies into a new array, so views
    handed out earlier stay valid."""

    def __init__(self, width: int):
        self._a = np.empty((64, width))
        self.first = 0        # history index of the oldest row kept
        self.n = 0            # rows kept

    @property
    def count(self) -> int:
        """Rows ever added."""
        return self.first + self.n

    def extend(self, rows: np.ndarray) -> None:
        need = self.n + rows.shape[0]
        if need > self._a.shape[0]:
            grown = np.empty((max(need, 2 * self._a.shape[0]), self._a.shape[1]))
            grown[: self.n] = self._a[: self.n]
            self._a = grown
        self._a[self.n : need] = rows
        self.n = need

    def forget_before(self, index: int) -> None:
        drop = index - self.first
        if drop <= 0:
            return
        kept = self._a[drop : self.n].copy()
        self._a = np.empty((kept.shape[0] + max(kept.shape[0] // 4, 64), self._a.shape[1]))
        self._a[: kept.shape[0]] = kept
        self.first, self.n = index, kept.shape[0]

    @property
    def nbytes(self) -> int:
        return self._a.nbytes

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) of the history (all must still be kept)."""
        return self._a[start - self.first : stop - self.first]

    def view(self) -> np.ndarray:
        return self._a[: self.n]


class MinMaxPyramid:
    """Min/max pyramids of `channels` (fields of the sample records) over time. A level's
    rows are [block start time, min and max of each channel in turn]."""

    def __init__(self, channels: Sequence[str], time_field: str = "t", keep_blocks: int = KEEP_BLOCKS):
        if keep_blocks < FANOUT:
            raise ValueError(f"a level must keep at least {FANOUT} blocks, got {keep_blocks}")
        self.channels = tuple(channels)
        self.time_field = time_field
        self.keep_blocks = keep_blocks
        self._width = 1 + 2 * len(self.channels)
        self._pending = np.empty(0)     # the samples of the level-1 block not yet complete
        self._levels: list[_Rows] = []

    @property
    def depth(self) -> int:
        return len(self._levels)

    @property
    def indexed(self) -> int:
        """Samples covered by complete level-1 blocks."""
        return self._levels[0].count * BASE if self._levels else 0

    @property
    def nbytes(self) -> int:
        return sum(rows.nbytes for rows in self._levels) + self._pending.nbytes

    def extend(self, new: np.ndarray) -> None:
        """Index `new`, the samples that follow those given before. Cost: proportional
        to their number."""
        if self._pending.size:
            new = np.concatenate((self._pending, new))
        n_blocks = new.size // BASE
        self._pending = new[n_blocks * BASE :].copy()
        if n_blocks == 0:
            return
        fresh = new[: n_blocks * BASE]
        rows = np.empty((n_blocks, self._width))
        rows[:, 0] = fresh[self.time_field][::BASE]
        for j, name in enumerate(self.channels):
            values = fresh[name].reshape(-1, BASE)
            # fmin/fmax skip NaN (a channel not measured for a while) without warnings;
            # a block with no finite sample stays NaN and breaks the drawn line there.
            rows[:, 1 + 2 * j] = np.fmin.reduce(values, axis=1)
            rows[:, 2 + 2 * j] = np.fmax.reduce(values, axis=1)
        self._append(0, rows)
        level = 0
        while True:
            lower = self._levels[level]
            done = self._levels[level + 1].count * FANOUT if level + 1 < self.depth else 0
            if lower.count - done < FANOUT:
                break
            stop = done + (lower.count - done) // FANOUT * FANOUT
            groups = lower.rows(done, stop).reshape(-1, FANOUT, self._width)
            above = np.empty((groups.shape[0], self._width))
            above[:, 0] = groups[:, 0, 0]
            above[:, 1::2] = np.fmin.reduce(groups[:, :, 1::2], axis=1)
            above[:, 2::2] = np.fmax.reduce(groups[:, :, 2::2], axis=1)
            self._append(level + 1, above)
            level += 1
        # Forget the oldest blocks of every level but the top: the level above summarises
        # all but the last (< FANOUT) of them, and those are always among the newest kept.
        for rows in self._levels[:-1]:
            if rows.n > self.keep_blocks + self.keep_blocks // 4:
                rows.forget_before(rows.count - self.keep_blocks)

    def _append(self, level: int, rows: np.ndarray) -> None:
        if level == self.depth:
            self._levels.append(_Rows(self._width))
        self._levels[level].extend(rows)

    def view(self, raw: np.ndarray, raw_first: int, total: int) -> LodView:
        """A snapshot for drawing, with `raw`, the newest samples (from index `raw_first`
        of `total`), which must include every sample no complete level-1 block covers."""
        levels = tuple((rows.first, rows.view()) for rows in self._levels)
        return LodView(self.channels, self.time_field, levels, raw, raw_first, total)


def block_size(level: int) -> int:
    return BASE * FANOUT ** (level - 1) if level else 1


@dataclass(frozen=True)
class Window:
    """What a view draws. level 0: raw samples [i0, i1). level L >= 1: blocks [b0, b1) of
    that level, then one more min/max pair for [tail, tail_end), the newest samples no
    complete block of the level covers yet. `coarse`: the level is coarser than the view
    asked for, because the finer ones no longer hold that part of the run (the samples
    are in the notebook)."""
    level: int
    i0: int
    i1: int
    b0: int = 0
    b1: int = 0
    tail: int = 0
    tail_end: int = 0
    coarse: bool = False

    @property
    def block_size(self) -> int:
        return block_size(self.level)


@dataclass(frozen=True)
class LodView:
    """A pyramid and the newest raw samples as they were at one moment."""
    channels: tuple[str, ...]
    time_field: str
    levels: tuple[tuple[int, np.ndarray], ...]    # per level from 1: (first block kept, rows)
    raw: np.ndarray
    raw_first: int
    total: int

    def _count(self, level: int) -> int:
        first, rows = self.levels[level - 1]
        return first + rows.shape[0]

    def _finest_holding(self, t: float) -> tuple[int, int]:
        """(level, index at that level) of the finest unit starting at or before time t
        that is still kept: a raw sample, else a block; (top level, 0) before the run."""
        times = self.raw[self.time_field]
        if times.size and (times[0] <= t or self.raw_first == 0):
            return 0, self.raw_first + max(int(np.searchsorted(times, t, side="right")) - 1, 0)
        for level, (first, rows) in enumerate(self.levels, start=1):
            if rows.shape[0] and rows[0, 0] <= t:
                return level, first + int(np.searchsorted(rows[:, 0], t, side="right")) - 1
        return self.depth, 0

    @property
    def depth(self) -> int:
        return len(self.levels)

    @property
    def t_first(self) -> float:
        """Time of the run's first sample (the top level never forgets its first block)."""
        if self.levels:
            return float(self.levels[-1][1][0, 0])
        return float(self.raw[self.time_field][0])

    def locate(self, t: float) -> tuple[int, int]:
        """Samples [start, stop) of the finest unit kept in memory that holds time t."""
        level, k = self._finest_holding(t)
        size = block_size(level)
        return k * size, min((k + 1) * size, self.total)

    def window(self, t0: float, t1: float, width_px: int) -> Window:
        """The samples (or blocks) needed to draw [t0, t1] (in the time field's unit)
        `width_px` pixels wide, with one sample either side so lines reach the edges."""
        width_px = max(int(width_px), 1)
        if self.total == 0 or not self.levels:
            return Window(0, self.raw_first, self.total)
        i0 = self.locate(t0)[0]
        level1, k1 = self._finest_holding(t1)
        # Block-granular bounds: a few samples beyond the view are drawn and clipped.
        i1 = min((k1 + 1) * block_size(level1) + 1, self.total)
        span = i1 - i0
        wanted = 0
        if span > RAW_FACTOR * width_px:
            wanted = 1
            while wanted < self.depth and span // (BASE * FANOUT ** wanted) >= width_px:
                wanted += 1
        level = wanted
        if level == 0 and i0 < self.raw_first:
            level = 1
        while level and level < self.depth and i0 // block_size(level) < self.levels[level - 1][0]:
            level += 1
        if level == 0:
            return Window(0, i0, i1)
        size = block_size(level)
        count = self._count(level)
        b0 = min(i0 // size, count)
        b1 = max(min(-(-i1 // size), count), b0)
        tail = max(b1 * size, i0)
        tail_end = i1 if tail >= self.raw_first else max((stop for _, stop, _ in self._tail_pieces(level, tail, i1)),
                                                         default=tail)
        return Window(level, i0, i1, b0, b1, tail, tail_end, coarse=level > wanted)

    def _tail_pieces(self, level: int, tail: int, i1: int):
        """(start, stop, values) of the units covering [tail, i1) below `level`, coarse to
        fine: rows of lower levels' blocks, then raw samples. The newest blocks of every
        level are always kept, so these are in memory."""
        pos = tail
        for j in range(level - 1, 0, -1):
            if pos >= i1:
                return
            size = block_size(j)
            first, rows = self.levels[j - 1]
            stop = min(self._count(j), -(-i1 // size))
            if stop * size > pos:
                yield pos, stop * size, rows[pos // size - first : stop - first]
                pos = stop * size
        if pos < i1:
            yield pos, i1, self.raw[pos - self.raw_first : i1 - self.raw_first]

    def envelope(self, window: Window, channel: str) -> tuple[np.ndarray, np.ndarray]:
        """(time, value) to draw `channel` over `window`: raw samples at level 0, else a
        min and a max point per block at the block's start time (peak style)."""
        if window.level == 0:
            part = self.raw[window.i0 - self.raw_first : window.i1 - self.raw_first]
            return part[self.time_field].copy(), part[channel].copy()
        j = self.channels.index(channel)
        first, rows = self.levels[window.level - 1]
        part = rows[window.b0 - first : window.b1 - first]
        starts, mins, maxs = part[:, 0], part[:, 1 + 2 * j], part[:, 2 + 2 * j]
        if window.tail < window.tail_end:
            t_first, lo, hi = self._tail_extremes(window, channel, j)
            starts, mins, maxs = np.append(starts, t_first), np.append(mins, lo), np.append(maxs, hi)
        return np.repeat(starts, 2), np.column_stack((mins, maxs)).ravel()

    def _tail_extremes(self, window: Window, channel: str, j: int) -> tuple[float, float, float]:
        """(time of the first sample, min, max) of `channel` over [tail, tail_end)."""
        if window.tail >= self.raw_first:   # raw samples hold all of it: exact to i1
            pieces = [(window.tail, window.i1, self.raw[window.tail - self.raw_first : window.i1 - self.raw_first])]
        else:
            pieces = list(self._tail_pieces(window.level, window.tail, window.i1))
        lows, highs = [], []
        for _, _, values in pieces:
            if values.dtype.names:     # raw samples
                lows.append(values[channel])
                highs.append(values[channel])
            else:
                lows.append(values[:, 1 + 2 * j])
                highs.append(values[:, 2 + 2 * j])
        first = pieces[0][2]
        t_first = first[self.time_field][0] if first.dtype.names else first[0, 0]
        return float(t_first), float(np.fmin.reduce(np.concatenate(lows))), float(np.fmax.reduce(np.concatenate(highs)))

    def nearest(self, t: float) -> int | None:
        """Index of the sample nearest to time `t` if the samples near it are still in
        memory, else None (they are in the notebook: `locate` says which to read)."""
        times = self.raw[self.time_field]
        if times.size == 0 or (times[0] > t and self.raw_first > 0):
            return None
        return nearest_in(self.raw, self.raw_first, t, self.time_field)


def nearest_in(samples: np.ndarray, first: int, t: float, time_field: str = "t") -> int:
    """Index (counted from `first`, the index of samples[0]) of the sample nearest time t."""
    times = samples[time_field]
    j = int(np.searchsorted(times, t))
    candidates = [c for c in (j - 1, j) if 0 <= c < times.size]
    return first + min(candidates, key=lambda c: abs(times[c] - t))
