"""The test helper that keeps a burst of touches on one reporting day: the hooks attack test failed in
the hand-in CI of 2026-12-04 when it ran a few minutes after midnight and its forms fell on two days."""
from datetime import datetime, timedelta, timezone

from opskit import on_one_day

SPAN = timedelta(minutes=12)


def test_midday_is_kept():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)
    assert on_one_day(now, "UTC", SPAN) == now


def test_just_after_midnight_moves_to_the_last_second_of_the_day_before():
    now = datetime(2026, 12, 5, 0, 5, tzinfo=timezone.utc)
    moved = on_one_day(now, "UTC", SPAN)
    assert moved == datetime(2026, 12, 4, 23, 59, 59, tzinfo=timezone.utc)
    assert (moved - SPAN).date() == moved.date()


def test_midnight_is_the_reporting_timezones():
    # 05:05 UTC is 00:05 in New York (EST, UTC-5): the span crosses New York's midnight, not UTC's
    now = datetime(2026, 12, 5, 5, 5, tzinfo=timezone.utc)
    assert on_one_day(now, "UTC", SPAN) == now
    assert on_one_day(now, "America/New_York", SPAN) == datetime(2026, 12, 5, 4, 59, 59, tzinfo=timezone.utc)
