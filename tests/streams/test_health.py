"""Health: the pure bookkeeping on timelines, then a real worker's endpoint, table and `pulse status`."""
from __future__ import annotations

import pytest

from conftest import sql_rows, wait_until
from opskit import accounts, generate, health, now_utc, publish_registry, pulse, send_in_messages, wait_for_registry
from schemas import topics
from streams.health import HealthMonitor, RateMeter
from streams.producer import producer


@pytest.mark.parametrize("points, at, rate", [
    # t:  0    1    2 ... 10   11        (window 10 s)
    ([], 5.0, 0.0),                                  # nothing yet
    ([(0.0, 10)], 0.5, 10.0),                        # first second: divided by 1 s, not by the window
    ([(0.0, 10), (1.0, 10), (2.0, 10)], 2.0, 15.0),  # 30 events over 2 s
    ([(0.0, 100), (5.0, 50)], 12.0, 5.0),            # the t=0 point left the window: 50 / 10 s
    ([(0.0, 100), (5.0, 50)], 20.0, 0.0),            # everything left the window
])
def test_rate_meter(points, at, rate):
    meter = RateMeter(window=10.0)
    for t, n in points:
        meter.add(n, t)
    assert meter.rate(at) == pytest.approx(rate)


def test_oldest_unflushed_is_the_batch_in_flight():
    #  t=100 message produced ... t=103 batch taken ... t=110 reading ... t=111 written
    monitor = HealthMonitor()
    assert monitor.oldest_unflushed_s(100.0) == 0.0
    monitor.taken(500, oldest_timestamp=100.0, now=103.0)
    assert monitor.oldest_unflushed_s(110.0) == pytest.approx(10.0)
    monitor.flushed(500, dead_letters=2, now=111.0)
    assert monitor.oldest_unflushed_s(112.0) == 0.0
    assert monitor.dead_letters == 2
    assert monitor.events_out.rate(111.0) > 0


def test_worker_health_endpoint_table_and_pulse_status(settings, start):
    publish_registry(settings, accounts(5))
    worker = start("worker", settings)
    wait_for_registry(settings, 5)
    events, expected = generate(600, 5, seed=1, now=now_utc())
    messages = send_in_messages(settings, events, seed=1)
    p = producer(settings)  # and one message that is not JSON: a dead letter, counted and kept
    p.send(settings.topic(topics.TOUCHES), b'[{"type": "page_view", "occurred_at": ')
    p.close()
    messages += 1

    def caught_up():
        h = health(settings)
        parts = h["partitions"]
        return h if (h["written"] + h["duplicates"] == len(events) and h["dead_letters"] == 1
                     and len(parts) == 2 and h["consumer_lag"] == 0
                     and sum(p["end"] for p in parts) == messages) else None

    reading = wait_until(caught_up, 60, what="the health endpoint to show every event written and no lag")
    assert reading["sink_state"] == "ok" and reading["broker_state"] == "ok" and reading["last_error"] == ""
    assert reading["written"] == len(expected.ids)
    assert [p["committed"] for p in reading["partitions"]] == [p["end"] for p in reading["partitions"]]

    # the dashboard's table: exactly these columns, and the worker writes rows every few seconds
    columns = sql_rows(settings, "SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                                 "AND table = 'pipeline_health' ORDER BY position")
    assert columns == [("at", "DateTime64(3, 'UTC')"), ("worker", "String"), ("events_in_per_s", "Float64"),
                       ("events_out_per_s", "Float64"), ("consumer_lag", "UInt64"), ("oldest_unflushed_s", "Float64"),
                       ("dead_letters", "UInt64"), ("sink_state", "String"), ("last_error", "String"),
                       ("broker_state", "String")]
    rows = wait_until(lambda: sql_rows(settings, "SELECT worker, sink_state, broker_state FROM pipeline_health "
                                                 "WHERE consumer_lag = 0 AND events_in_per_s > 0"), 30,
                      what="a pipeline_health row of the caught-up worker")
    assert rows[0] == ("test-worker", "ok", "ok")

    status = pulse(settings, "status")
    assert status.returncode == 0, status.stderr
    assert "clickhouse  ok" in status.stdout and "kafka       ok" in status.stdout
    assert "consumer lag 0 messages" in status.stdout
    assert "dead letters 1 since the worker started" in status.stdout
    assert "rejected_events  worker 1  (stored, by source)" in status.stdout
    assert len([line for line in status.stdout.splitlines() if line.strip().startswith(("0 ", "1 "))]) == 2

    worker.stop()
    stopped = pulse(settings, "status")
    assert stopped.returncode == 1
    assert "pulse is not running" in stopped.stderr and str(settings.health_port) in stopped.stderr
    # the broker runs on its own here, so status still reports how far the consumer group got
    assert "consumer lag 0 messages" in stopped.stdout
