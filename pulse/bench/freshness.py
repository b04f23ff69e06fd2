"""Freshness under steady load: from a hook's 202 to the touch counting in its account's engagement.

A second process offers background touches through the hooks at a steady rate; this process sends a
marker touch (1 minute, to an account of its own) every 0.2 s and polls where it counts; each marker's
latency is the first poll that counts it minus the moment its 202 came back. Two places are polled:
the store (STORED, the freshness target) and the dashboard's account numbers (SHOWN).
"""
from __future__ import annotations

import asyncio
import json
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from pulse.bench import harness
from pulse.support.waits import wait_until
from schemas.settings import Settings
from schemas.registry import AccountRecord
from streams.tracking import signatures

# Where a marker counts, both read by the table's key, so that a poll costs the same at any size of history:
# - STORED: in its account's engagement in the store (engagement_daily, written with the touch's chunk: what SQL,
#   the account picker and the day's rollups read);
# - SHOWN: in the dashboard's account numbers (account_engagement_snapshot, ACCOUNT_SUMMARY), which the stage
#   evaluation writes every few seconds.
# The poller read the marker's 64th of the view account_engagement before, which recomputes from every stored
# touch: on a store of 100M touches one poll took about 5 s of the worker's engine, under load, so the
# section measured the poller and slowed the worker it timed (BENCHMARKS.md, 2026-12-07).
STORED = "SELECT sum(touches) FROM engagement_daily WHERE kind = 'touch' AND account_id = 'bench-marker'"
SHOWN = "SELECT minutes_7d FROM account_engagement_snapshot FINAL WHERE account_id = 'bench-marker'"
MARKER = AccountRecord(account_id="bench-marker", name="Benchmark marker", domains=("marker.example",),
                       is_target=True)


def _post(url: str, events: list[dict], secret: str | None = None, patience: float = 60.0) -> None:
    """POST events as JSON, signed as a webhook when a secret is given. A 503 is the hooks' backpressure
    (Kafka slow or away): sent again after the Retry-After it names, as a producer should, for up to
    `patience` seconds; a marker's latency counts from the 202."""
    body = json.dumps(events).encode()
    give_up = time.monotonic() + patience
    while True:
        headers = {"Content-Type": "application/json"}
        if secret:  # signed anew: a signature's timestamp ages
            headers.update(signatures.headers(secret, int(time.time()), body))
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status != 202:
                    raise RuntimeError(f"hooks answered {response.status}")
                return
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or time.monotonic() > give_up:
                raise
            time.sleep(min(5.0, float(exc.headers.get("Retry-After") or 1)))


def start_load(s: Settings, rate: int, seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pulse.bench.freshness", s.hooks_url, str(rate), str(seconds)],
                            stdout=subprocess.PIPE, text=True)


def measure(s: Settings, rate: int, seconds: float, worker: harness.Proc) -> dict:
    from streams.producer import producer, publish_accounts

    p = producer(s)
    publish_accounts(p, s, [MARKER])
    p.close()
    wait_until(lambda: harness.sql(s, "SELECT count() FROM accounts FINAL WHERE account_id = 'bench-marker'") == "1",
               120, 0.05, what="the marker account")
    polled = {STORED: {}, SHOWN: {}}  # query -> {n: when the poll first counted n markers}
    base = {query: _count(s, query) for query in polled}
    load = start_load(s, rate, seconds)
    accepted: list[float] = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            for query, seen_at in polled.items():
                value = _count(s, query)
                now = time.perf_counter()
                for n in range(1, int(value - base[query]) + 1):
                    seen_at.setdefault(n, now)
            time.sleep(0.1)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        event = {"type": "email_open", "email": "m@marker.example", "campaign_id": "bench",
                 "occurred_at": datetime.now(timezone.utc).isoformat(), "event_id": str(uuid.uuid4())}
        # an email open comes signed (the public /collect takes page events only)
        _post(f"{s.hooks_url}/hooks/events", [event], s.hook_secrets[0])
        accepted.append(time.perf_counter())
        time.sleep(0.2)
    for query, what in ((STORED, "every marker stored"), (SHOWN, "every marker in the dashboard's numbers")):
        wait_until(lambda: len(polled[query]) >= len(accepted), 120, 0.1, what=what)
    stop.set()
    poller.join()
    out, _ = load.communicate(timeout=120)
    offered = json.loads(out.strip().splitlines()[-1])
    stored, shown = (quantiles([seen_at[i + 1] - t for i, t in enumerate(accepted)]) for seen_at in polled.values())
    return {**stored, **{f"shown_{k}": v for k, v in shown.items()}, "markers": len(accepted),
            "offered_events_per_s": offered["events_per_s"], "load_errors": offered["errors"],
            "worker_rss_mb": worker.rss_mb()}


def _count(s: Settings, query: str) -> Decimal:
    return Decimal(harness.sql(s, query) or 0)  # no row yet: the dashboard has not shown the marker


def quantiles(latencies: list[float]) -> dict:
    """p50, p95 and p99 of `latencies` in seconds."""
    ordered = sorted(latencies)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
    return {"p50_s": q[49], "p95_s": q[94], "p99_s": q[98]}


def rss_under_load(s: Settings, worker: harness.Proc, rate: int, seconds: float,
                   beside: harness.Proc | None = None) -> tuple[list[float], list[dict[str, float]]]:
    """The worker's RSS along the load, and at each sample the worker's memory_mb() with `beside`'s RSS."""
    load = start_load(s, rate, seconds)
    samples, parts = [], []
    started = time.perf_counter()
    while True:
        parts.append(worker.memory_mb() | ({"beside": beside.rss_mb()} if beside else {}))
        samples.append(parts[-1].get("VmRSS", 0.0))
        if load.poll() is not None or time.perf_counter() - started >= seconds + 60:
            break
        time.sleep(min(5.0, max(0.5, seconds / 20)))
    load.communicate(timeout=60)
    return samples, parts


def floor_growth(samples: list[float]) -> float:
    """RSS is a saw-tooth (the engine's query memory comes and goes), so one sample at either end may sit on a
    peak: a leak shows as a rising floor, the lowest RSS of the last third over the first."""
    third = max(1, len(samples) // 3)
    return min(samples[-third:]) - min(samples[:third])


def load_events(rnd: random.Random, n: int, occurred_at: str) -> list[dict]:
    """`n` page views of the background load as the snippet sends them to the public /collect: a visitor's
    cookie and engaged seconds, drawn from `rnd` (the same traffic at every run), the event ids new each time.
    Not from `rnd`: every load of a run would send the same ids, and the sections after the first (stage
    changes, memory) would offer the worker only duplicates of the first's touches, which it drops without
    storing (BENCHMARKS.md, the seventh run at 100M). Not an email, which /collect drops on a page view: the
    load was once one cookieless address's page views (the bench's 127.0.0.1), 4.8M in a day at 100M, which the
    behaviour rules judge as one group, in one query of 4 GB."""
    return [{"type": "page_view", "occurred_at": occurred_at, "url": "https://www.example.com/load",
             "anonymous_id": f"load-{rnd.randrange(10**6)}", "engaged_seconds": rnd.randrange(1, 120),
             "event_id": str(uuid.uuid4())} for _ in range(n)]


async def _offer(url: str, rate: int, seconds: float) -> dict:
    """Steady background load: 50-event requests, paced to `rate` events/s, bounded in time."""
    import aiohttp

    rnd = random.Random(7)
    per_request = 50
    interval = per_request / rate
    sent = errors = 0
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        pending = set()
        next_at = started
        while time.perf_counter() - started < seconds:
            body = json.dumps(load_events(rnd, per_request, datetime.now(timezone.utc).isoformat()))

            async def send(data=body):
                nonlocal sent, errors
                try:
                    async with session.post(url, data=data, headers={"Content-Type": "application/json"}) as r:
                        if r.status == 202:
                            sent += per_request
                        else:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1

            pending.add(asyncio.ensure_future(send()))
            pending = {t for t in pending if not t.done()}
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        if pending:
            await asyncio.wait(pending)
    elapsed = time.perf_counter() - started
    return {"events_per_s": sent / elapsed, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_offer(f"{sys.argv[1]}/collect", int(sys.argv[2]), float(sys.argv[3])))), flush=True)
