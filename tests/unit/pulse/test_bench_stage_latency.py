"""The stage section's quantiles (pulse/bench/stage_latency.py): a marker whose change never arrived counts
as the time it waited, so a worker behind its load shows as late, and the run goes on to the next section."""
from __future__ import annotations

from pulse.bench.stage_latency import latencies_of
from pulse.bench.targets import targets


def test_every_marker_arrived():
    got = latencies_of({"a": 0.0, "b": 1.0}, {"a": 2.0, "b": 4.0}, now=100.0)
    assert (got["max_s"], got["markers"], got["markers_missing"]) == (3.0, 2, 0)


def test_a_marker_still_waiting_counts_as_its_wait_and_misses_the_target():
    got = latencies_of({"a": 0.0, "b": 1.0, "c": 2.0}, {"a": 1.0, "b": 2.0}, now=182.0)
    assert (got["max_s"], got["markers"], got["markers_missing"]) == (180.0, 3, 1)
    assert got["p50_s"] == 1.0
    judged = targets({"stage_latency": {**got, "p99_s": 5.0}})  # even were the quantile low
    assert judged == {"stage change published <= 10 s after its touch, p99": False}
