"""The stage section's quantiles (pulse/bench/stage_latency.py): a marker whose change never arrived counts
as the time it waited, so a worker behind its load shows as late, and the run goes on to the next section.
Its background load (pulse/bench/freshness.py) offers touches the worker has not stored yet."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

from pulse.bench.freshness import load_events
from pulse.bench.stage_latency import _markers, latencies_of
from pulse.bench.targets import targets
from schemas.validate import validate_body


def test_every_marker_arrived():
    got = latencies_of({"a": 0.0, "b": 1.0}, {"a": 2.0, "b": 4.0}, now=100.0)
    assert (got["max_s"], got["markers"], got["markers_missing"]) == (3.0, 2, 0)


def test_a_marker_still_waiting_counts_as_its_wait_and_misses_the_target():
    got = latencies_of({"a": 0.0, "b": 1.0, "c": 2.0}, {"a": 1.0, "b": 2.0}, now=182.0)
    assert (got["max_s"], got["markers"], got["markers_missing"]) == (180.0, 3, 1)
    assert got["p50_s"] == 1.0
    judged = targets({"stage_latency": {**got, "p99_s": 5.0}})  # even were the quantile low
    assert judged == {"stage change published <= 10 s after its touch, p99": False}


def test_each_background_load_offers_new_touches_from_the_same_visitors():
    """The stage-change and memory sections start the load again after freshness's: with ids drawn from the
    seeded visitors, every touch they offered was a duplicate of one stored before, which the worker drops."""
    first = load_events(random.Random(7), 500, "2026-12-06T21:16:00+00:00")
    again = load_events(random.Random(7), 500, "2026-12-06T21:17:00+00:00")
    assert [(e["anonymous_id"], e["engaged_seconds"]) for e in first] == \
        [(e["anonymous_id"], e["engaged_seconds"]) for e in again]
    assert len({e["anonymous_id"] for e in first}) > 400  # visitors with cookies, as the snippet sends them
    taken = validate_body(json.dumps(first).encode(), now=datetime(2026, 12, 6, 21, 16, 30, tzinfo=timezone.utc),
                          max_age=timedelta(days=1), ip="127.0.0.1", public=True)
    assert taken is not None and all(t.anonymous_id and t.engaged_seconds for t in taken)  # /collect keeps both
    assert not {e["event_id"] for e in first} & {e["event_id"] for e in again}
    assert len({e["event_id"] for e in first}) == 500


def test_each_run_marks_new_accounts():
    """A store kept from an earlier run holds that run's markers, engaged already: the same ids again changed no
    stage, and every marker of a second run on the kept 100M store was missing (BENCHMARKS.md)."""
    first, second = _markers(3, "run1"), _markers(3, "run2")
    assert len({a.account_id for a in first + second}) == 6
    assert not {d for a in first for d in a.domains} & {d for a in second for d in a.domains}
    assert all(a.is_target and a.account_id.startswith("bench-stage-run1-") for a in first)


def test_the_served_worker_is_judged_on_its_own_memory():
    served = {"worker_rss_start_mb": 400.0, "worker_rss_max_mb": 450.0, "worker_floor_growth_mb": 10.0}
    key = "worker RSS < 1 GB and flat with its store served"
    assert targets({"memory_served": served}) == {key: True}
    assert targets({"memory_served": served | {"worker_rss_max_mb": 1100.0}}) == {key: False}
    assert targets({"memory_served": served | {"worker_floor_growth_mb": 60.0}}) == {key: False}
