"""Parts started before Kafka: the hooks serve 503s and the worker waits, then both carry on.

A restart of a whole host, or Kafka still booting, starts pulse's parts first: before, the worker and
the hooks failed to start ("NoBrokersAvailable") and stayed down until someone restarted them.
"""
from __future__ import annotations

import urllib.request
import uuid
from datetime import datetime, timezone

from conftest import free_port, sql_rows, start_service, wait_until
from hooks_helpers import post_signed
from pulse.support.broker import start_broker
from pulse.support.processes import start_part
from schemas.events import EmailClick, encode_batch

SECRET = "late-kafka-test-hook-secret"


def _ready(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def test_hooks_and_worker_started_before_kafka_wait_for_it(settings, tmp_path):
    late = settings.replace(kafka_bootstrap=f"127.0.0.1:{free_port()}", hook_secrets=(SECRET,))
    hooks = start_service("hooks", ["hooks"], late, f"http://127.0.0.1:{late.hooks_port}/health", tmp_path)
    worker = start_part("worker", late, tmp_path, None)  # not ready until Kafka is there
    person = f"{uuid.uuid4().hex[:8]}@late.example"
    body = encode_batch([EmailClick(event_id=uuid.uuid4(), occurred_at=datetime.now(timezone.utc), email=person,
                                    campaign_id="c1", url="https://example.com/x")])
    try:
        refused = post_signed(late, "/hooks/events", body, SECRET)
        assert refused.status == 503 and refused.headers.get("Retry-After"), (refused.status, refused.body)
        wait_until(lambda: "is unreachable" in worker.tail(), 60, 0.2, what="the worker to say it waits for Kafka")
        assert worker.running()

        broker = start_broker("127.0.0.1", int(late.kafka_bootstrap.rsplit(":", 1)[1]), tmp_path / "late.log")
        try:
            wait_until(lambda: _ready(f"http://127.0.0.1:{late.sql_port}/ping"), 120, 0.5, what="the worker ready")
            wait_until(lambda: post_signed(late, "/hooks/events", body, SECRET).status == 202, 60, 0.5,
                       what="the hooks to accept once Kafka is there")
            wait_until(lambda: sql_rows(late, "SELECT count() FROM events WHERE email = %(p)s", {"p": person})
                       == [(1,)], 60, 0.5, what="the event stored")
            # one line when the wait began, then one per interval, and the Kafka client's complaints a
            # few per interval: not a line per attempt
            log = worker.tail(100_000)
            assert log.count("waiting for Kafka") + log.count("is unreachable") <= 3, log[-3000:]
            assert sum(" kafka." in line and ("ERROR" in line or "WARNING" in line)
                       for line in log.splitlines()) <= 12, log[-3000:]
        finally:
            worker.stop()
            hooks.stop()
            broker.stop()
    finally:
        if worker.running():
            worker.kill()
