"""Freshness under steady load: from a hook's 202 to the touch counting in `account_engagement`.

A second process offers background touches through the hooks at a steady rate; this process sends a
marker touch (1 minute, to an account of its own) every 0.2 s and polls the view; each marker's
latency is the first poll that counts it minus the moment its 202 came back.
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

SLICES = 64
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
    # account_engagement is account_engagement_part over one slice holding every account; the marker's
    # row is the same from the slice that holds it, which evaluates a 64th of the accounts (the whole
    # view costs ~150 ms at 1M events, on the worker's own two cores: polling it measured the poller)
    marker_slice = int(harness.sql(s, f"SELECT cityHash64('bench-marker') % {SLICES}"))
    counted = (f"SELECT minutes_7d FROM account_engagement_part(slices = {SLICES}, slice = {marker_slice}) "
               "WHERE account_id = 'bench-marker'")
    base = Decimal(harness.sql(s, counted))
    load = start_load(s, rate, seconds)
    accepted: list[float] = []
    seen_at: dict[int, float] = {}
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            value = Decimal(harness.sql(s, counted))
            now = time.perf_counter()
            for n in range(1, int(value - base) + 1):
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
    wait_until(lambda: len(seen_at) >= len(accepted), 120, 0.1, what="every marker in account_engagement")
    stop.set()
    poller.join()
    out, _ = load.communicate(timeout=120)
    offered = json.loads(out.strip().splitlines()[-1])
    latencies = sorted(seen_at[i + 1] - t for i, t in enumerate(accepted))
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {"p50_s": q[49], "p95_s": q[94], "p99_s": q[98], "markers": len(latencies),
            "offered_events_per_s": offered["events_per_s"], "load_errors": offered["errors"],
            "worker_rss_mb": worker.rss_mb()}


def rss_under_load(s: Settings, worker: harness.Proc, rate: int, seconds: float) -> list[float]:
    load = start_load(s, rate, seconds)
    samples = [worker.rss_mb()]
    started = time.perf_counter()
    while load.poll() is None and time.perf_counter() - started < seconds + 60:
        time.sleep(min(5.0, max(0.5, seconds / 20)))
        samples.append(worker.rss_mb())
    load.communicate(timeout=60)
    return samples


def load_events(rnd: random.Random, n: int, occurred_at: str) -> list[dict]:
    """`n` page views of the background load: the visitors drawn from `rnd` (the same traffic at every run),
    the event ids new each time. Not from `rnd`: every load of a run would send the same ids, and the sections
    after the first (stage changes, memory) would offer the worker only duplicates of the first's touches,
    which it drops without storing (BENCHMARKS.md, the seventh run at 100M)."""
    return [{"type": "page_view", "occurred_at": occurred_at, "url": "https://www.example.com/load",
             "email": f"c{rnd.randrange(10**6)}@acc{rnd.randrange(1000)}.example", "event_id": str(uuid.uuid4())}
            for _ in range(n)]


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
