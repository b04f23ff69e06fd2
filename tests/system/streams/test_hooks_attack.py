"""Issue 13, finding 9, through the real hooks and worker: twelve form_submits with made-up emails and
`account_id: "acc-0003"` made acc-0003 an MQA within 15 s. Now a page cannot name the account, a
claimed email counts only once confirmed by signed input or the CRM, and then at most one form a day."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from hooks_helpers import call, post_json, post_signed
from opskit import on_one_day
from schemas.registry import AccountRecord
from streams.producer import producer, publish_accounts

SECRET = "attack-test-secret"


def engagement(settings, account_id: str):
    rows = sql_rows(settings, "SELECT minutes_90d, people_engaged_90d, stage FROM account_engagement "
                              "WHERE account_id = %(a)s", {"a": account_id})
    return rows[0] if rows else None


def stored_forms(settings, account_id: str) -> int:
    rows = sql_rows(settings, "SELECT sum(touches) FROM engagement_person_daily "
                              "WHERE account_id = %(a)s AND channel = 'form'", {"a": account_id})
    return int(rows[0][0] or 0) if rows else 0


def test_twelve_scripted_form_submits_do_not_make_an_account_mqa(settings, start):
    settings = settings.replace(hook_secrets=(SECRET,))
    start("worker", settings)
    start("hooks", settings)
    p = producer(settings)
    publish_accounts(p, settings, [AccountRecord(account_id="acc-0003", name="Victim", domains=("victim.example",)),
                                   AccountRecord(account_id="acc-0009", name="Marker", domains=("marker.example",))])
    p.close()
    wait_until(lambda: engagement(settings, "acc-0009") is not None, 60, what="the registry in ClickHouse")
    now = datetime.now(timezone.utc)
    forms_at = on_one_day(now, settings.reporting_tz, timedelta(minutes=12))  # the caps are per day

    # the attack (no Origin header): made-up people, two of them over 20 minutes, 120 minutes in all:
    # an MQA when the page could name the account and every form counted
    people = ["p1@victim.example"] * 6 + ["p2@victim.example"] * 3 + [f"p{n}@victim.example" for n in range(3, 6)]
    forms = [{"type": "form_submit", "event_id": str(uuid.uuid4()),
              "occurred_at": (forms_at - timedelta(minutes=n)).isoformat(),
              "form_id": f"demo-{n}", "email": email, "account_id": "acc-0003", "ip": "203.0.113.3"}
             for n, email in enumerate(people)]
    reply = post_json(settings, "/collect", forms)
    assert reply.status == 202 and reply.json()["accepted"] == 12
    wait_until(lambda: stored_forms(settings, "acc-0003") == 12, 60, what="the twelve forms stored and summed")

    # then signed input for another account, so one evaluation is known to have seen the forms
    meeting = [{"type": "meeting", "occurred_at": now.isoformat(), "email": "boss@marker.example", "duration_minutes": 15}]
    assert post_signed(settings, "/hooks/events", json.dumps(meeting).encode(), SECRET).status == 202
    wait_until(lambda: sql_rows(settings, "SELECT 1 FROM stage_changes WHERE account_id = 'acc-0009'"), 60,
               what="the marker account's stage change")
    assert engagement(settings, "acc-0003") == (Decimal("0.00"), 0, "unaware")
    assert sql_rows(settings, "SELECT count() FROM stage_changes WHERE account_id = 'acc-0003'") == [(0,)]
    # the forms are kept, with the person each claimed to be; only the stage ignores them
    assert sql_rows(settings, "SELECT uniqExact(person), sum(minutes) FROM engagement_person_daily "
                              "WHERE account_id = 'acc-0003'") == [(5, Decimal("50.00"))]  # one form a day each

    # a signed touch confirms p1 (an email link's open): p1's forms count now, one form's worth a day
    opened = [{"type": "email_open", "occurred_at": now.isoformat(), "email": "p1@victim.example", "campaign_id": "c1"}]
    assert post_signed(settings, "/hooks/events", json.dumps(opened).encode(), SECRET).status == 202
    # 1 (the open) + 10 (six forms on one day, capped at form_submit_daily_cap = 10)
    wait_until(lambda: engagement(settings, "acc-0003") == (Decimal("11.00"), 1, "engaged"), 60,
               what="acc-0003 engaged by the confirmed person only, forms capped")


def test_junk_reaches_rejected_events_as_a_prefix_with_its_length_and_hash(settings, start):
    start("worker", settings)
    start("hooks", settings)
    junk = b"<html>" + b"x" * (1024 * 1024 - 100)
    assert call(settings, "POST", "/collect", junk, {"Content-Type": "text/html"}).status == 400
    rows = wait_until(lambda: sql_rows(settings, "SELECT length(payload), reasons FROM rejected_events"), 60,
                      what="the rejected body in rejected_events")
    import hashlib
    assert rows[0][0] == 4096 and hashlib.sha256(junk).hexdigest() in rows[0][1] and str(len(junk)) in rows[0][1]
