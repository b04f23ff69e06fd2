"""Stage changes under steady load (issue 17): from the hook's 202 for the touch that changes an
account's stage to that change's message on the stage-changes topic.

While a second process offers background touches through the hooks at a steady rate (as for
freshness), this process sends one email open to each of `markers` registered accounts that have no
touch yet, spread over the run: one minute makes an account `aware`, a stage change the worker's
leader must find, record and publish. A consumer reads the stage-changes topic from its end; each
marker's latency is the moment its account's change arrives minus the 202 of its touch. It starts once
the stage job has worked through what an earlier section stored (`caught_up_s` says how long). The changes
come from the incremental evaluation of the worker's store as the run has grown it (the dashboard
snapshots run on a thread of their own).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone

from pulse.bench import harness
from pulse.bench.freshness import _post, quantiles, start_load
from pulse.support.waits import wait_until
from schemas import topics
from schemas.registry import AccountRecord
from schemas.settings import Settings


def _markers(n: int, run: str) -> list[AccountRecord]:
    """New accounts for this run: a store kept from an earlier run holds that run's markers, already engaged, whose
    first touch here would change no stage (every marker then missing)."""
    return [AccountRecord(account_id=f"bench-stage-{run}-{i}", name=f"Stage marker {i}",
                          domains=(f"stage{run}-{i}.example",), is_target=True) for i in range(n)]


def _follow(s: Settings, prefix: str, arrived: dict[str, float], stop: threading.Event, ready: threading.Event) -> None:
    """Record when each marker account's first stage change arrives on the topic."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=s.bootstrap, enable_auto_commit=False, group_id=None)
    try:
        name = s.topic(topics.STAGE_CHANGES)
        consumer.topics()  # the cluster's metadata, so that the topic's partitions are known
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or {0}]
        consumer.assign(partitions)
        consumer.seek_to_end(*partitions)
        for tp in partitions:
            consumer.position(tp)  # resolve the end now: a change published from here on is read
        ready.set()
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                now = time.perf_counter()
                for record in records:
                    account = json.loads(record.value)["account_id"]
                    if account.startswith(prefix):
                        arrived.setdefault(account, now)
    finally:
        consumer.close()


def measure(s: Settings, rate: int, seconds: float, markers: int = 40) -> dict:
    from streams.producer import producer, publish_accounts

    run = uuid.uuid4().hex[:8]
    accounts, prefix = _markers(markers, run), f"bench-stage-{run}-"
    p = producer(s)
    publish_accounts(p, s, accounts)
    p.close()
    wait_until(lambda: harness.sql(s, f"SELECT count() FROM accounts FINAL WHERE startsWith(account_id, '{prefix}')")
               == str(markers), 120, 0.1, what="the stage marker accounts")
    caught_up_s = _catch_up(s)
    arrived: dict[str, float] = {}
    stop, ready = threading.Event(), threading.Event()
    follower = threading.Thread(target=_follow, args=(s, prefix, arrived, stop, ready), daemon=True)
    follower.start()
    ready.wait(60)
    run_started = datetime.now(timezone.utc)
    load = start_load(s, rate, seconds)
    accepted: dict[str, float] = {}
    started = time.perf_counter()
    for i, account in enumerate(accounts):
        time.sleep(max(0.0, started + i * seconds / markers - time.perf_counter()))
        event = {"type": "email_open", "email": f"m@stage{run}-{i}.example", "campaign_id": "bench",
                 "occurred_at": datetime.now(timezone.utc).isoformat(), "event_id": str(uuid.uuid4())}
        _post(f"{s.hooks_url}/hooks/events", [event], s.hook_secrets[0])  # opens come signed
        accepted[account.account_id] = time.perf_counter()
    try:
        _await_markers(arrived, markers, WAIT_S)
    finally:
        stop.set()
        follower.join(10)
        out, _ = load.communicate(timeout=120)
    offered = json.loads(out.strip().splitlines()[-1])
    return {**latencies_of(accepted, dict(arrived), time.perf_counter()),
            "offered_events_per_s": offered["events_per_s"], "load_errors": offered["errors"],
            "caught_up_s": caught_up_s, **evaluations_since(s, run_started)}


# How long the markers are waited for once the last is sent. A worker slower than the load it is offered
# leaves some behind a growing backlog: they are counted as still waiting, and the run goes on to its next
# section rather than stop here.
WAIT_S = 180.0


def _await_markers(arrived: dict[str, float], markers: int, seconds: float) -> None:
    try:
        wait_until(lambda: len(arrived) >= markers, seconds, 0.2, what="every marker account's stage change")
    except AssertionError:
        pass  # latencies_of says how many did not arrive and counts them as the time they waited


def latencies_of(accepted: dict[str, float], arrived: dict[str, float], now: float) -> dict:
    """Quantiles of touch-accepted to change-read times. A marker whose change has not arrived counts as the
    time it has waited so far: the quantiles are then lower bounds (`markers_missing` > 0 says so)."""
    latencies = [arrived.get(a, now) - t for a, t in accepted.items()]
    return {**quantiles(latencies), "max_s": max(latencies), "markers": len(latencies),
            "markers_missing": sum(1 for a in accepted if a not in arrived)}


# An evaluation that decides at most this many accounts is past a bulk load's backlog (under the section's own
# load one decides a few dozen)
SETTLED_ACCOUNTS = 1000


def _catch_up(s: Settings) -> float:
    """Wait until the stage job has worked through what the store holds now (an evaluation that began after
    this moment and decided few accounts is done): the markers then measure steady load, not the backlog a
    bulk load leaves (every account's first stage changes). Returns how long that took."""
    started, since = time.perf_counter(), datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    wait_until(lambda: harness.sql(s, f"SELECT count() FROM stage_marks WHERE marked_at > '{since}' "
                                      f"AND decided <= {SETTLED_ACCOUNTS}") != "0",
               900, 0.5, what="a stage evaluation past the earlier load's backlog before the markers")
    return time.perf_counter() - started


def evaluations_since(s: Settings, since: datetime) -> dict:
    """Where a marker's time went: the worker's stage evaluations during the run, read as Data health reads
    them (ui.queries_stages): how many, how long each took, how many accounts they decided, the longest gap."""
    from sinks.client import reader_client
    from ui.queries_stages import STAGE_EVALUATIONS, since_ms

    client = reader_client(s)
    try:
        rows = list(client.query(STAGE_EVALUATIONS, parameters=since_ms(0, since.timestamp())).named_results())
    finally:
        client.close()
    row = rows[0] if rows else {"evaluations": 0, "median_took_ms": 0, "max_took_ms": 0, "max_decided": 0,
                                "max_gap_ms": 0}
    return {"evaluations": int(row["evaluations"]), "evaluation_p50_s": row["median_took_ms"] / 1000,
            "evaluation_max_s": row["max_took_ms"] / 1000, "evaluation_max_accounts": int(row["max_decided"]),
            "evaluation_max_gap_s": row["max_gap_ms"] / 1000}
