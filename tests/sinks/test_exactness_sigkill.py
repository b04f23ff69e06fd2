"""SIGKILL the worker at random points of a 200,000-event stream, five times; every total stays exact.

The stream is in Kafka before the first kill; each worker is killed once ClickHouse holds a random
share of it (wherever in its take -> write touches -> write aggregates -> commit cycle it happens to
be), a new one starts on the same data, and a last one runs to the end.
"""
from __future__ import annotations

import random

from conftest import sql_rows, wait_until
from opskit import (accounts, expected_totals, generate, health, now_utc, publish_registry, send_in_messages,
                    stored_totals, wait_for_registry)

EVENTS = 200_000
KILLS = 5


def test_sigkill_at_random_points_leaves_every_total_exact(settings, start):
    rnd = random.Random(20261125)
    publish_registry(settings, accounts(50))
    worker = start("worker", settings)
    wait_for_registry(settings, 50)
    events, expected = generate(EVENTS, 50, seed=5, now=now_utc())
    messages = send_in_messages(settings, events, seed=5)
    unique = len(expected.ids)

    # kill points: random shares of the stream, one per fifth, so the kills spread over all of it
    targets = [int(unique * rnd.uniform(k / (KILLS + 1), (k + 1) / (KILLS + 1))) for k in range(KILLS)]
    for target in targets:
        wait_until(lambda: sql_rows(settings, "SELECT count() FROM touches")[0][0] >= target, 300, 0.05,
                   what=f"{target} touches stored before the kill")
        worker.kill()
        worker = start("worker", settings)

    def all_committed():
        parts = health(settings)["partitions"]
        return sum(p["end"] for p in parts) >= messages and all(p["committed"] == p["end"] for p in parts)

    wait_until(all_committed, 600, 0.5, what="the last worker to commit the whole stream")
    minutes, touches, count = stored_totals(settings)
    want_minutes, want_touches, want_count = expected_totals(expected)
    assert count == want_count == unique
    assert sum(touches.values()) == sum(want_touches.values()) == unique
    assert sum(minutes.values()) == sum(want_minutes.values())
    assert minutes == want_minutes      # per account (and the unresolved '' bucket)
    assert touches == want_touches
    # the analysts' view agrees, account by account (all events are within the last 30 days)
    view = dict(sql_rows(settings, "SELECT account_id, minutes_30d FROM account_engagement"))
    assert view == {a: m for a, m in want_minutes.items() if a}
