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


def unique_count(expected) -> int:
    return len(expected.ids)
KILLS = 5


def test_sigkill_at_random_points_leaves_every_total_exact(settings, start):
    # sink batches of 40 messages (~11,000 events): about 17 batches, so the kills land mid-stream
    settings = settings.replace(batch_max_rows=2_000)
    rnd = random.Random(20261125)
    publish_registry(settings, accounts(50))
    first = start("worker", settings)
    wait_for_registry(settings, 50)  # the registry is in ClickHouse before any touch is scored
    first.stop()
    events, expected = generate(EVENTS, 50, seed=5, now=now_utc())
    messages = send_in_messages(settings, events, seed=5)
    unique = unique_count(expected)
    print(f"{len(events)} events ({unique} unique) in {messages} messages")

    # kill points: random shares of the stream, one in each sixth of it; a worker that starts past its
    # point is killed as soon as it has stored something (somewhere in its first batch)
    targets = [int(unique * rnd.uniform(k / (KILLS + 1), (k + 1) / (KILLS + 1))) for k in range(KILLS)]
    worker = start("worker", settings)
    workers = [first, worker]
    for target in targets:
        at_start = sql_rows(settings, "SELECT count() FROM touches")[0][0]
        goal = max(target, at_start + 1)
        stored = wait_until(lambda: (n := sql_rows(settings, "SELECT count() FROM touches")[0][0]) >= goal and n,
                            300, 0.05, what=f"{goal} touch rows stored before the kill")
        worker.kill()
        print(f"SIGKILL with {stored} touch rows stored (aimed at {target})")
        worker = start("worker", settings)
        workers.append(worker)

    want = expected_totals(expected)
    # the stream is over when the last worker has nothing left to read ...
    wait_until(lambda: health(settings)["consumer_lag"] == 0 and health(settings)["events_in_per_s"] == 0
               and sql_rows(settings, "SELECT count() FROM events")[0][0] >= unique, 600, 0.5,
               what="the last worker to read the whole stream")
    # ... and then every number is exact (a batch's aggregates land just after its touches)
    try:
        wait_until(lambda: stored_totals(settings) == want, 60, 0.5, what="the totals to settle")
    except AssertionError:
        pass  # the asserts below say which number is off
    minutes, touches, count = stored_totals(settings)
    want_minutes, want_touches, want_count = want
    repaired = [line for w in workers for line in w.log.read_text().splitlines() if "recovering" in line]
    print(f"{len(repaired)} restarts repaired a half-written batch: {[line.split('recovering')[1][:16] for line in repaired]}")
    assert count == want_count == unique
    assert sum(touches.values()) == sum(want_touches.values()) == unique
    assert sum(minutes.values()) == sum(want_minutes.values())
    assert minutes == want_minutes      # per account (and the unresolved '' bucket)
    assert touches == want_touches
    # the analysts' view agrees, account by account (all events are within the last 30 days)
    view = dict(sql_rows(settings, "SELECT account_id, minutes_30d FROM account_engagement"))
    assert view == expected.view_minutes()
