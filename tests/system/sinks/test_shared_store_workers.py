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
from opskit import (accounts, expected_totals, generate, health, now_utc, publish_registry, send_in_messages,
                    stored_totals, wait_for_registry)
from hooks_helpers import TopicReader
from pulse.support.ports import free_port
from schemas import topics


def _handled_by(workers, events: int):
    """Every copy of every event has been taken (written or skipped) by the workers together."""
    def done():
        readings = [health(w) for w in workers]
        return readings if sum(h["written"] + h["duplicates"] for h in readings) >= events else None

    return wait_until(done, 240, 0.5, what=f"the workers to handle {events} events")


def test_two_workers_on_one_shared_store_count_every_event_once(shared_store, tmp_path):
    store, _, _ = shared_store
    publish_registry(store, accounts(20))
    workers = [store.replace(worker_id=f"w{i}", health_port=free_port(), sql_port=free_port()) for i in (1, 2)]
    procs = [start_service("worker", ["worker"], w, f"http://127.0.0.1:{w.health_port}/health", tmp_path)
             for w in workers]
    wait_for_registry(store, 20)
    events, expected = generate(6_000, 20, seed=31, now=now_utc())
    send_in_messages(store, events, seed=31)
    readings = _handled_by(workers, len(events))
    assert all(h["written"] > 0 for h in readings), readings  # both workers took a share of the partitions
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
