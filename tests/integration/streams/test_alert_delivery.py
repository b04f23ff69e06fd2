"""Alert delivery on the real engine to a real HTTP receiver and a real SMTP server: each destination gets each
alert once, in the format its service documents, escaped against a hostile account name; a failing destination
is retried with exponential backoff and every attempt is in alert_deliveries; the receiver can verify the
signature with pulse's own inbound verifier."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from alert_receivers import HttpReceiver, SmtpReceiver
from schemas.alert_rules import AlertRules, Email, Rule, Slack, Webhook
from sinks.store import Store
from streams.alerts_job import run_once
from streams.tracking import signatures

HOSTILE = "<!channel> *Acme* <https://evil.example|click> & <b>bold</b>\r\nBcc: all@corp.example"
T0 = datetime.now(timezone.utc).replace(microsecond=0)
DASH = "https://pulse.example"


def seed(client, db: str) -> Store:
    client.insert(f"{db}.accounts", [["acme", HOSTILE, [], [], "1", 1, None, "Avery", T0],
                                     ["globex", "Globex", [], [], "2", 0, None, "Blake", T0]],
                  column_names=("account_id", "name", "domains", "ip_ranges", "tier", "is_target", "committee_size",
                                "owner", "updated_at"))
    store = Store(client, db)
    store.record_stage_changes(("change_id", "account_id", "stage_from", "stage_to", "changed_at", "minutes_90d"), [
        ["acme:1", "acme", "engaged", "mqa", T0 - timedelta(hours=1), Decimal("142.50")],
        ["globex:1", "globex", "unaware", "mqa", T0 - timedelta(hours=2), Decimal("120.00")],
        ["old:1", "acme", "unaware", "mqa", T0 - timedelta(days=3), Decimal("100.00")]])  # outside the lookback
    return store


def deliveries(client, db: str, rule: str) -> list[tuple]:
    return client.query(f"SELECT change_id, status, attempts, last_error, sent_at IS NOT NULL, next_at "
                        f"FROM {db}.alert_deliveries WHERE rule = %(r)s ORDER BY attempts",
                        parameters={"r": rule}).result_rows


def test_each_destination_gets_each_alert_once_and_a_failing_one_is_retried_with_backoff(engine):
    client, settings = engine
    store = seed(client, settings.database)
    with HttpReceiver() as slack, HttpReceiver(fail_first=2) as hook, SmtpReceiver() as smtp:
        rules = AlertRules((
            Rule("mqa-slack", "became_mqa", Slack(slack.url), target=True),
            Rule("mqa-crm", "became_mqa", Webhook(hook.url, "alert-secret"), tiers=("1",)),
            Rule("mqa-mail", "became_mqa", Email("127.0.0.1", smtp.port, "pulse@example.com", ("sales@example.com",),
                                                 starttls=False), owners=("Avery", "Blake")),
        ), retry_base_seconds=1.0, max_attempts=5)

        def at(seconds: float) -> list:
            return run_once(store, rules, T0 + timedelta(seconds=seconds), DASH, 86400)

        first = at(0)
        assert sorted((r[0], r[1], r[5]) for r in first) == [
            ("mqa-crm", "acme:1", "retrying"), ("mqa-mail", "acme:1", "sent"), ("mqa-mail", "globex:1", "sent"),
            ("mqa-slack", "acme:1", "sent")]
        # the timeline of the failing webhook: fails at 0 and 1 s, waits 1 s then 2 s, accepted at 3 s
        assert at(0.5) == [] and [r[5] for r in at(1)] == ["retrying"] and at(2.9) == []
        assert [(r[0], r[5], r[6]) for r in at(3)] == [("mqa-crm", "sent", 3)]
        assert at(100) == []

        assert [(r[0], r[1], r[2], r[3], r[4]) for r in deliveries(client, settings.database, "mqa-crm")] == [
            ("acme:1", "retrying", 1, "HTTP 500 from the destination", False),
            ("acme:1", "retrying", 2, "HTTP 500 from the destination", False),
            ("acme:1", "sent", 3, "", True)]
        next_at = [r[5].replace(tzinfo=timezone.utc) for r in deliveries(client, settings.database, "mqa-crm")[:2]]
        assert next_at == [T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)]
        assert len(slack.requests) == 1 and len(hook.requests) == 1 and len(smtp.messages) == 2

        check_slack(slack.requests[0].body)
        check_webhook(hook.requests[0])
        check_email(smtp.messages[0] if "acme" in smtp.messages[0].get_body(("plain",)).get_content()
                    else smtp.messages[1])


def check_slack(body: bytes) -> None:
    """Slack's incoming webhook JSON: `text` plus Block Kit `blocks` (section with a mrkdwn text object,
    context); Slack's control characters &, <, > from the account name arrive as entities."""
    payload = json.loads(body)
    assert set(payload) == {"text", "blocks"}
    section, context = payload["blocks"]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert context["type"] == "context" and context["elements"][0]["text"] == (
        f"<{DASH}/account?account=acme|Open in pulse>")
    for text in (payload["text"], section["text"]["text"]):
        assert "&lt;!channel&gt;" in text and "&lt;https://evil.example|click&gt;" in text and "&amp;" in text
        assert "<!channel>" not in text and "<https://evil" not in text and "\n" not in text.split("\n")[-1]
        assert "Bcc: all@corp.example" in text  # the newline before it became a space: one line, no header
    assert len(section["text"]["text"]) <= 3000


def check_webhook(request) -> None:
    assert request.headers["Content-Type"] == "application/json"
    assert signatures.check(("alert-secret",), request.headers["X-Pulse-Signature"],
                            request.headers["X-Pulse-Timestamp"], request.body, time.time()) is None
    assert signatures.check(("other-secret",), request.headers["X-Pulse-Signature"],
                            request.headers["X-Pulse-Timestamp"], request.body, time.time()) is not None
    assert request.headers["X-Pulse-Delivery"] == "mqa-crm:acme:1"
    body = json.loads(request.body)
    assert (body["type"], body["rule"], body["kind"], body["change_id"]) == ("pulse.alert", "mqa-crm", "became_mqa",
                                                                             "acme:1")
    assert body["account"] == {"id": "acme", "name": HOSTILE, "owner": "Avery", "tier": "1", "is_target": True}
    assert body["detail"] == "142.50 minutes in 90 days" and body["url"] == f"{DASH}/account?account=acme"


def check_email(msg) -> None:
    assert msg["Subject"].startswith("pulse: <!channel> *Acme*") and "\n" not in msg["Subject"]
    assert msg["Bcc"] is None and msg["To"] == "sales@example.com"
    page = msg.get_body(("html",)).get_content()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page and "&lt;!channel&gt;" in page
    assert f'href="{DASH}/account?account=acme"' in page


def test_a_destination_that_never_answers_is_recorded_failed_after_the_last_attempt(engine):
    client, settings = engine
    store = seed(client, settings.database)
    with HttpReceiver(fail_first=99) as hook:
        rules = AlertRules((Rule("down", "became_mqa", Webhook(hook.url, "s"), owners=("Blake",)),),
                           retry_base_seconds=1.0, max_attempts=2)
        for second in (0, 1, 5, 50):
            run_once(store, rules, T0 + timedelta(seconds=second), DASH, 86400)
    assert [(r[0], r[1], r[2]) for r in deliveries(client, settings.database, "down")] == [
        ("globex:1", "retrying", 1), ("globex:1", "failed", 2)]
    assert hook.failed == 2 and hook.requests == []


def test_surging_and_re_engaged_are_one_alert_per_account_and_week_and_every_kind_reads(engine):
    client, settings = engine
    store = seed(client, settings.database)
    client.command(
        f"INSERT INTO {settings.database}.account_engagement_snapshot (evaluated_at, account_id, account_name, tier, "
        f"owner, is_target, minutes_7d, minutes_90d, surging, re_engaged, last_activity_at) VALUES "
        f"(now64(3), 'acme', 'x', '1', 'Avery', 1, 12.5, 30, 1, 1, now64(3) - INTERVAL 1 HOUR)")
    week = (datetime.now(timezone.utc) - timedelta(hours=1)).date()
    monday = (week - timedelta(days=week.weekday())).isoformat()
    since = datetime.now(timezone.utc) - timedelta(days=1)
    for kind in ("surging", "re_engaged"):
        (row,) = store.alert_moments(kind, since, 86400)
        assert row[:7] == (kind, f"acme:{kind}:{monday}", "acme", HOSTILE, "Avery", "1", 1)
        assert row[8] == "12.50 minutes in 7 days, 30.00 in 90 days"
    assert store.alert_moments("first_meeting", since, 86400) == []
    assert store.alert_moments("sla_breach", since, 86400) == []  # no funnel data: nothing to breach
