"""What the writer remembers of stored event ids: the recent days only, so memory does not grow with history.

64-bit hashes of the ids whose touch happened in the last `days` days, each with its day: a sorted
numpy base (hash and day side by side, about 12 bytes an id) plus a small dict of the newest. Days
leave the window as the clock moves on. An id of an older day is not held: the writer looks every
one of those up in the store (late arrivals, backfills and replays are the few that are that old).
A hit is only a candidate: the writer confirms it against ClickHouse, so a hash collision can never
drop a real event.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

import numpy as np

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # ClickHouse counts Date as days since 1970-01-01


class RecentIds:
    def __init__(self, days: int, today: date, hashes: np.ndarray | None = None, day_numbers: np.ndarray | None = None,
                 merge_at: int = 200_000):
        self.days = days
        self.horizon = today.toordinal() - EPOCH_ORDINAL - days + 1  # the oldest day held, in days since 1970
        base = np.empty(0, dtype=np.uint64) if hashes is None else np.asarray(hashes, dtype=np.uint64)
        base_days = np.empty(0, dtype=np.int32) if day_numbers is None else np.asarray(day_numbers, dtype=np.int32)
        order = np.argsort(base, kind="stable")
        self._base, self._base_days = base[order], base_days[order]
        self._recent: dict[int, int] = {}
        self._merge_at = merge_at

    def __len__(self) -> int:
        return len(self._base) + len(self._recent)

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
        if len(self._base) and len(hashes):
            arr = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
            pos = np.searchsorted(self._base, arr)
            pos[pos >= len(self._base)] = 0
            hit = self._base[pos] == arr
            found.update(zip(arr[hit].tolist(), self._base_days[pos[hit]].tolist()))
        return found

    def add(self, pairs: Sequence[tuple[int, int]]) -> None:
        """(hash, day number) of stored ids; ids of days outside the window are not kept."""
        horizon = self.horizon
        self._recent.update((h, d) for h, d in pairs if d >= horizon)
        if len(self._recent) >= self._merge_at:
            self._merge()

    def advance(self, today: date) -> int:
        """Move the window to end on `today`: drop the days that left it. Returns the ids dropped."""
        horizon = today.toordinal() - EPOCH_ORDINAL - self.days + 1
        if horizon <= self.horizon:
            return 0
        self.horizon = horizon
        before = len(self)
        keep = self._base_days >= horizon
        self._base, self._base_days = self._base[keep], self._base_days[keep]
        self._recent = {h: d for h, d in self._recent.items() if d >= horizon}
        return before - len(self)

    def _merge(self) -> None:
        items = sorted(self._recent.items())
        hashes = np.fromiter((h for h, _ in items), dtype=np.uint64, count=len(items))
        days = np.fromiter((d for _, d in items), dtype=np.int32, count=len(items))
        # a linear merge into the sorted base (sorting all of it again every time would not be)
        at = np.searchsorted(self._base, hashes)
        self._base, self._base_days = np.insert(self._base, at, hashes), np.insert(self._base_days, at, days)
        self._recent.clear()
