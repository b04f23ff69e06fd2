"""The behaviour pass's parts (streams/traffic_job.py day_batches): whole consecutive days, each part within
the limit, a day above it alone, every day in exactly one part and in order."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st

from streams.traffic_job import day_batches

D = date(2026, 1, 1)


def test_days_are_grouped_up_to_the_limit_and_a_large_day_stands_alone():
    per_day = [(D, 3), (D + timedelta(1), 3), (D + timedelta(2), 10), (D + timedelta(5), 1), (D + timedelta(6), 1)]
    assert day_batches(per_day, 6) == [(D, D + timedelta(1)), (D + timedelta(2), D + timedelta(2)),
                                       (D + timedelta(5), D + timedelta(6))]


def test_nothing_stored_is_no_part():
    assert day_batches([], 6) == []


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 50)), unique_by=lambda t: t[0]),
       st.integers(1, 120))
def test_every_day_is_in_one_part_and_parts_keep_the_limit(days, limit):
    per_day = sorted((D + timedelta(offset), n) for offset, n in days)
    parts = day_batches(per_day, limit)
    owners = [[i for i, (first, last) in enumerate(parts) if first <= day <= last] for day, _ in per_day]
    assert all(len(o) == 1 for o in owners)
    assert [o[0] for o in owners] == sorted(o[0] for o in owners)
    for i, (first, last) in enumerate(parts):
        inside = [n for day, n in per_day if first <= day <= last]
        assert sum(inside) <= limit or len(inside) == 1
