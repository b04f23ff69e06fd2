"""Kafka outages, as an operator meets them: the broker SIGKILLed under the hooks and the worker.

Each test runs its own embedded broker on a free port, kills it and starts a new one on the same port.
The embedded broker keeps its topics in memory only, so a restarted one is empty: the tests re-create
the topics (as `pulse up` or an operator would) and publish again what the senders would re-send.
"""
from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone


from conftest import wait_until
from opskit import (accounts, expected_totals, generate, health, now_utc, publish_registry, stored_totals,
                    wait_for_registry)
from hooks_helpers import post_signed
from schemas.events import encode_batch
from streams.kafka_admin import ensure_topics

OUTAGE_S = 20
SECRET = "outage-test-hook-secret"


def collect(settings, events: list[dict]) -> tuple[int, dict, dict]:
    """POST /collect with a 3 s client timeout: a hook that does not answer within it fails the test."""
    request = urllib.request.Request(f"{settings.hooks_url}/collect", data=json.dumps(events).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


def page_view() -> dict:
    return {"type": "page_view", "event_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat(),
            "url": "https://www.example.com/pricing", "anonymous_id": "visitor-1"}


def hooks_health(settings) -> dict:
    with urllib.request.urlopen(f"{settings.hooks_url}/health", timeout=3) as response:
        return json.loads(response.read())


def test_hooks_answer_503_with_retry_after_while_kafka_is_down_and_recover(settings, own_broker, start):
    settings = settings.replace(kafka_bootstrap=own_broker.bootstrap)
    start("hooks", settings)
    assert collect(settings, [page_view()])[0] == 202

    own_broker.kill()
    for _ in range(5):  # the first waits out the budget, the next are refused at once; none hangs
        status, headers, body = collect(settings, [page_view()])
        assert status == 503, body
        assert int(headers["Retry-After"]) > 0
    state = hooks_health(settings)
    assert state["kafka"] == "unavailable" and state["kafka_unavailable"] >= 5

    own_broker.start()
    ensure_topics(settings)  # a restarted embedded broker is empty
    wait_until(lambda: collect(settings, [page_view()])[0] == 202, 60, 0.5, what="the hooks to accept again")
    assert hooks_health(settings)["kafka"] == "ok"


def client_lines_since(log, offset: int) -> list[str]:
    with open(log, "rb") as f:
        f.seek(offset)
        return [line for line in f.read().decode(errors="replace").splitlines() if line.strip()]


def test_worker_is_quiet_during_an_outage_and_stops_on_sigterm(settings, own_broker, start):
    settings = settings.replace(kafka_bootstrap=own_broker.bootstrap)
    worker = start("worker", settings)
    wait_until(lambda: health(settings)["broker_state"] == "ok", 60, 0.5, what="the worker's first reading")
    before = worker.log.stat().st_size

    own_broker.kill()
    wait_until(lambda: health(settings)["broker_state"].startswith("error"), 60, 0.5,
               what="the worker to notice the broker is gone")
    time.sleep(OUTAGE_S)  # the outage itself (its length is the test's input, not a condition to await)
    lines = client_lines_since(worker.log, before)
    print("\n".join(lines))
    assert len(lines) < 10, f"{len(lines)} log lines in a {OUTAGE_S} s outage"
    assert any("Kafka is unreachable" in line for line in lines)

    worker.stop(signal.SIGTERM, timeout=10)  # raises if the worker is still running after 10 s
    own_broker.start()  # for the fixture's own stop


def send_until_accepted(settings, events, secret: str, size: int = 200) -> int:
    """Post events to /hooks/events in signed batches as a sender does: on 503, wait and post the
    same batch again until it is accepted. Returns how many answers were 503."""
    refused = 0
    for start in range(0, len(events), size):
        body = encode_batch(events[start:start + size])
        while (reply := post_signed(settings, "/hooks/events", body, secret)).status == 503:
            assert int(reply.headers["Retry-After"]) > 0
            refused += 1
            time.sleep(0.2)  # the sender's back-off (shorter than Retry-After, to keep the test short)
        assert reply.status == 202, reply.body
    return refused


def test_broker_away_under_load_every_total_exact(settings, own_broker, start):
    """A broker that stops answering and comes back with its log (a server's restart, a network cut):
    frozen with SIGSTOP, so it keeps what it had, as a Kafka server keeps its log on disk. (The embedded
    broker SIGKILLed comes back empty, which no worker can make good: see the README.)"""
    settings = settings.replace(kafka_bootstrap=own_broker.bootstrap, hook_secrets=(SECRET,))
    publish_registry(settings, accounts(20))
    start("worker", settings)
    start("hooks", settings)
    wait_for_registry(settings, 20)
    events, expected = generate(6_000, 20, seed=18, now=now_utc())
    first, second = events[:3_000], events[3_000:]
    send_until_accepted(settings, first, SECRET)
    ids = {e.event_id for e in first}
    wait_until(lambda: stored_totals(settings)[2] == len(ids), 120, 0.5, what="the first half stored")

    # the broker goes away while a sender is posting the second half, and comes back
    sender = ThreadPoolExecutor(1).submit(send_until_accepted, settings, second, SECRET)
    own_broker.freeze()
    try:
        wait_until(lambda: hooks_health(settings)["kafka"] == "unavailable", 30, 0.2,
                   what="the hooks to see the outage")
        wait_until(lambda: health(settings)["broker_state"].startswith("error"), 60, 0.5,
                   what="the worker to see the outage")
    finally:
        own_broker.thaw()
    assert sender.result(timeout=180) > 0  # some batches were refused and sent again
    # and a sender that was not sure re-sends what it sent last before the outage: counted once
    send_until_accepted(settings, first[-500:], SECRET)
    want = expected_totals(expected)
    try:
        wait_until(lambda: stored_totals(settings) == want, 180, 0.5, what="every total after the restart")
    except AssertionError:
        pass  # the asserts below say which number is off
    minutes, touches, count = stored_totals(settings)
    assert count == want[2] == len(expected.ids)
    assert minutes == want[0]
    assert touches == want[1]
    assert hooks_health(settings)["kafka"] == "ok"
