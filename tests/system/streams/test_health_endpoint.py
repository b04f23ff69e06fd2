"""A real worker's health endpoint, table and `pulse status`, and its fault-injection route."""
from __future__ import annotations

import json


from conftest import sql_rows, wait_until
from opskit import (FAULT_TOKEN, accounts, admin_post, generate, health, now_utc, publish_registry, pulse,
                    send_in_messages, wait_for_registry, with_faults)
from schemas import topics
from streams.producer import producer


def test_worker_health_endpoint_table_and_pulse_status(settings, start):
    publish_registry(settings, accounts(5))
    worker = start("worker", settings)
    wait_for_registry(settings, 5)
    events, expected = generate(600, 5, seed=1, now=now_utc())
    messages = send_in_messages(settings, events, seed=1)
    p = producer(settings)  # and one message that is not JSON: a dead letter, counted and kept
    p.send(settings.topic(topics.TOUCHES), b'[{"type": "page_view", "occurred_at": ')
    p.close()
    messages += 1

    def caught_up():
        h = health(settings)
        parts = h["partitions"]
        return h if (h["written"] + h["duplicates"] == len(events) and h["dead_letters"] == 1
                     and len(parts) == 2 and h["consumer_lag"] == 0
                     and sum(p["end"] for p in parts) == messages) else None

    reading = wait_until(caught_up, 60, what="the health endpoint to show every event written and no lag")
    assert reading["sink_state"] == "ok" and reading["broker_state"] == "ok" and reading["last_error"] == ""
    # fault injection is off by default: no outage switch, no route, nothing about it in the reading
    assert "outage_remaining_s" not in reading
    for headers in ({}, {"Authorization": f"Bearer {FAULT_TOKEN}"}, {"Origin": "https://evil.example"}):
        assert admin_post(settings, "?seconds=inf", headers)[0] == 404
    assert health(settings)["sink_state"] == "ok"
    assert reading["written"] == len(expected.ids)
    assert [p["committed"] for p in reading["partitions"]] == [p["end"] for p in reading["partitions"]]

    # the dashboard's table: exactly these columns, and the worker writes rows every few seconds
    columns = sql_rows(settings, "SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                                 "AND table = 'pipeline_health' ORDER BY position")
    assert columns == [("at", "DateTime64(3, 'UTC')"), ("worker", "String"), ("events_in_per_s", "Float64"),
                       ("events_out_per_s", "Float64"), ("consumer_lag", "UInt64"), ("oldest_unflushed_s", "Float64"),
                       ("dead_letters", "UInt64"), ("sink_state", "String"), ("last_error", "String"),
                       ("broker_state", "String")]
    rows = wait_until(lambda: sql_rows(settings, "SELECT worker, sink_state, broker_state FROM pipeline_health "
                                                 "WHERE consumer_lag = 0 AND events_in_per_s > 0"), 30,
                      what="a pipeline_health row of the caught-up worker")
    assert rows[0] == ("test-worker", "ok", "ok")

    status = pulse(settings, "status")
    assert status.returncode == 0, status.stderr
    assert "clickhouse  ok" in status.stdout and "kafka       ok" in status.stdout
    assert "consumer lag 0 messages" in status.stdout
    assert "dead letters 1 since the worker started" in status.stdout
    assert "rejected_events  worker 1  (stored, by source)" in status.stdout
    assert len([line for line in status.stdout.splitlines() if line.strip().startswith(("0 ", "1 "))]) == 2
    assert "fault inj." not in status.stdout and "outage" not in status.stdout
    as_json = pulse(settings, "status", "--json")
    assert as_json.returncode == 0 and "outage_remaining_s" not in as_json.stdout

    worker.stop()
    stopped = pulse(settings, "status")
    assert stopped.returncode == 1
    assert "pulse is not running" in stopped.stderr and str(settings.health_port) in stopped.stderr
    # the broker runs on its own here, so status still reports how far the consumer group got
    assert "consumer lag 0 messages" in stopped.stdout


def test_a_worker_with_fault_injection_and_no_token_does_not_start(settings):
    refused = pulse(settings.replace(fault_injection=True), "worker", timeout=60)
    assert refused.returncode == 2
    assert "PULSE_FAULT_INJECTION is on but PULSE_FAULT_TOKEN is not set" in refused.stderr


def test_the_outage_switch_answers_only_its_token_and_a_finite_capped_duration(settings, start):
    settings = with_faults(settings, max_seconds=60)
    start("worker", settings)
    assert health(settings)["outage_remaining_s"] == 0
    token = {"Authorization": f"Bearer {FAULT_TOKEN}"}
    refusals = [
        ("?seconds=inf", {"Origin": "https://evil.example"}, 401, "token"),   # a web page: no token
        ("?seconds=30", {"Authorization": "Bearer not-the-token-at-all"}, 403, "token"),
        ("?seconds=30", {"X-Pulse-Fault-Token": "not-the-token-at-all"}, 403, "token"),
        ("?seconds=inf", token, 400, "seconds"),
        ("?seconds=nan", token, 400, "seconds"),
        ("?seconds=-1", token, 400, "seconds"),
        ("?seconds=61", token, 400, "seconds"),                             # over PULSE_FAULT_MAX_SECONDS
        ("", token, 400, "seconds"),
    ]
    for query, headers, status, field in refusals:
        answer = admin_post(settings, query, headers)
        assert answer[0] == status, (query, headers, answer)
        body = json.loads(answer[1])                                        # JSON, never `Infinity`
        assert [p["field"] for p in body["problems"]] == [field], body
    assert health(settings)["outage_remaining_s"] == 0                     # none of them armed it

    status, body = admin_post(settings, "?seconds=60", {"X-Pulse-Fault-Token": FAULT_TOKEN})
    assert (status, json.loads(body)) == (200, {"sink_outage_s": 60.0})
    assert 0 < health(settings)["outage_remaining_s"] <= 60
    assert "fault inj.  on (test/ops only): injected sink outage" in pulse(settings, "status").stdout
    status, body = admin_post(settings, "?seconds=0", token)              # disarm
    assert (status, json.loads(body)) == (200, {"sink_outage_s": 0.0})
    assert health(settings)["outage_remaining_s"] == 0
