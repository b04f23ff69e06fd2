"""The behaviour pass's parts (streams/traffic_job.py day_batches): whole consecutive days, each part within
the limit, a day above it alone and cut into slices of its groups, every day judged whole exactly once and in
order."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st

from streams.traffic_job import day_batches

D = date(2026, 1, 1)


def test_days_are_grouped_up_to_the_limit_and_a_large_day_is_sliced_alone():
    per_day = [(D, 3), (D + timedelta(1), 3), (D + timedelta(2), 13), (D + timedelta(5), 1), (D + timedelta(6), 1)]
    big = D + timedelta(2)
    assert day_batches(per_day, 6) == [(D, D + timedelta(1), 1, 0), (big, big, 3, 0), (big, big, 3, 1),
                                       (big, big, 3, 2), (D + timedelta(5), D + timedelta(6), 1, 0)]


def test_nothing_stored_is_no_part():
    assert day_batches([], 6) == []


@given(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 50)), unique_by=lambda t: t[0]),
       st.integers(1, 120))
def test_every_day_is_judged_whole_once_and_parts_keep_the_limit(days, limit):
    per_day = sorted((D + timedelta(offset), n) for offset, n in days)
    parts = day_batches(per_day, limit)
    for day, n in per_day:
        owners = [i for i, (first, last, _, _) in enumerate(parts) if first <= day <= last]
        slices = [parts[i] for i in owners]
        # in one part of whole days, or alone in every slice of its groups (0 .. k-1), one after the other
        assert len(owners) == 1 and slices[0][2:] == (1, 0) or \
            slices == [(day, day, len(owners), k) for k in range(len(owners))]
        assert owners == list(range(owners[0], owners[0] + len(owners)))
        assert -(-n // len(owners)) <= limit
    assert [p[0] for p in parts] == sorted(p[0] for p in parts)
    for first, last, slices, _ in parts:
        inside = [n for day, n in per_day if first <= day <= last]
        assert slices == 1 and sum(inside) <= limit or (len(inside) == 1 and inside[0] > limit)
