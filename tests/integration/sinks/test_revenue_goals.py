"""revenue_monthly and revenue_goals on the real engine: each goal against its month's actual, and the
month-to-date pace = actual / (target x elapsed fraction of the month), today counted as elapsed.

    last month          this month (day d of n)           next month
    B won 800.00        A created today, won today 100.00
    goal won 1000       goal won 3000, new_customers 2,   goal won 5000
                        pipeline_created_amount 0
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from opportunity_helpers import midnight, register_accounts, snapshot, store_snapshots
from schemas.registry import GOAL_COLUMNS, GoalRecord
from sinks.reports import refresh_reports
from sinks.store import Store

D = Decimal
NOW = datetime.now(timezone.utc)
TODAY = NOW.date()


def month_of(day: date, shift: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def goals(client, db, rows: list[tuple[date, str, str]], at: datetime) -> None:
    records = [GoalRecord(month=m, metric=k, target=D(t)) for m, k, t in rows]
    Store(client, db).store_records("goals", GOAL_COLUMNS, records, at)


def test_each_goal_against_its_months_actual_with_the_month_to_date_pace(engine):
    client, settings = engine
    db = settings.database
    this, last, later = month_of(TODAY), month_of(TODAY, -1), month_of(TODAY, 1)
    register_accounts(client, db, ("acme", "Acme", True), ("beta", "Beta", False))
    store_snapshots(client, db, [
        snapshot("A", "Closed Won", account_id="acme", closed="won", amount="100.00", created=midnight(TODAY),
                 close=TODAY, at=NOW),
        snapshot("B", "Closed Won", account_id="beta", closed="won", amount="800.00", created=midnight(last),
                 close=last + timedelta(days=14), at=NOW),
    ])
    goals(client, db, [(this, "won_amount", "9999.00")], at=NOW - timedelta(hours=1))  # replaced below
    goals(client, db, [(this, "won_amount", "3000.00"), (this, "new_customers", "2"),
                       (this, "pipeline_created_amount", "0"), (last, "won_amount", "1000.00"),
                       (later, "won_amount", "5000.00")], at=NOW)
    d, n = TODAY.day, calendar.monthrange(TODAY.year, TODAY.month)[1]
    last_n = calendar.monthrange(last.year, last.month)[1]

    def fraction(value: Decimal) -> Decimal:
        return value.quantize(D("0.0001"), rounding=ROUND_HALF_UP)

    rows = client.query(f"SELECT month, metric, target, actual, pace, attainment, expected_to_date, elapsed_days, "
                        f"days_in_month FROM {db}.revenue_goals ORDER BY month, metric").result_rows
    assert rows == [
        (last, "won_amount", D("1000.00"), D("800.00"), D("0.8000"), D("0.8000"), D("1000.00"), last_n, last_n),
        (this, "new_customers", D("2.00"), D("1.00"), fraction(D(1) * n / (2 * d)), D("0.5000"),
         (D(2) * d / n).quantize(D("0.01"), rounding=ROUND_HALF_UP), d, n),
        (this, "pipeline_created_amount", D("0.00"), D("100.00"), None, None, D("0.00"), d, n),  # a 0 target: no pace
        (this, "won_amount", D("3000.00"), D("100.00"), fraction(D(100) * n / (3000 * d)), D("0.0333"),
         (D(3000) * d / n).quantize(D("0.01"), rounding=ROUND_HALF_UP), d, n),
        (later, "won_amount", D("5000.00"), D("0.00"), None, D("0.0000"), D("0.00"), 0, calendar.monthrange(
            later.year, later.month)[1]),  # not begun: no pace yet
    ]
    refresh_reports(client, db, only=("revenue_monthly",))  # revenue_goals reads revenue_monthly_live, this the report
    monthly = client.query(f"SELECT month, pipeline_created_count, pipeline_created_amount, won_count, won_amount, "
                           f"new_customers FROM {db}.revenue_monthly ORDER BY month").result_rows
    assert monthly == [(last, 1, D("800.00"), 1, D("800.00"), 1), (this, 1, D("100.00"), 1, D("100.00"), 1)]


def test_no_goals_no_rows(engine):
    client, settings = engine
    assert client.query(f"SELECT count() FROM {settings.database}.revenue_goals").result_rows == [(0,)]
