"""A bench section that crossed midnight in the reporting zone measured beside the new day's move of every
account (pulse/bench/day_boundary.py): the run says so, and the targets judged from it carry the note."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pulse.bench.day_boundary import crossed, ticks_by_kind
from pulse.bench.targets import targets

UTC = timezone.utc


def test_a_section_crosses_midnight_of_the_reporting_zone_not_of_utc():
    start = datetime(2026, 12, 6, 7, 50, tzinfo=UTC)  # 23:50 in Los Angeles
    assert crossed(start, start + timedelta(minutes=15), "America/Los_Angeles")
    assert not crossed(start, start + timedelta(minutes=15), "UTC")
    late = datetime(2026, 12, 5, 23, 50, tzinfo=UTC)
    assert crossed(late, late + timedelta(minutes=15), "UTC")
    assert not crossed(late, late + timedelta(minutes=5), "UTC")
    # the night the clocks go back: 25 hours from one local midnight to the next, and still one crossing
    fall = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 00:30 PDT on 1 November
    assert not crossed(fall, fall + timedelta(hours=24), "America/Los_Angeles")
    assert crossed(fall, fall + timedelta(hours=24, minutes=31), "America/Los_Angeles")


def test_the_ticks_across_midnight_are_read_by_kind():
    got = ticks_by_kind([("changed", 4, 1500, 3200), ("day", 10, 16900, 93300)])
    assert got == {"changed": {"ticks": 4, "longest_s": 1.5, "total_s": 3.2},
                   "day": {"ticks": 10, "longest_s": 16.9, "total_s": 93.3}}
    assert ticks_by_kind([]) == {}


def test_targets_judged_across_midnight_say_so_and_the_others_do_not():
    r = {"freshness": {"p99_s": 1.5, "crossed_midnight": "2026-12-06"},
         "stage_latency": {"p99_s": 9.0, "markers_missing": 0}}
    judged = targets(r)
    assert judged == {"freshness p99 <= 2 s (measured across the start of 2026-12-06 in the reporting zone)": True,
                      "stage change published <= 10 s after its touch, p99": True}
