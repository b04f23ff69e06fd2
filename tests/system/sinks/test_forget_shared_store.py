"""`pulse forget` with two workers on one shared store (CLICKHOUSE_URL): both take the request and erase
(the second finds nothing left), the log keeps one count, the totals are exact, and a full replay of the
touches topic under both workers brings nobody back."""
from __future__ import annotations

from conftest import sql_rows, start_service, wait_until
from opskit import accounts, generate, health, now_utc, publish_registry, pulse, send_in_messages, wait_for_registry
from pulse.support.ports import free_port

GONE = "p3@acc002.example"
PER_ACCOUNT = ("SELECT account_id, sum(minutes), sum(touches) FROM engagement_daily WHERE kind = 'touch' {where} "
               "GROUP BY account_id HAVING sum(touches) != 0 ORDER BY account_id")


def test_two_workers_erase_once_and_a_replay_brings_nobody_back(shared_store, tmp_path):
    store = shared_store.settings
    publish_registry(store, accounts(10))
    workers = [store.replace(worker_id=f"w{i}", health_port=free_port(), sql_port=free_port()) for i in (1, 2)]
    for w in workers:
        start_service("worker", ["worker"], w, f"http://127.0.0.1:{w.health_port}/health", tmp_path)
    wait_for_registry(store, 10)
    events, _ = generate(1_000, 10, seed=5, now=now_utc())
    gone = sum(1 for e in events if e.email == GONE)
    assert gone > 0
    send_in_messages(store, events, seed=5)

    def handled(n: int):
        return lambda: sum(h["written"] + h["duplicates"] for h in map(health, workers)) >= n

    wait_until(handled(len(events)), 240, 0.5, what="the workers to store the events")
    without = sql_rows(store, PER_ACCOUNT.format(where="AND person != %(p)s"), {"p": GONE})
    others = sql_rows(store, "SELECT count() FROM events WHERE person != %(p)s", {"p": GONE})

    done = pulse(store, "forget", "--email", GONE)
    assert done.returncode == 0 and "erased" in done.stdout, done.stdout + done.stderr
    # both workers took the request; the log's row for it keeps the count of the one that deleted
    done_rows = "SELECT count() FROM erasure_log WHERE named = 1 AND erased_at > toDateTime64(0, 3, 'UTC')"
    wait_until(lambda: sql_rows(store, done_rows)[0][0] == 2, 120, 0.5,
               what="both workers to log the request")
    assert sql_rows(store, "SELECT count(), min(touches) > 0 FROM erasure_log FINAL WHERE named = 1") == [(1, 1)]
    assert sql_rows(store, PER_ACCOUNT.format(where="")) == without
    assert sql_rows(store, "SELECT count() FROM events WHERE person != %(p)s", {"p": GONE}) == others

    replayed = pulse(store, "replay", "--from", "earliest")
    assert replayed.returncode == 0, replayed.stderr
    # (at least: the replay also copies the messages the workers forwarded to the events' home partitions)
    wait_until(lambda: sql_rows(store, "SELECT sum(events) FROM erasure_drops")[0][0] >= gone, 120, 0.5,
               what="the replayed events of the erased person dropped")
    wait_until(handled(2 * len(events) - gone), 120, 0.5, what="the rest of the replay skipped as stored")
    assert sql_rows(store, PER_ACCOUNT.format(where="")) == without
    assert sql_rows(store, "SELECT count() FROM touches WHERE person = %(p)s", {"p": GONE}) == [(0,)]
