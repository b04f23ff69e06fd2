"""Lifecycle changes, account decisions and sales emails (issue 16) through the signed /hooks/crm, the
worker and ClickHouse: each reaches its table and view exactly once with the hand-worked values, a stage
outside PULSE_LIFECYCLE_STAGES is refused naming `stage` and dead-lettered, an inbound sales_email adds
exactly 2.00 minutes to its account (the outbound one none), and re-sending everything changes nothing."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from report_helpers import refreshed_after_now
from test_crm_hook import running_with_acme, send

NOW = datetime.now(timezone.utc).replace(microsecond=0)
H = timedelta(hours=1)
ANN = "ana@acme.example"


def at(t: datetime) -> datetime:
    return t.replace(tzinfo=None)  # DateTime64(3, 'UTC') comes back naive


def item(kind: str, when: datetime, **fields) -> dict:
    """As a CRM workflow posts it: no event_id (derived from the content)."""
    return {"type": kind, "occurred_at": when.isoformat(), **fields}


ITEMS = [
    item("lifecycle_change", NOW - 3 * H, email=ANN, stage="lead", source="marketing", owner="kim"),
    item("lifecycle_change", NOW - 1 * H, email=ANN, stage="sql", owner="kim", lead_status="connected"),
    item("lifecycle_change", NOW - 2 * H, email=ANN, stage="mql", owner="kim"),  # older, arrives late
    item("account_status", NOW - 1 * H, account_id="acme", status="accepted", owner="kim"),
    item("account_status", NOW - 2 * H, account_id="acme", status="rejected", reason="no budget"),
    item("sales_email", NOW - 2 * H, email=ANN, direction="outbound", rep="kim", subject="Pricing"),
    item("sales_email", NOW - 1 * H, email=ANN, direction="inbound", rep="kim", subject="Re: Pricing"),
]
BAD_STAGE = item("lifecycle_change", NOW - H, email=ANN, stage="hot")


def counts(settings) -> tuple:
    return sql_rows(settings, "SELECT (SELECT count() FROM lifecycle_changes), (SELECT count() FROM account_statuses), "
                              "(SELECT count() FROM events)")[0]


def check_views(settings) -> None:
    """Once the items asked about are stored."""
    refreshed_after_now(settings, "funnel_summary", "person_lifecycle")
    assert sql_rows(settings, "SELECT email, stage, changed_at, owner, lead_status, source, changes, first_entered "
                              f"FROM person_lifecycle WHERE email = '{ANN}'") == [
        (ANN, "sql", at(NOW - H), "kim", "connected", "marketing", 3,
         {"subscriber": at(NOW - 3 * H), "lead": at(NOW - 3 * H), "mql": at(NOW - 2 * H), "sql": at(NOW - H)})]
    funnel = sql_rows(settings, "SELECT stage, next_stage, reached, converted, conversion_rate FROM funnel_summary "
                                "WHERE period = '365d' ORDER BY position")
    assert funnel[:5] == [("subscriber", "lead", 1, 1, Decimal("1.0000")), ("lead", "mql", 1, 1, Decimal("1.0000")),
                          ("mql", "sql", 1, 1, Decimal("1.0000")), ("sql", "opportunity", 1, 0, Decimal("0.0000")),
                          ("opportunity", "customer", 0, 0, None)]
    assert sql_rows(settings, "SELECT account_id, account_name, is_target, status, reason, owner, status_at, decisions "
                              "FROM account_sales_status") == [
        ("acme", "Acme", 1, "accepted", "", "kim", at(NOW - H), 2)]
    assert sql_rows(settings, "SELECT type, channel, account_id, direction, minutes FROM "
                              "(SELECT *, JSONExtractString(payload, 'direction') AS direction FROM events) "
                              "ORDER BY occurred_at") == [
        ("sales_email", "sales_email", "acme", "outbound", Decimal("0.00")),
        ("sales_email", "sales_email", "acme", "inbound", Decimal("2.00"))]
    assert sql_rows(settings, "SELECT minutes_90d FROM account_engagement WHERE account_id = 'acme'") == \
        [(Decimal("2.00"),)]


def test_funnel_records_and_sales_emails_through_the_crm_hook_exactly_once(settings, start, tmp_path):
    settings = running_with_acme(settings, start, tmp_path)

    assert send(settings, ITEMS[:4]) == 4
    assert send(settings, ITEMS[4:] + [BAD_STAGE]) == 3  # a stage outside the setting is refused at the door
    wait_until(lambda: counts(settings) == (3, 2, 2), 60, what="3 changes, 2 decisions, 2 emails stored")
    check_views(settings)
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons FROM rejected_events FINAL"), 60,
                          what="the unknown stage dead-lettered")
    assert [(s, [e["field"] for e in json.loads(r)]) for s, r in rejected] == [("webhook:crm", ["stage"])]

    # the CRM re-sends everything; in the same request (one Kafka message, one commit) a marker change
    # for another person, so the wait ends once the re-sent items were judged
    marker = item("lifecycle_change", NOW, email="marker@else.example", stage="other")
    assert send(settings, ITEMS + [marker]) == 8
    wait_until(lambda: counts(settings) == (4, 2, 2), 60, what="the marker after the re-sent items")
    check_views(settings)  # the marker is `other`: outside the funnel
    assert sql_rows(settings, "SELECT (SELECT count() FROM lifecycle_changes FINAL), "
                              "(SELECT count() FROM account_statuses FINAL)") == [(4, 2)]
    assert sql_rows(settings, "SELECT email, stage FROM person_lifecycle ORDER BY email") == [
        (ANN, "sql"), ("marker@else.example", "other")]
