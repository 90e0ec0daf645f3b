"""Numbering of live readings, for the interfaces that offer no download of logged
points (Maccor MacNet, Arbin CTI): each distinct reading of a channel becomes the next
point, 1, 2, 3 ..., so that a watcher resuming "after point N" neither repeats nor
skips what it was given. A reading is the same as the one before when its identity
(the cycler's test time, with its record counter where it has one) has not changed:
polling faster than the cycler updates never yields a point twice."""
from __future__ import annotations


class ReadingCounter:
    def __init__(self) -> None:
        self._last: dict[str, tuple[object, int]] = {}

    def number(self, key: str, identity: object, since_point: int) -> int | None:
        """The point number of this reading of channel `key`, or None if it was seen
        already. Numbers continue after `since_point` (what the caller holds), so a new
        client object resumes where the caller stands."""
        seen = self._last.get(key)
        if seen is not None and seen[0] == identity:
            return None
        point = max(seen[1] if seen else 0, since_point) + 1
        self._last[key] = (identity, point)
        return point
