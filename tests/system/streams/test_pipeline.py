"""One page view end to end: hooks -> Kafka -> Faust worker -> ClickHouse -> the analysts' view."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from schemas.registry import AccountRecord, ContactRecord
from schemas import topics
from streams.producer import producer, publish_accounts, publish_contacts


def post(settings, path: str, body) -> tuple[int, dict]:
    request = urllib.request.Request(f"{settings.hooks_url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_signed(settings, body) -> tuple[int, dict]:
    """POST to /hooks/events signed with the first hook secret: the path for events that name their
    people and addresses (the public /collect ignores `account_id` and `ip`, and takes an email only
    on identify and form_submit)."""
    from streams.tracking import signatures

    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **signatures.headers(settings.hook_secrets[0], int(time.time()), raw)}
    request = urllib.request.Request(f"{settings.hooks_url}/hooks/events", data=raw, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def minutes_of(settings, account_id: str):
    rows = sql_rows(settings, "SELECT minutes_7d, stage, people_engaged_90d FROM account_engagement "
                              "WHERE account_id = %(a)s", {"a": account_id})
    return rows[0] if rows else None


def test_page_view_reaches_account_engagement(settings, start):
    settings = settings.replace(hook_secrets=("pipeline-secret",))
    start("worker", settings)
    start("hooks", settings)
    p = producer(settings)
    publish_accounts(p, settings, [AccountRecord(account_id="acme", name="Acme", domains=("acme.example",)),
                                   AccountRecord(account_id="globex", name="Globex", domains=("globex.example",))])
    publish_contacts(p, settings, [ContactRecord(email="ceo@acme.example", account_id="acme", role="c_level")])
    p.close()
    wait_until(lambda: minutes_of(settings, "globex") is not None, 60, what="the registry to reach ClickHouse")

    now = datetime.now(timezone.utc).isoformat()
    status, body = post_signed(settings, [
        {"type": "page_view", "occurred_at": now, "url": "https://us.example/pricing", "email": "ana@acme.example"},
        {"type": "page_view", "occurred_at": now, "url": "https://us.example/", "email": "CEO@acme.example"},
        {"type": "page_view", "occurred_at": now, "url": "https://us.example/", "email": "bob@gmail.com"},
        {"type": "page_view", "occurred_at": "not a time", "url": "https://us.example/"},
    ])
    assert status == 202
    assert body["accepted"] == 3
    assert body["rejected"][0]["index"] == 3
    assert {e["field"] for e in body["rejected"][0]["errors"]} >= {"occurred_at"}

    # 2 minutes (the CEO, a known contact, c_level x2.0); ana's minute is stored at acme but does not
    # count toward the stage until she is confirmed (a contact, or signed email/event/call/meeting
    # input: README, Security); the gmail visitor resolves to nobody
    wait_until(lambda: minutes_of(settings, "acme") == (Decimal("2.00"), "aware", 1), 30,
               what="acme to show 2.00 minutes from its known contact")
    assert minutes_of(settings, "globex") == (Decimal("0.00"), "unaware", 0)
    methods = dict(sql_rows(settings, "SELECT method, count() FROM events GROUP BY method"))
    assert methods == {"domain": 1, "contact": 1, "unresolved": 1}
    # the rejected item is kept, with its reasons, for an operator to see and replay
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons, payload FROM rejected_events"), 30,
                          what="the rejected event in rejected_events")
    assert rejected[0][0] == "webhook:events" and "occurred_at" in rejected[0][1] and "not a time" in rejected[0][2]

    # the same request again (a retry of the beacon) changes no number
    assert post_signed(settings, [
        {"type": "page_view", "occurred_at": now, "url": "https://us.example/pricing", "email": "ana@acme.example"},
    ])[0] == 202
    marker = [{"type": "email_open", "occurred_at": now, "campaign_id": "marker", "email": "zed@globex.example"}]
    assert post_signed(settings, marker)[0] == 202
    wait_until(lambda: minutes_of(settings, "globex") == (Decimal("1.00"), "aware", 1), 30, what="the marker event")
    assert minutes_of(settings, "acme") == (Decimal("2.00"), "aware", 1)


def test_a_producer_writing_the_topic_directly_gets_the_hooks_rules(settings, start):
    # Well-formed JSON of the wire format, but an IP that is no address (scoring used to raise on it,
    # so the worker stopped on that message at every restart) and an email that is not normalised.
    worker = start("worker", settings)
    p = producer(settings)
    publish_accounts(p, settings, [AccountRecord(account_id="acme", name="Acme", domains=("acme.example",))])
    wait_until(lambda: sql_rows(settings, "SELECT account_id FROM accounts FINAL"), 60,
               what="the registry to reach ClickHouse")
    now = datetime.now(timezone.utc).isoformat()
    p.send(settings.topic(topics.TOUCHES), json.dumps([
        {"type": "page_view", "event_id": "6f1c1b2a-3d4e-4f50-8a6b-7c8d9e0f1a2b", "occurred_at": now,
         "url": "https://us.example/", "ip": "not-an-ip"},
        {"type": "page_view", "event_id": "6f1c1b2a-3d4e-4f50-8a6b-7c8d9e0f1a2c", "occurred_at": now,
         "url": "https://us.example/", "email": " Ana@ACME.example"},
    ]).encode())
    p.flush()
    p.close()
    stored = wait_until(lambda: sql_rows(settings, "SELECT email, account_id, method FROM events"), 60,
                        what="the valid event in ClickHouse")
    assert stored == [("ana@acme.example", "acme", "domain")]
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons, payload FROM rejected_events"), 30,
                          what="the bad event in rejected_events")
    assert rejected[0][0] == "worker" and "not a valid IPv4 or IPv6 address" in rejected[0][1]
    assert "not-an-ip" in rejected[0][2]
    assert worker.running()  # still running
