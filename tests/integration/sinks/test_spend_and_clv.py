"""Spend, CAC, lifetime and CLV on the real engine, against numbers worked out by hand. Spend and
goals rows are stored as the worker stores a registry change (Store.store_records, stamped with the
import's time); opportunities through the sink the worker uses.

Spend counts a month when its first day is in the period; a program's cost counts when the day of its
starts_at is. Drawn for a period starting on day S (T = today):

    month before S's month   S's month          T's month      next month
    out                      in iff S is a 1st  in             out
    program: starts S-1 23:59:59 out | starts S 00:00 in | starts T+1 out | no starts_at or no cost: nothing
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from opportunity_helpers import day_opportunity, midnight, register_accounts, store_snapshots
from schemas.registry import PROGRAM_COLUMNS, SPEND_COLUMNS, ProgramRecord, SpendRecord
from sinks.migrate import migrate
from sinks.reports import refresh_reports
from sinks.store import Store

D = Decimal
NOW = datetime.now(timezone.utc)
TODAY = NOW.date()


def days(n: int) -> date:
    return TODAY + timedelta(days=n)


def month_of(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def spend(client, db, rows: list[tuple[date, str, str]], at: datetime = NOW) -> None:
    records = [SpendRecord(month=m, category=c, amount=D(a)) for m, c, a in rows]
    Store(client, db).store_records("spend", SPEND_COLUMNS, records, at)


def programs(client, db, rows: list[tuple[str, datetime | None, str | None]]) -> None:
    records = [ProgramRecord(program_id=p, name=p, starts_at=s, cost=None if c is None else D(c)) for p, s, c in rows]
    Store(client, db).store_records("programs", PROGRAM_COLUMNS, records, NOW)


def starts() -> dict[str, date]:
    quarter = TODAY.replace(month=(TODAY.month - 1) // 3 * 3 + 1, day=1)
    return {"mtd": TODAY.replace(day=1), "qtd": quarter, "ytd": TODAY.replace(month=1, day=1),
            "90d": TODAY - timedelta(days=89), "365d": TODAY - timedelta(days=364)}


@pytest.mark.parametrize("period", ["mtd", "qtd", "ytd", "90d", "365d"])
def test_spend_counts_months_that_begin_in_the_period_and_programs_that_start_in_it(engine, period):
    client, settings = engine
    db = settings.database
    start = starts()[period]
    spend(client, db, [(month_of(start, -1), "agencies", "1000000.00"), (month_of(start), "salaries", "1.00"),
                       (month_of(TODAY), "tools", "100.00"), (month_of(TODAY, 1), "tools", "10000000.00")])
    programs(client, db, [("before", midnight(start) - timedelta(seconds=1), "100000.00"),
                          ("first-day", midnight(start), "10000.00"), ("tomorrow", midnight(days(1)), "20000000.00"),
                          ("free", midnight(start), None), ("undated", None, "30000000.00")])
    expected = D("10100.00") + (D("1.00") if start.day == 1 else 0)
    refresh_reports(client, db, only=("revenue_summary",))
    rows = client.query(f"SELECT audience, spend, new_customers, cac FROM {db}.revenue_summary "
                        f"WHERE period = '{period}' ORDER BY audience").result_rows
    assert rows == [("all", expected, 0, None), ("target", expected, 0, None)]  # no new customer: no CAC


def test_the_latest_import_of_a_month_and_category_wins(engine):
    client, settings = engine
    db = settings.database
    month = month_of(TODAY)
    spend(client, db, [(month, "tools", "50.00"), (month, "salaries", "7.00")], at=NOW - timedelta(hours=1))
    spend(client, db, [(month, "tools", "80.00")], at=NOW)
    spend(client, db, [(month, "tools", "50.00")], at=NOW - timedelta(hours=1))  # an older import replayed late
    refresh_reports(client, db, only=("revenue_summary",))
    assert client.query(f"SELECT spend FROM {db}.revenue_summary WHERE period = 'mtd' AND audience = 'all'"
                        ).result_rows == [(D("87.00"),)]


def test_cac_divides_the_spend_by_each_audiences_new_customers_to_the_cent(engine):
    client, settings = engine
    db = settings.database
    register_accounts(client, db, ("acme", "Acme", True), ("beta", "Beta", False))
    spend(client, db, [(month_of(TODAY), "salaries", "300.00")])
    programs(client, db, [("webinar", midnight(TODAY), "33.33")])
    store_snapshots(client, db, [
        day_opportunity("A", "acme", "900.00", created=days(-1), close=TODAY, closed="won"),
        day_opportunity("B", "beta", "100.00", created=days(-1), close=TODAY, closed="won"),
        day_opportunity("R", "beta", "50.00", created=days(-1), close=TODAY, closed="won", opportunity_type="renewal"),
    ])
    refresh_reports(client, db, only=("revenue_summary",))
    rows = client.query(f"SELECT audience, spend, new_customers, cac FROM {db}.revenue_summary "
                        f"WHERE period = 'mtd' ORDER BY audience").result_rows
    # 333.33 / 2 = 166.665 -> 166.67 (half up); the target audience has acme only
    assert rows == [("all", D("333.33"), 2, D("166.67")), ("target", D("333.33"), 1, D("333.33"))]


CLV = "retention_365d, won_customers_365d, revenue_per_customer_year, lifetime_years, cac_365d, clv"
# every case: new_business wins a1 1000.00 and a2 500.00 (10 days ago) and 300.00 of spend this month,
# so CAC(365d) = 300 / 2 = 150.00, unless the case says otherwise; renewals as listed (account, amount, won?)
CASES = {
    # no renewal closed: lifetime = the setting (3); 1500 / 2 x 3 - 150
    "none closed": ([], (None, 2, D("750.00"), D("3.00"), D("150.00"), D("2100.00"))),
    # retention 0: lifetime 1 / (1 - 0) = 1 year; a lost renewal adds no revenue
    "retention 0": ([("a1", "100.00", False)], (D("0"), 2, D("750.00"), D("1.00"), D("150.00"), D("600.00"))),
    # retention 100 %: 1 / 0 has no meaning: the setting; the renewal's 300.00 is won revenue of a1
    "retention 100 %": ([("a1", "300.00", True)], (D("1"), 2, D("900.00"), D("3.00"), D("150.00"), D("2550.00"))),
    # 1 of 3: lifetime 3 / 2 = 1.5; (1801 / 2) x 1.5 - 150 = 1350.75 - 150
    "retention 1 of 3": ([("a1", "301.00", True), ("a2", "100.00", False), ("a2", "90.00", False)],
                         (D("0.3333"), 2, D("900.50"), D("1.50"), D("150.00"), D("1200.75"))),
}


@pytest.mark.parametrize("case", CASES)
def test_lifetime_and_clv(engine, case):
    client, settings = engine
    db = settings.database
    renewals, expected = CASES[case]
    register_accounts(client, db, ("a1", "A1", True), ("a2", "A2", True))
    spend(client, db, [(month_of(TODAY), "salaries", "300.00")])
    store_snapshots(client, db, [
        day_opportunity("N1", "a1", "1000.00", created=days(-40), close=days(-10), closed="won"),
        day_opportunity("N2", "a2", "500.00", created=days(-40), close=days(-10), closed="won"),
        *(day_opportunity(f"R{i}", account, amount, created=days(-30), close=days(-5), closed="won" if won else "lost",
                          opportunity_type="renewal") for i, (account, amount, won) in enumerate(renewals))])
    refresh_reports(client, db, only=("sales_velocity", "revenue_summary"))
    assert client.query(f"SELECT {CLV} FROM {db}.sales_velocity").result_rows == [expected]
    # the velocity's CAC is revenue_summary's for 365 days and every opportunity, computed in its own pass
    assert client.query(f"SELECT new_customers_365d, cac_365d FROM {db}.sales_velocity").result_rows == \
        client.query(f"SELECT new_customers, cac FROM {db}.revenue_summary WHERE period = '365d' AND audience = 'all'"
                     ).result_rows


def test_clv_is_empty_without_a_win_or_without_a_new_customer_and_follows_the_lifetime_setting(engine):
    client, settings = engine
    db = settings.database
    refresh_reports(client, db, only=("sales_velocity",))  # empty until its first refresh is done
    assert client.query(f"SELECT {CLV} FROM {db}.sales_velocity").result_rows == \
        [(None, 0, None, D("3.00"), None, None)]
    # a renewal won, but no new customer in 365 days: CAC unknown, so no CLV
    register_accounts(client, db, ("a1", "A1", True))
    store_snapshots(client, db, [day_opportunity("R", "a1", "300.00", created=days(-30), close=days(-5),
                                                 closed="won", opportunity_type="renewal")])
    refresh_reports(client, db, only=("sales_velocity",))
    assert client.query(f"SELECT {CLV} FROM {db}.sales_velocity").result_rows == \
        [(D("1"), 1, D("300.00"), D("3.00"), None, None)]
    # a new customer and PULSE_CUSTOMER_LIFETIME_YEARS=2.5: (300 + 1000) / 1 x 2.5 - 0 (no spend)
    store_snapshots(client, db, [day_opportunity("N", "a1", "1000.00", created=days(-40), close=days(-10),
                                                 closed="won")])
    migrate(client, settings.replace(customer_lifetime_years=2.5))  # re-creates the views and their reports
    refresh_reports(client, db, only=("sales_velocity",))
    assert client.query(f"SELECT {CLV} FROM {db}.sales_velocity").result_rows == \
        [(D("1"), 1, D("1300.00"), D("2.50"), D("0.00"), D("3250.00"))]
