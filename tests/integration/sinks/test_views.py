"""The analysts' views on the real engine: windows at their edges, stage boundaries and decay, surge,
re-engagement, the page-view daily cap, reach, focus and coverage. Table-driven: each case is one account.

Timelines are drawn as {days ago: minutes}; day 0 is today in the reporting time zone (UTC).
"""
from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from schemas.registry import ACCOUNT_COLUMNS, AccountRecord
from schemas.rows import TouchRow
from sinks.writer import ClickHouseWriter

TODAY = datetime.now(timezone.utc).date()


def touch(account: str, days_ago: int, minutes: str, person: str = "p@x.example", kind: str = "email_open",
          base: str | None = None, program: str = "", success: int = 0) -> TouchRow:
    day = TODAY - timedelta(days=days_ago)
    at = datetime.combine(day, time(12), timezone.utc)
    channel = {"page_view": "web", "email_open": "email", "meeting": "meeting"}[kind]
    return TouchRow(uuid.uuid4(), kind, at, at, day, account, person, "contact", channel, program,
                    Decimal(minutes), Decimal(base or minutes), success, person, "", "", "", "{}")


def timeline(account: str, minutes_by_days_ago: dict[int, str], person: str = "p@x.example") -> list[TouchRow]:
    return [touch(account, d, m, person) for d, m in minutes_by_days_ago.items()]


WINDOW_CASES = {
    # account: ({days ago: minutes}, (7d, 30d, 90d))
    "w-edges": ({0: "1", 6: "2", 7: "4", 29: "8", 30: "16", 89: "32", 90: "64"}, ("3", "15", "63")),
    "w-none": ({}, ("0", "0", "0")),
    "w-old": ({90: "50", 200: "50"}, ("0", "0", "0")),
}

STAGE_CASES = {
    # account: (rows, expected stage)
    "s-unaware": ([], "unaware"),
    "s-aware-min": (timeline("s-aware-min", {3: "0.01"}), "aware"),
    "s-aware-max": (timeline("s-aware-max", {3: "9.99"}), "aware"),
    "s-engaged-min": (timeline("s-engaged-min", {3: "10"}), "engaged"),
    "s-engaged-one-person": (timeline("s-engaged-one-person", {3: "150"}), "engaged"),
    "s-mqa": (timeline("s-mqa", {3: "80"}, "a@x.example") + timeline("s-mqa", {5: "20"}, "b@x.example"), "mqa"),
    "s-mqa-short-person": (timeline("s-mqa-short-person", {3: "80.01"}, "a@x.example")
                           + timeline("s-mqa-short-person", {5: "19.99"}, "b@x.example"), "engaged"),
    "s-mqa-short-total": (timeline("s-mqa-short-total", {3: "79.99"}, "a@x.example")
                          + timeline("s-mqa-short-total", {5: "20"}, "b@x.example"), "engaged"),
    # decay: everything happened 90 days ago or earlier, so the 90-day window no longer holds it
    "s-decayed": (timeline("s-decayed", {90: "500"}, "a@x.example") + timeline("s-decayed", {95: "50"}, "b@x.example"),
                  "unaware"),
}

SURGE_CASES = {
    # account: ({days ago: minutes}, surging)  -- last 7 days vs the weekly average of the 28 days before
    "u-zero-baseline": ({1: "10"}, 1),
    "u-below-10": ({1: "9.99"}, 0),
    "u-double": ({1: "10", 8: "10", 34: "10"}, 1),          # baseline 20/4 = 5: 10 >= 2 x 5
    "u-not-double": ({1: "10", 8: "11", 34: "10"}, 0),      # baseline 21/4 = 5.25: 10 < 10.5
    "u-outside-baseline": ({1: "10", 35: "100"}, 1),        # day 35 is outside the 28 days before
}

REENGAGED_CASES = {
    # account: ({days ago: minutes}, re_engaged)
    "r-gap-60": ({67: "1", 6: "1"}, 1),       # days 66..7 without activity: 60 days
    "r-gap-59": ({66: "1", 6: "1"}, 0),       # 59 days
    "r-long-ago": ({300: "5", 0: "1"}, 1),
    "r-no-recent": ({100: "5", 20: "1"}, 0),
    "r-first-touch": ({2: "5"}, 0),           # no earlier activity: new, not re-engaged
    "r-zero-minute-gap-filler": ({80: "1", 40: "0", 1: "1"}, 1),  # a 0-minute touch is not activity
}


@pytest.fixture
def loaded(engine):
    client, settings = engine
    rows, accounts = [], []
    for account, (days, _) in WINDOW_CASES.items():
        rows += timeline(account, days)
    for account, (case_rows, _) in STAGE_CASES.items():
        rows += case_rows
    for account, (days, _) in {**SURGE_CASES, **REENGAGED_CASES}.items():
        rows += timeline(account, days)
    # daily cap: 35 page views by a director (x1.25) on one day count 30 base minutes; the email does not
    rows += [touch("cap", 1, "1.25", "d@x.example", "page_view", base="1") for _ in range(35)]
    rows += [touch("cap", 1, "1.25", "d@x.example", "email_open", base="1")]
    rows += [touch("cap", 2, "1.00", "e@x.example", "page_view", base="1") for _ in range(20)]
    rows += [touch("cap", 2, "1.00", "e@x.example", "email_open", base="1")]  # a signed touch confirms e@
    names = {*WINDOW_CASES, *STAGE_CASES, *SURGE_CASES, *REENGAGED_CASES, "cap"}
    accounts = [AccountRecord(account_id=a, name=a.upper(), is_target=True) for a in sorted(names)]
    client.insert(f"{settings.database}.accounts",
                  [[getattr(a, c) for c in ACCOUNT_COLUMNS] + [datetime.now(timezone.utc)] for a in accounts],
                  column_names=ACCOUNT_COLUMNS + ("updated_at",))
    writer = ClickHouseWriter(client, settings.database, "views")
    writer.start()
    writer.write(rows)
    result = client.query(f"SELECT * FROM {settings.database}.account_engagement")
    return {r["account_id"]: r for r in result.named_results()}


def test_windows_at_their_edges(loaded):
    for account, (_, (m7, m30, m90)) in WINDOW_CASES.items():
        row = loaded[account]
        assert (row["minutes_7d"], row["minutes_30d"], row["minutes_90d"]) == \
               (Decimal(m7), Decimal(m30), Decimal(m90)), account


def test_month_and_year_to_date(loaded):
    row = loaded["w-edges"]
    expected_mtd = sum(Decimal(m) for d, m in WINDOW_CASES["w-edges"][0].items()
                       if TODAY - timedelta(days=d) >= TODAY.replace(day=1))
    expected_ytd = sum(Decimal(m) for d, m in WINDOW_CASES["w-edges"][0].items()
                       if TODAY - timedelta(days=d) >= TODAY.replace(month=1, day=1))
    assert row["minutes_mtd"] == expected_mtd
    assert row["minutes_ytd"] == expected_ytd


def test_stage_boundaries_and_decay(loaded):
    assert {a: loaded[a]["stage"] for a in STAGE_CASES} == {a: s for a, (_, s) in STAGE_CASES.items()}


def test_people_engaged(loaded):
    assert loaded["s-mqa"]["people_engaged_90d"] == 2
    assert loaded["s-decayed"]["people_engaged_90d"] == 0


def test_surging(loaded):
    assert {a: loaded[a]["surging"] for a in SURGE_CASES} == {a: s for a, (_, s) in SURGE_CASES.items()}


def test_re_engaged(loaded):
    assert {a: loaded[a]["re_engaged"] for a in REENGAGED_CASES} == {a: s for a, (_, s) in REENGAGED_CASES.items()}


def test_page_view_daily_cap_per_person_per_day(loaded):
    # d@: 30 base minutes x 1.25 = 37.50 of page views + 1.25 email; e@: 20 page views, under the cap, + 1 email
    assert loaded["cap"]["minutes_7d"] == Decimal("37.50") + Decimal("1.25") + Decimal("20.00") + Decimal("1.00")


def test_last_activity_at(loaded):
    assert loaded["w-edges"]["last_activity_at"].date() == TODAY
    assert loaded["s-unaware"]["last_activity_at"] is None


def test_program_reach_focus_and_coverage(engine):
    client, settings = engine
    db = settings.database
    now = datetime.now(timezone.utc)
    accounts = [AccountRecord(account_id=f"t{i}", is_target=True, committee_size=4 if i == 0 else None,
                              domains=(f"t{i}.example",)) for i in range(4)]
    accounts.append(AccountRecord(account_id="other", is_target=False))
    client.insert(f"{db}.accounts", [[getattr(a, c) for c in ACCOUNT_COLUMNS] + [now] for a in accounts],
                  column_names=ACCOUNT_COLUMNS + ("updated_at",))
    client.insert(f"{db}.programs", [["webinar", "Q4 webinar", "event", Decimal("1000.00"), now]],
                  column_names=("program_id", "name", "channel", "cost", "updated_at"))
    client.insert(f"{db}.contacts", [["a@t0.example", "", "", "", "vp", now], ["b@t0.example", "t0", "", "", "vp", now],
                                     ["c@t0.example", "t0", "", "", "vp", now], ["d@t1.example", "t1", "", "", "vp", now],
                                     ["e@t0.example", "t0", "", "", "vp", now], ["f@t0.example", "t0", "", "", "vp", now]],
                  column_names=("email", "account_id", "name", "title", "role", "updated_at"))
    rows = [touch("t0", 1, "30", program="webinar", success=1), touch("t1", 1, "30", program="webinar", success=1),
            touch("t1", 2, "5", program="webinar", success=0),       # registered only: not a success
            touch("other", 1, "30", program="webinar", success=1),
            touch("", 1, "30", program="webinar", success=1)]        # unresolved attendee
    writer = ClickHouseWriter(client, db, "reach")
    writer.start()
    writer.write(rows)
    reach = client.query(f"SELECT * FROM {db}.program_reach").named_results().__next__()
    assert reach["program_id"] == "webinar" and reach["name"] == "Q4 webinar"
    assert (reach["target_accounts_reached"], reach["target_accounts_total"]) == (2, 4)
    assert reach["reach_pct"] == 50.0
    assert reach["focus_pct"] == 50.0           # 2 of 4 successes come from target accounts
    assert reach["cost_per_reached_account"] == Decimal("500.00")
    coverage = {r["account_id"]: r for r in client.query(f"SELECT * FROM {db}.account_coverage").named_results()}
    assert (coverage["t0"]["contacts_known"], coverage["t0"]["coverage_pct"]) == (5, 100.0)  # capped at 100%
    assert (coverage["t1"]["contacts_known"], coverage["t1"]["coverage_pct"]) == (1, None)   # size unknown
    assert coverage["t2"]["contacts_known"] == 0                                             # no known contact
