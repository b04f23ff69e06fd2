"""Sales activity end to end (issue 16): calls through the signed /hooks/calls, meetings through /hooks/events,
lifecycle changes, sales emails and account decisions through /hooks/crm, the worker and ClickHouse; every
column of the sales views against numbers worked out by hand below; everything re-sent, and checked again.

The story, M = the moment ann and bob became MQL (20 days ago: their 14-day attempt window has ended):
  ann@acme  kim's: call M+2h no_answer, M+1d conversation (10 min), email out M+2d, meeting M+3d (60 min),
            call M+5d meeting_booked (5 min): 5 attempts, first after 2 h, connected
  bob@acme  kim's: call (rep lee) M+30h no_answer, reply M+2d12h (2 min), meeting (lee) M+4d (45 min): 2
            attempts, first after 30 h (late), connected by the reply
  cy@acme   became MQL 2 h ago with no owner (so the account's, Avery): voicemail 1 h ago (kim): pending
acme: 122 minutes, two people over 20: MQA; sales accept it after the MQA change (a rejection before it
does not count). beta: a contact from the CRM, no owner, marked not_interested. gamma: nothing known."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from hooks_helpers import post_signed
from opskit import health
from report_helpers import REFRESH_SECONDS, refreshed_after_now
from test_scoring_end_to_end import import_csv

SECRET = "sales-hook-secret"
NOW = datetime.now(timezone.utc).replace(microsecond=0)
# at 09:00 (UTC, the reporting time zone): the story's days then never run into each other, whatever the hour
M = datetime.combine((NOW - timedelta(days=20)).date(), time(9), tzinfo=timezone.utc)
H, D = timedelta(hours=1), timedelta(days=1)
ACCOUNTS = ("account_id,name,domains,ip_ranges,tier,target,committee_size,owner\n"
            "acme,Acme,acme.example,,1,true,,Avery\nbeta,Beta,beta.example,,2,true,,\n"
            "gamma,Gamma,gamma.example,,2,true,,Avery\n")
ANN, BOB, CY = "ann@acme.example", "bob@acme.example", "cy@acme.example"
# the summary reports the checks below read (sla_mqls and account_sales_status are read live)
REPORTS = ("sales_activity_daily", "sales_activity_summary", "sla_by_owner", "sales_coverage", "account_mqa_decisions",
           "account_acceptance", "account_journey")


def at(t: datetime) -> datetime:
    return t.replace(tzinfo=None)  # DateTime64(3, 'UTC') comes back naive


def item(kind: str, when: datetime, **fields) -> dict:
    return {"type": kind, "occurred_at": when.isoformat(), **fields}


def call(when, email, rep, outcome, seconds=0) -> dict:
    return {"occurred_at": when.isoformat(), "email": email, "rep": rep, "outcome": outcome, "direction": "outbound",
            "duration_seconds": seconds}  # /hooks/calls names the type


CALLS = [call(M + 2 * H, ANN, "kim", "no_answer"), call(M + D, ANN, "kim", "conversation", 600),
         call(M + 5 * D, ANN, "kim", "meeting_booked", 300), call(M + 30 * H, BOB, "lee", "no_answer"),
         call(NOW - H, CY, "kim", "voicemail")]
MEETINGS = [item("meeting", M + 3 * D, email=ANN, rep="kim", duration_minutes=60),
            item("meeting", M + 4 * D, email=BOB, rep="lee", duration_minutes=45)]
CRM = [
    item("lifecycle_change", M - D, email=ANN, stage="lead", owner="kim", source="marketing"),
    item("lifecycle_change", M, email=ANN, stage="mql"),
    item("lifecycle_change", M, email=BOB, stage="mql", owner="kim"),
    item("lifecycle_change", NOW - 2 * H, email=CY, stage="mql", account_id="acme"),
    item("lifecycle_change", NOW - D, email="dan@beta.example", stage="lead", account_id="beta"),
    item("sales_email", M + 2 * D, email=ANN, direction="outbound", rep="kim", subject="Next steps"),
    item("sales_email", M + 2 * D + 12 * H, email=BOB, direction="inbound", rep="lee", subject="Re: pricing"),
    item("account_status", NOW - 3 * D, account_id="acme", status="rejected", reason="too early"),
    item("account_status", NOW - D, account_id="beta", status="not_interested", reason="uses a competitor"),
]


def send(settings, path: str, items: list[dict]) -> None:
    reply = post_signed(settings, path, json.dumps(items).encode(), SECRET)
    assert reply.status == 202 and reply.json()["accepted"] == len(items), reply.body


def stored(settings) -> tuple:
    return sql_rows(settings, "SELECT (SELECT count() FROM sales_touches), (SELECT count() FROM lifecycle_changes FINAL), "
                              "(SELECT count() FROM account_statuses FINAL)")[0]


def dicts(settings, sql: str) -> list[dict]:
    from sinks.client import reader_client

    client = reader_client(settings)
    try:
        result = client.query(sql)
        return [dict(zip(result.column_names, row)) for row in result.result_rows]
    finally:
        client.close()


def check_activity(settings) -> None:
    day = lambda t: t.date()  # noqa: E731  (the reporting time zone is UTC)
    daily = {(r["day"], r["rep"]): tuple(list(r.values())[2:])
             for r in dicts(settings, "SELECT * FROM sales_activity_daily")}
    # account, calls, connected_calls, conversations, meetings_booked, meetings_held, emails_out, emails_in, attempts
    assert daily == {
        (day(M + 2 * H), "kim"): ("acme", 1, 0, 0, 0, 0, 0, 0, 1),
        (day(M + D), "kim"): ("acme", 1, 1, 1, 0, 0, 0, 0, 1),
        (day(M + 30 * H), "lee"): ("acme", 1, 0, 0, 0, 0, 0, 0, 1),
        (day(M + 2 * D), "kim"): ("acme", 0, 0, 0, 0, 0, 1, 0, 1),
        (day(M + 2 * D + 12 * H), "lee"): ("acme", 0, 0, 0, 0, 0, 0, 1, 0),
        (day(M + 3 * D), "kim"): ("acme", 0, 0, 0, 0, 1, 0, 0, 1),
        (day(M + 4 * D), "lee"): ("acme", 0, 0, 0, 0, 1, 0, 0, 1),
        (day(M + 5 * D), "kim"): ("acme", 1, 1, 1, 1, 0, 0, 0, 1),
        (day(NOW - H), "kim"): ("acme", 1, 0, 0, 0, 0, 0, 0, 1),
    }
    summary = {r["rep"]: tuple(list(r.values())[2:]) for r in dicts(
        settings, "SELECT * FROM sales_activity_summary WHERE period = '90d'")}
    # calls, connected, conversations, booked, held, out, in, target_attempts, call->conversation, call->meeting,
    # actions per target account per day (attempts / 3 targets / 90 days)
    assert summary == {
        "all": (5, 2, 2, 1, 2, 1, 1, 8, Decimal("0.4"), Decimal("0.2"), Decimal("0.0296")),
        "kim": (4, 2, 2, 1, 1, 1, 0, 6, Decimal("0.5"), Decimal("0.25"), Decimal("0.0222")),
        "lee": (1, 0, 0, 0, 1, 0, 1, 2, Decimal("0"), Decimal("0"), Decimal("0.0074")),
    }


def check_sla_and_coverage(settings) -> None:
    mqls = {r["email"]: r for r in dicts(settings, "SELECT * FROM sla_mqls")}
    assert {e: (r["account_id"], r["owner"], r["mql_at"], r["first_attempt_at"], r["hours_to_first_touch"], r["worked"],
                r["worked_in_time"], r["attempts"], r["attempts_met"], r["connected"], r["pending"])
            for e, r in mqls.items()} == {
        ANN: ("", "kim", at(M), at(M + 2 * H), Decimal("2.00"), 1, 1, 5, 1, 1, 0),
        BOB: ("", "kim", at(M), at(M + 30 * H), Decimal("30.00"), 1, 0, 2, 0, 1, 0),
        CY: ("acme", "Avery", at(NOW - 2 * H), at(NOW - H), Decimal("1.00"), 1, 1, 1, 0, 0, 1),
    }
    sla = {r["owner"]: tuple(list(r.values())[2:]) for r in dicts(settings, "SELECT * FROM sla_by_owner WHERE period = '90d'")}
    # mqls, worked, worked %, in time %, median hours, avg attempts, attempts met %, connected %, pending, meets
    assert sla == {
        "Avery": (1, 0, None, None, Decimal("1.00"), None, None, None, 1, None),
        "kim": (2, 2, Decimal("100.0"), Decimal("50.0"), Decimal("16.00"), Decimal("3.50"), Decimal("50.0"),
                Decimal("100.0"), 0, 0),
    }
    coverage = {r["account_id"]: tuple(list(r.values())[1:]) for r in dicts(settings, "SELECT * FROM sales_coverage")}
    assert coverage == {"acme": ("Acme", 1, "Avery", 1, at(NOW - H), ""),
                        "beta": ("Beta", 1, "", 0, None, "no_owner"),
                        "gamma": ("Gamma", 1, "Avery", 0, None, "no_contact_known")}


def check_acceptance(settings, mqa_at: datetime, accepted_at: datetime) -> None:
    decisions = dicts(settings, "SELECT * FROM account_mqa_decisions WHERE period = '90d'")
    assert [tuple(r.values())[2:] for r in decisions] == [
        ("acme", "Acme", mqa_at, "accepted", "accepted", "a fit", "kim", at(accepted_at))]
    rows = {r["period"]: tuple(list(r.values())[1:]) for r in dicts(settings, "SELECT * FROM account_acceptance")}
    # the MQA change happened today, so every period holds it
    assert set(rows.values()) == {(1, 1, 0, 0, 0, Decimal("1"), Decimal("0"), Decimal("0"), Decimal("333.33"))}
    journey = dict(sql_rows(settings, "SELECT account_id, (journey_stage, status_reason) FROM account_journey"))
    assert journey["beta"] == ("not_interested", "uses a competitor") and journey["acme"] == ("mqa", "")


def test_sales_activity_through_the_hooks_exactly_once(settings, start, tmp_path):
    settings = settings.replace(hook_secrets=(SECRET,), report_refresh_seconds=REFRESH_SECONDS)
    start("worker", settings)
    start("hooks", settings)
    assert import_csv(settings, "accounts", ACCOUNTS, tmp_path).returncode == 0
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM accounts FINAL") == [(3,)], 60, what="the registry")
    send(settings, "/hooks/calls", CALLS)
    send(settings, "/hooks/events", MEETINGS)
    send(settings, "/hooks/crm", CRM)
    wait_until(lambda: stored(settings) == (9, 5, 2), 60, what="9 sales touches, 5 changes, 2 decisions")
    mqa_at = wait_until(lambda: sql_rows(settings, "SELECT min(changed_at) FROM stage_changes "
                                                   "WHERE account_id = 'acme' AND stage_to = 'mqa' HAVING count() > 0"),
                        90, what="acme's MQA change")[0][0]
    accepted_at = max(datetime.now(timezone.utc), mqa_at.replace(tzinfo=timezone.utc) + timedelta(seconds=1))
    accepted_at = accepted_at.replace(microsecond=0) + timedelta(seconds=1)
    acceptance = item("account_status", accepted_at, account_id="acme", status="accepted", reason="a fit", owner="kim")
    send(settings, "/hooks/crm", [acceptance])
    wait_until(lambda: stored(settings) == (9, 5, 3), 60, what="the acceptance stored")
    refreshed_after_now(settings, *REPORTS)
    check_activity(settings)
    check_sla_and_coverage(settings)
    check_acceptance(settings, mqa_at, accepted_at)

    # everything again (the same content, so the same ids), then a marker change, which ends the wait
    send(settings, "/hooks/calls", CALLS)
    send(settings, "/hooks/events", MEETINGS)
    send(settings, "/hooks/crm", CRM + [acceptance, item("lifecycle_change", NOW, email="marker@else.example",
                                                         stage="other")])
    wait_until(lambda: stored(settings) == (9, 6, 3), 60, what="the marker after the re-sent items")
    # the re-sent calls and meetings travel in their own messages: wait until the worker committed every one
    wait_until(lambda: health(settings)["consumer_lag"] == 0, 60, what="no consumer lag after the re-send")
    refreshed_after_now(settings, *REPORTS)
    check_activity(settings)
    check_sla_and_coverage(settings)
    check_acceptance(settings, mqa_at, accepted_at)
