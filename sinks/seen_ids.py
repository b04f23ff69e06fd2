"""What the writer remembers of stored event ids: the recent days only, so memory does not grow with history.

64-bit hashes of the ids whose touch happened in the last `days` days: one sorted numpy array a day (8 bytes
an id; the day is the array's), plus a small dict of the newest. A day leaves the window as the clock moves on,
its array with it. An id of an older day is not held: the writer looks every one of those up in the store (late
arrivals, backfills and replays are the few that are that old). A hit is only a candidate: the writer confirms it
against ClickHouse, so a hash collision can never drop a real event.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

import numpy as np

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # ClickHouse counts Date as days since 1970-01-01
LOW64 = (1 << 64) - 1  # an id's hash is the low 64 bits of its UUID, here and in the store's load query


def window_start(days: int, today: date) -> date:
    """The oldest day a window of `days` days ending on `today` holds."""
    return date.fromordinal(today.toordinal() - days + 1)


class RecentIds:
    def __init__(self, days: int, today: date, by_day: dict[int, np.ndarray] | None = None, merge_at: int = 200_000):
        """`by_day`: {day number: the hashes of that day's stored ids}; each array is sorted in place and kept."""
        self.days = days
        self.horizon = self.day_number(window_start(days, today))  # the oldest day held, in days since 1970
        self._by_day: dict[int, np.ndarray] = {}
        for day, hashes in (by_day or {}).items():
            if day >= self.horizon and len(hashes):
                hashes = np.asarray(hashes, dtype=np.uint64)
                hashes.sort()  # in place: a second copy of a week of ids is what loading them must not need
                self._by_day[day] = hashes
        self._recent: dict[int, int] = {}
        self._merge_at = merge_at

    def __len__(self) -> int:
        return sum(len(hashes) for hashes in self._by_day.values()) + len(self._recent)

    @staticmethod
    def day_number(day: date) -> int:
        return day.toordinal() - EPOCH_ORDINAL

    @property
    def first_day(self) -> date:
        """The oldest day held."""
        return date.fromordinal(self.horizon + EPOCH_ORDINAL)

    def holds(self, day_number: int) -> bool:
        """True when ids of that day are held, so a miss means "not stored"."""
        return day_number >= self.horizon

    def candidates(self, hashes: Sequence[int]) -> dict[int, int]:
        """{hash: day number of the stored id held under it} for those of `hashes` held."""
        found = {h: self._recent[h] for h in hashes if h in self._recent}
        if self._by_day and len(hashes):
            arr = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
            for day, base in self._by_day.items():
                pos = np.searchsorted(base, arr)
                pos[pos >= len(base)] = 0
                found.update(dict.fromkeys(arr[base[pos] == arr].tolist(), day))
        return found

    def add(self, pairs: Sequence[tuple[int, int]]) -> None:
        """(hash, day number) of stored ids; ids of days outside the window are not kept."""
        horizon = self.horizon
        self._recent.update((h, d) for h, d in pairs if d >= horizon)
        if len(self._recent) >= self._merge_at:
            self._merge()

    def advance(self, today: date) -> int:
        """Move the window to end on `today`: drop the days that left it. Returns the ids dropped."""
        horizon = self.day_number(window_start(self.days, today))
        if horizon <= self.horizon:
            return 0
        self.horizon = horizon
        before = len(self)
        self._by_day = {day: hashes for day, hashes in self._by_day.items() if day >= horizon}
        self._recent = {h: d for h, d in self._recent.items() if d >= horizon}
        return before - len(self)

    def _merge(self) -> None:
        """The newest into their days' arrays: a linear merge into each (sorting all again would not be)."""
        newest: dict[int, list[int]] = {}
        for h, day in self._recent.items():
            newest.setdefault(day, []).append(h)
        for day, found in newest.items():
            hashes = np.sort(np.fromiter(found, dtype=np.uint64, count=len(found)))
            base = self._by_day.get(day, np.empty(0, dtype=np.uint64))
            self._by_day[day] = np.insert(base, np.searchsorted(base, hashes), hashes)
        self._recent.clear()
