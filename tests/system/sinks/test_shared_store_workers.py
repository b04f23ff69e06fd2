"""Several workers on one shared store (`pulse store serve`, as on a ClickHouse server): every event
counted once, whichever worker takes it and wherever its copies land.

Copies of one event id sent in different messages land on different partitions, so different workers
hold them at the same moment; before events were routed to one home partition per id (streams/core/
homes.py), both looked the id up, neither found it, and both stored it: a few accounts' touches and
minutes came out one copy too high while the event count stayed right.
"""
from __future__ import annotations

import msgspec

from conftest import sql_rows, start_service, wait_until
from opskit import (accounts, expected_totals, generate, health, now_utc, publish_registry, pulse, send_in_messages,
                    stored_totals, wait_for_registry)
from hooks_helpers import TopicReader, post_signed
from pulse.support.ports import free_port
from schemas import topics
from schemas.events import encode_batch


def _handled_by(workers, events: int):
    """Every copy of every event has been taken (written or skipped) by the workers together."""
    def done():
        readings = [health(w) for w in workers]
        return readings if sum(h["written"] + h["duplicates"] for h in readings) >= events else None

    return wait_until(done, 240, 0.5, what=f"the workers to handle {events} events")


def test_two_workers_on_one_shared_store_count_every_event_once(shared_store, tmp_path):
    store = shared_store.settings
    publish_registry(store, accounts(20))
    workers = [store.replace(worker_id=f"w{i}", health_port=free_port(), sql_port=free_port()) for i in (1, 2)]
    procs = [start_service("worker", ["worker"], w, f"http://127.0.0.1:{w.health_port}/health", tmp_path)
             for w in workers]
    wait_for_registry(store, 20)
    events, expected = generate(6_000, 20, seed=31, now=now_utc())
    send_in_messages(store, events, seed=31)
    readings = _handled_by(workers, len(events))
    assert all(h["written"] > 0 for h in readings), readings  # both workers took a share of the partitions
    assert sum(h["forwarded"] for h in readings) > 0, readings  # unrouted messages: events sent home first
    want = expected_totals(expected)
    got = stored_totals(store)
    assert got == want, {k: (got[0].get(k), want[0].get(k), got[1].get(k), want[1].get(k))
                         for k in set(got[0]) | set(want[0]) if (got[0].get(k), got[1].get(k)) != (want[0].get(k), want[1].get(k))}
    # the same messages again, after the first copies are stored: each worker finds what the other
    # stored in the shared tables (its own memory of ids knows only its own)
    send_in_messages(store, events, seed=31)
    readings = _handled_by(workers, 2 * len(events))
    assert sum(h["written"] for h in readings) == len(expected.ids)
    assert stored_totals(store) == want
    # a full replay of the topic (every message again, each to its partition): nothing new
    replayed = pulse(store, "replay", "--from", "earliest")
    assert replayed.returncode == 0, replayed.stderr
    readings = _handled_by(workers, 4 * len(events))
    assert sum(h["written"] for h in readings) == len(expected.ids)
    assert stored_totals(store) == want
    assert dict(sql_rows(store, "SELECT account_id, minutes_30d FROM account_engagement")) == expected.view_minutes()
    # stages are evaluated by one worker (the group's leader): every change published once
    reader = TopicReader(store, topics.STAGE_CHANGES)

    def published():
        sent = [msgspec.json.decode(raw)["change_id"] for raw in reader.read()]
        recorded = {r[0] for r in sql_rows(store, "SELECT change_id FROM stage_changes FINAL")}
        return sent if sent and set(sent) == recorded else None

    sent = wait_until(published, 60, 1.0, what="the stage changes recorded and published")
    assert len(sent) == len(set(sent)) >= 20, sent  # each of the 20 accounts changed stage at least once
    for proc in procs:
        proc.stop()


def test_workers_killed_mid_batch_and_replaced_change_nothing(shared_store, tmp_path):
    """Three workers; two SIGKILLed while storing, each replaced by a worker with ANOTHER id (a new
    container, not a restarted one): their partitions move to the others mid-batch (rebalances),
    unacknowledged messages are taken again, and nothing counts twice or goes missing. When a batch
    was two inserts (touches, then their aggregates), a kill between them left that batch out of the
    aggregates for good here: only its own writer id folded it (about 6 % of the minutes in CI)."""
    store = shared_store.settings
    store = store.replace(batch_max_rows=1_000)
    publish_registry(store, accounts(20))
    def worker(name: str):
        w = store.replace(worker_id=name, health_port=free_port(), sql_port=free_port())
        return start_service("worker", ["worker"], w, f"http://127.0.0.1:{w.health_port}/health", tmp_path)

    procs = [worker(f"w{i}") for i in range(3)]
    wait_for_registry(store, 20)
    events, expected = generate(12_000, 20, seed=37, now=now_utc(), duplicate_share=0.1)
    send_in_messages(store, events, seed=37, sizes=(20, 80))

    def stored() -> int:
        return sql_rows(store, "SELECT count() FROM events")[0][0]

    for victim, goal in ((0, len(expected.ids) // 3), (1, 2 * len(expected.ids) // 3)):
        wait_until(lambda: stored() >= goal, 300, 0.05, what=f"{goal} events stored before the kill")
        procs[victim].kill()
        procs[victim] = worker(f"w{victim}-replacement")
    wait_until(lambda: stored() >= len(expected.ids), 300, 0.5, what="every event stored")
    want = expected_totals(expected)
    try:
        wait_until(lambda: stored_totals(store) == want, 60, 1.0, what="the totals to settle")
    finally:  # which accounts differ, if any
        got = stored_totals(store)
        assert {a: (got[0].get(a), want[0].get(a)) for a in set(got[0]) | set(want[0])
                if got[0].get(a) != want[0].get(a)} == {}
    assert stored() == len(expected.ids)
    for proc in procs:
        proc.stop()


def test_an_outage_of_the_shared_store_loses_nothing(shared_store, tmp_path):
    """The store is SIGKILLed while two workers write and stays away until both have held unwritten
    events for 30 s (their own reading), then comes back on the same data: the workers waited
    (consumption paused), resume, and count everything once."""
    store = shared_store.settings
    publish_registry(store, accounts(20))
    workers = [store.replace(worker_id=f"w{i}", health_port=free_port(), sql_port=free_port()) for i in (1, 2)]
    procs = [start_service("worker", ["worker"], w, f"http://127.0.0.1:{w.health_port}/health", tmp_path)
             for w in workers]
    wait_for_registry(store, 20)
    events, expected = generate(8_000, 20, seed=41, now=now_utc())
    half = len(events) // 2
    send_in_messages(store, events[:half], seed=41)
    wait_until(lambda: sql_rows(store, "SELECT count() FROM events")[0][0] > 0, 120, 0.05, what="the first writes")

    shared_store.proc.kill()
    send_in_messages(store, events[half:], seed=42)  # arrives while the store is away
    wait_until(lambda: all((h := health(w))["sink_state"] != "ok" and h["oldest_unflushed_s"] >= 30
                           for w in workers), 150, 0.5, what="both workers waiting 30 s for the store")
    shared_store.start()
    want = expected_totals(expected)
    wait_until(lambda: stored_totals(store) == want, 300, 1.0, what="every event stored once after the outage")
    assert all(health(w)["sink_state"] == "ok" for w in workers)
    for proc in procs:
        proc.stop()


def test_hooks_that_route_by_event_id_leave_the_workers_nothing_to_forward(shared_store, tmp_path):
    """PULSE_ROUTE_EVENTS: the hooks send each event to its id's home partition themselves."""
    store = shared_store.settings.replace(route_events=True, hook_secrets=("r" * 32,))
    publish_registry(store, accounts(20))
    workers = [store.replace(worker_id=f"w{i}", health_port=free_port(), sql_port=free_port()) for i in (1, 2)]
    procs = [start_service(kind, [kind], s, url, tmp_path) for kind, s, url in (
        ("worker", workers[0], f"http://127.0.0.1:{workers[0].health_port}/health"),
        ("worker", workers[1], f"http://127.0.0.1:{workers[1].health_port}/health"),
        ("hooks", store, f"http://127.0.0.1:{store.hooks_port}/health"))]
    wait_for_registry(store, 20)
    events, expected = generate(1_500, 20, seed=43, now=now_utc())
    for start in range(0, len(events), 100):
        reply = post_signed(store, "/hooks/events", encode_batch(events[start:start + 100]), "r" * 32)
        assert reply.status == 202, reply.body
    readings = _handled_by(workers, len(events))
    assert sum(h["forwarded"] for h in readings) == 0, readings
    assert stored_totals(store) == expected_totals(expected)
    for proc in procs:
        proc.stop()
