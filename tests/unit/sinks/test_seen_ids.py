"""The writer's memory of recent ids against a plain dict of the same ids, through random adds and day moves."""
from __future__ import annotations

import random
from datetime import date, timedelta

import numpy as np

from sinks.seen_ids import RecentIds, window_start
from sinks.seen_ids_load import _put

DAY = RecentIds.day_number


def test_recent_ids_answer_as_a_dict_of_the_window_would():
    rnd = random.Random(17)
    today = date(2026, 11, 20)
    start = {DAY(today - timedelta(days=k)): rnd.sample(range(1, 10**6), 50) for k in range(10)}
    seen = RecentIds(7, today, {d: np.array(h, dtype=np.uint64) for d, h in start.items()}, merge_at=40)
    model = {h: d for d, hs in start.items() for h in hs if d >= seen.horizon}
    for step in range(300):
        if step % 60 == 59:  # the clock moves on a day
            today += timedelta(days=1)
            seen.advance(today)
            model = {h: d for h, d in model.items() if d >= seen.horizon}
        new = [(rnd.randrange(10**6, 10**7), DAY(today - timedelta(days=rnd.randrange(9)))) for _ in range(7)]
        seen.add(new)  # some of them on days outside the window: never held
        model.update((h, d) for h, d in new if d >= seen.horizon)
        asked = rnd.sample(sorted(model), min(5, len(model))) + [rnd.randrange(10**7, 10**8) for _ in range(5)]
        assert seen.candidates(asked) == {h: model[h] for h in asked if h in model}
        assert len(seen) == len(model)


def test_a_day_array_grows_when_more_ids_come_than_were_counted():
    by_day, filled = {5: np.empty(2, dtype=np.uint64)}, {5: 0}
    _put(by_day, filled, 5, np.array([3, 1], dtype=np.uint64))
    _put(by_day, filled, 5, np.array([7, 8, 9], dtype=np.uint64))   # stored after the count
    _put(by_day, filled, 6, np.array([4], dtype=np.uint64))         # a day the count did not have
    assert by_day[5][:filled[5]].tolist() == [3, 1, 7, 8, 9] and by_day[6][:filled[6]].tolist() == [4]


def test_window_start_is_the_oldest_day_the_window_holds():
    today = date(2026, 12, 7)
    assert window_start(7, today) == date(2026, 12, 1)
    assert window_start(1, today) == today
    seen = RecentIds(7, today)
    assert seen.first_day == window_start(7, today)
    assert seen.holds(RecentIds.day_number(date(2026, 12, 1))) and not seen.holds(RecentIds.day_number(date(2026, 11, 30)))
