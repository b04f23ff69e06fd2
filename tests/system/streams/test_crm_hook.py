"""Opportunity snapshots through the signed /hooks/crm, the worker and ClickHouse: the views hold
exactly the hand-worked state, history and revenue; re-sending everything changes nothing; a snapshot
in another currency is refused by the hook and dead-lettered naming `currency`; no snapshot ever becomes a touch."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from hooks_helpers import post_signed
from report_helpers import REFRESH_SECONDS, refreshed_after_now
from test_scoring_end_to_end import import_csv

SECRET = "crm-hook-secret"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
TODAY = NOW.date()
H = timedelta(hours=1)
CREATED = NOW - 5 * H
ACCOUNTS = "account_id,name,domains,ip_ranges,tier,target,committee_size,owner\nacme,Acme,acme.example,,1,true,,Avery\n"


def crm(opportunity_id: str, stage: str, at: datetime, amount: str, account_id: str = "acme", closed: str = "",
        **extra) -> dict:
    """As a CRM workflow posts it: no `type` (the endpoint's default), no event_id (derived)."""
    return {"opportunity_id": opportunity_id, "account_id": account_id, "stage": stage, "is_closed": closed != "",
            "is_won": closed == "won", "amount": amount, "created_at": CREATED.isoformat(),
            "close_date": (TODAY if closed else TODAY + timedelta(days=30)).isoformat(),
            "occurred_at": at.isoformat(), **extra}


SNAPSHOTS = [
    crm("o-1", "Prospecting", NOW - 4 * H, "500.00"),
    crm("o-1", "Closed Won", NOW - 1 * H, "650.00", closed="won"),
    crm("o-1", "Proposal", NOW - 2 * H, "600.00"),  # older, arrives last: history only
    crm("o-2", "Closed Lost", NOW - 2 * H, "100.00", account_id="ghost", closed="lost"),
    crm("o-3", "Discovery", NOW - 3 * H, "40.00", probability=20),
]


def running_with_acme(settings, start, tmp_path):
    """A worker and hooks that take SECRET's signature, with the one account `acme` registered; the worker
    recomputes the summary reports every few seconds (the tests here read revenue_summary and funnel_summary)."""
    settings = settings.replace(hook_secrets=(SECRET,), report_refresh_seconds=REFRESH_SECONDS)
    start("worker", settings)
    start("hooks", settings)
    assert import_csv(settings, "accounts", ACCOUNTS, tmp_path).returncode == 0
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM accounts FINAL") == [(1,)], 60,
               what="the registry in ClickHouse")
    return settings


def send(settings, items: list[dict]) -> int:
    reply = post_signed(settings, "/hooks/crm", json.dumps(items).encode(), SECRET)
    assert reply.status == 202, reply.body
    return reply.json()["accepted"]


def opportunities(settings) -> list[tuple]:
    return sql_rows(settings, "SELECT opportunity_id, account_id, account_name, is_target, stage, is_closed, is_won, "
                              "amount, probability, cycle_days FROM opportunities WHERE opportunity_id != 'o-4' "
                              "ORDER BY opportunity_id")


def check_views(settings) -> None:
    """Once the snapshots asked about are stored."""
    refreshed_after_now(settings, "revenue_summary")
    cycle = (TODAY - CREATED.date()).days
    assert opportunities(settings) == [
        ("o-1", "acme", "Acme", 1, "Closed Won", 1, 1, Decimal("650.00"), None, cycle),
        ("o-2", "ghost", "", 0, "Closed Lost", 1, 0, Decimal("100.00"), None, cycle),
        ("o-3", "acme", "Acme", 1, "Discovery", 0, 0, Decimal("40.00"), 20, None),
    ]
    at = lambda t: t.replace(tzinfo=None)  # noqa: E731  (DateTime64(3, 'UTC') comes back naive)
    assert sql_rows(settings, "SELECT stage, entered_at, left_at FROM opportunity_stages "
                              "WHERE opportunity_id = 'o-1' ORDER BY entered_at") == [
        ("Prospecting", at(NOW - 4 * H), at(NOW - 2 * H)), ("Proposal", at(NOW - 2 * H), at(NOW - H)),
        ("Closed Won", at(NOW - H), None)]
    summary = dict((r[0], r[1:]) for r in sql_rows(
        settings, "SELECT audience, pipeline_created_count, pipeline_created_amount, won_count, won_amount, "
                  "lost_count, win_rate, avg_deal_size, avg_cycle_days, new_customers FROM revenue_summary "
                  "WHERE period = '365d'"))
    assert summary == {
        "target": (2, Decimal("690.00"), 1, Decimal("650.00"), 0, Decimal("1.0000"), Decimal("650.00"),
                   Decimal(cycle), 1),
        "all": (3, Decimal("790.00"), 1, Decimal("650.00"), 1, Decimal("0.5000"), Decimal("650.00"),
                Decimal(cycle), 1),
    }
    assert sql_rows(settings, "SELECT count() FROM events") == [(0,)]  # snapshots are not touches


def test_snapshots_through_the_crm_hook_reach_the_views_exactly_once(settings, start, tmp_path):
    settings = running_with_acme(settings, start, tmp_path)

    assert send(settings, SNAPSHOTS[:2]) == 2
    # another currency is refused at the door, naming the field, and kept as a dead letter
    assert send(settings, SNAPSHOTS[2:4] + [crm("o-9", "Discovery", NOW, "1.00", currency="EUR")]) == 2
    # /hooks/events takes an opportunity like any type (it must say so)
    reply = post_signed(settings, "/hooks/events", json.dumps([{"type": "opportunity", **SNAPSHOTS[4]}]).encode(),
                        SECRET)
    assert (reply.status, reply.json()["accepted"]) == (202, 1)
    wait_until(lambda: len(opportunities(settings)) == 3 and sql_rows(
        settings, "SELECT count() FROM opportunity_snapshots") == [(5,)], 60, what="five snapshots stored")
    check_views(settings)
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons FROM rejected_events FINAL"), 60,
                          what="the EUR snapshot dead-lettered")
    assert [(s, [e["field"] for e in json.loads(r)]) for s, r in rejected] == [("webhook:crm", ["currency"])]

    # the CRM re-sends everything (a retry, a resync): nothing changes. In the same request (one Kafka
    # message, so stored in the same commit) a marker created 400 days ago, outside every period
    marker = {**crm("o-4", "Discovery", NOW, "0.00"), "created_at": (NOW - timedelta(days=400)).isoformat()}
    assert send(settings, SNAPSHOTS + [marker]) == 6
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM opportunity_snapshots") == [(6,)], 60,
               what="the marker after the re-sent snapshots")
    check_views(settings)
    assert sql_rows(settings, "SELECT count() FROM opportunity_snapshots FINAL") == [(6,)]
