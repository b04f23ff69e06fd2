"""The fast revenue views (0400_revenue_views.sql: one read of the kept latest snapshots, days folded into
the periods they belong to) against the straightforward computation, in Python, from every snapshot inserted
(tests/revenue_random.py: the latest per opportunity; each period, audience and month evaluated opportunity by
opportunity), on random histories: late older snapshots that must change nothing, newer ones that move an
opportunity to another stage, account, type or outcome, dates on both sides of every period's first day, accounts that are targets, not targets or not registered (then registered)."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from revenue_random import NOW, TODAY, history, insert_shuffled, latest, ratio, register, snapshot_row
from sinks.reports import refresh_reports

TARGETS = {"t-1", "t-2"}


def cycle(o: dict) -> int:
    return (o["close_date"] - o["created_at"].date()).days  # the reporting time zone of these tests is UTC


def first_wins(opps: list[dict]) -> dict[str, date]:
    """Each account's first closed-won new_business close date."""
    out: dict[str, date] = {}
    for o in opps:
        if o["is_won"] and o["type"] == "new_business":
            out[o["account_id"]] = min(out.get(o["account_id"], o["close_date"]), o["close_date"])
    return out


def median(values: list[int]) -> Decimal:
    values = sorted(values)
    return ((Decimal(values[(len(values) - 1) // 2]) + values[len(values) // 2]) / 2).quantize(Decimal("0.01"))


def expected_summary(opps: list[dict]) -> list[tuple]:
    firsts, out = first_wins(opps), []
    starts = {"mtd": TODAY.replace(day=1), "qtd": date(TODAY.year, 3 * ((TODAY.month - 1) // 3) + 1, 1),
              "ytd": TODAY.replace(month=1, day=1), "90d": TODAY - timedelta(days=89), "365d": TODAY - timedelta(days=364)}
    for period, start in sorted(starts.items()):
        for audience in ("all", "target"):
            mine = [o for o in opps if audience == "all" or o["account_id"] in TARGETS]
            inside = lambda day: start <= day <= TODAY  # noqa: E731
            created = [o for o in mine if inside(o["created_at"].date())]
            won = [o for o in mine if o["is_won"] and inside(o["close_date"])]
            lost = [o for o in mine if o["is_closed"] and not o["is_won"] and inside(o["close_date"])]
            won_amount = sum((o["amount"] for o in won), Decimal("0.00"))
            out.append((period, audience, len(created), sum((o["amount"] for o in created), Decimal("0.00")),
                        len(won), won_amount, len(lost),
                        ratio(len(won), len(won) + len(lost), "0.0001") if won or lost else None,
                        ratio(won_amount, len(won), "0.01") if won else None,
                        ratio(sum(cycle(o) for o in won), len(won), "0.01") if won else None,
                        median([cycle(o) for o in won]) if won else None,
                        sum(1 for a, d in firsts.items() if inside(d) and (audience == "all" or a in TARGETS))))
    return out


def expected_velocity(opps: list[dict]) -> tuple:
    in_365 = lambda o: TODAY - timedelta(days=364) <= o["close_date"] <= TODAY  # noqa: E731
    open_ = [o for o in opps if not o["is_closed"]]
    won = [o for o in opps if o["is_won"] and in_365(o)]
    closed = [o for o in opps if o["is_closed"] and in_365(o)]
    renewals = [o for o in closed if o["type"] == "renewal"]
    weighted = sum(o["amount"] * (o["probability"] or 0) for o in open_) / 100
    return (len(open_), sum((o["amount"] for o in open_), Decimal("0.00")),
            Decimal(weighted).quantize(Decimal("0.01"), ROUND_HALF_UP), len(won), len(closed) - len(won),
            sum((o["amount"] for o in won), Decimal("0.00")), sum(cycle(o) for o in won),
            sum(1 for o in renewals if o["is_won"]), len(renewals), len({o["account_id"] for o in won}),
            sum(1 for d in first_wins(opps).values() if TODAY - timedelta(days=364) <= d <= TODAY))


def expected_monthly(opps: list[dict]) -> list[tuple]:
    months: dict[date, list] = defaultdict(lambda: [0, Decimal("0.00"), 0, Decimal("0.00"), 0])
    for o in opps:
        months[o["created_at"].date().replace(day=1)][0] += 1
        months[o["created_at"].date().replace(day=1)][1] += o["amount"]
        if o["is_won"]:
            months[o["close_date"].replace(day=1)][2] += 1
            months[o["close_date"].replace(day=1)][3] += o["amount"]
    for day in first_wins(opps).values():
        months[day.replace(day=1)][4] += 1
    return [(m, *v) for m, v in sorted(months.items())]


VELOCITY = ("open_count, open_amount, weighted_open_amount, won_count, lost_count, won_amount, won_cycle_days, "
            "renewals_won, renewals_closed, won_customers_365d, new_customers_365d")


def assert_views_equal_reference(client, db: str, rows: list[list]) -> None:
    opps = latest(rows)
    refresh_reports(client, db, only=("revenue_summary", "sales_velocity", "revenue_monthly"))
    summary = client.query(f"SELECT period, audience, pipeline_created_count, pipeline_created_amount, won_count, "
                           f"won_amount, lost_count, win_rate, avg_deal_size, avg_cycle_days, median_cycle_days, "
                           f"new_customers FROM {db}.revenue_summary ORDER BY period, audience").result_rows
    assert summary == expected_summary(opps)
    assert client.query(f"SELECT {VELOCITY} FROM {db}.sales_velocity").result_rows == [expected_velocity(opps)]
    assert client.query(f"SELECT * FROM {db}.revenue_monthly ORDER BY month").result_rows == expected_monthly(opps)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_revenue_views_equal_the_straightforward_ones_on_random_late_snapshots(engine, seed):
    client, settings = engine
    db, rng = settings.database, random.Random(seed)
    assert settings.reporting_tz == "UTC"
    register(client, db, ("t-1", 1), ("t-2", 1), ("n-1", 0), ("n-2", 0))
    rows = history(rng, 80, 6)
    insert_shuffled(client, db, rng, rows)
    assert_views_equal_reference(client, db, rows)
    # late snapshots: older ones (they must change nothing) and newer ones (they replace the state)
    late = [snapshot_row(rng, r[1], r[3] - timedelta(hours=rng.randint(1, 500))) for r in rng.sample(rows, 60)]
    newer = [snapshot_row(rng, r[1], NOW - timedelta(minutes=rng.randint(0, 50))) for r in rng.sample(rows, 60)]
    insert_shuffled(client, db, rng, late + newer)
    rows += late + newer
    assert_views_equal_reference(client, db, rows)
    register(client, db, ("late", 1))  # an account registered after its opportunities arrived
    TARGETS.add("late")
    try:
        assert_views_equal_reference(client, db, rows)
        for table in ("opportunity_latest", "opportunity_snapshots"):
            client.command(f"OPTIMIZE TABLE {db}.{table} FINAL")
        assert_views_equal_reference(client, db, rows)
    finally:
        TARGETS.discard("late")


def test_with_no_opportunity_the_fast_views_equal_the_straightforward_ones(engine):
    client, settings = engine
    assert_views_equal_reference(client, settings.database, [])
