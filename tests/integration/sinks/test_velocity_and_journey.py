"""open_pipeline_by_stage, sales_velocity and account_journey on the real engine, against numbers worked
out by hand (below, per opportunity). Days are counted from today (T); every close date is in the past
or the future by whole days, so the numbers hold on any day of the year.

  account (target?)   opportunity  type          state                     amount   close   cycle
  acme (target)       A1           new_business  open Proposal, p=50       1000.00  T+20
                      A2           new_business  open Proposal, no p        300.00  T+30
                      A3           new_business  won                       2000.00  T-10    30
  beta (target)       B1           new_business  open Discovery, p=10       500.00  T+15
                      B2           new_business  lost                       400.00  T-20
  gamma (not target)  G1           new_business  won                       1000.00  T-10    10
  frank (target)      F1           new_business  won (outside 365 days)     600.00  T-400
                      F2           renewal       lost, after F1's win       200.00  T-30
                      F3           new_business  open Negotiation, p=80     700.00  T+10
  hank (target)       H1           renewal       won                        150.00  T-5     60
                      H2           renewal       lost, before H1's win      100.00  T-50
  iris (target)       I1           new_business  lost (outside 365 days)     90.00  T-400
  ghost (unregistered) X1          new_business  open Discovery, p=25       100.00  T+5
  delta, echo (targets) no opportunities; delta is engaged today, echo was never evaluated
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from opportunity_helpers import day_opportunity, engagement_stages, register_accounts, store_snapshots
from sinks.reports import refresh_reports

D = Decimal


def days(n: int) -> date:
    return datetime.now(timezone.utc).date() + timedelta(days=n)


def opportunity(oid, account, amount, created, close, closed="", **extra) -> dict:
    return day_opportunity(oid, account, amount, created=days(created), close=days(close), closed=closed, **extra)


BOOK = [
    opportunity("A1", "acme", "1000.00", -5, 20, stage="Proposal", probability=50),
    opportunity("A2", "acme", "300.00", -3, 30, stage="Proposal"),
    opportunity("A3", "acme", "2000.00", -40, -10, "won"),
    opportunity("B1", "beta", "500.00", -2, 15, stage="Discovery", probability=10),
    opportunity("B2", "beta", "400.00", -100, -20, "lost"),
    opportunity("G1", "gamma", "1000.00", -20, -10, "won"),
    opportunity("F1", "frank", "600.00", -500, -400, "won"),
    opportunity("F2", "frank", "200.00", -60, -30, "lost", opportunity_type="renewal"),
    opportunity("F3", "frank", "700.00", -7, 10, stage="Negotiation", probability=80),
    opportunity("H1", "hank", "150.00", -65, -5, "won", opportunity_type="renewal"),
    opportunity("H2", "hank", "100.00", -80, -50, "lost", opportunity_type="renewal"),
    opportunity("I1", "iris", "90.00", -420, -400, "lost"),
    opportunity("X1", "ghost", "100.00", -1, 5, stage="Discovery", probability=25),
]
ACCOUNTS = [("acme", "Acme", True), ("beta", "Beta", True), ("gamma", "Gamma", False), ("frank", "Frank", True),
            ("hank", "Hank", True), ("iris", "Iris", True), ("delta", "Delta", True), ("echo", "Echo", True)]


def load(client, db: str) -> None:
    register_accounts(client, db, *ACCOUNTS)
    engagement_stages(client, db, {"acme": "mqa", "beta": "aware", "iris": "mqa", "delta": "engaged"})
    assert store_snapshots(client, db, BOOK)[0] == len(BOOK)


def test_open_pipeline_by_stage_counts_amounts_and_weights_by_probability(engine):
    client, settings = engine
    db = settings.database
    load(client, db)
    refresh_reports(client, db, only=("open_pipeline_by_stage",))
    rows = client.query(f"SELECT audience, stage, open_count, open_amount, weighted_open_amount, "
                        f"without_probability, avg_probability FROM {db}.open_pipeline_by_stage "
                        f"ORDER BY audience, stage").result_rows
    assert rows == [
        # all: the unregistered account's X1 joins Discovery (10 % of 500 + 25 % of 100)
        ("all", "Discovery", 2, D("600.00"), D("75.00"), 0, D("17.50")),
        ("all", "Negotiation", 1, D("700.00"), D("560.00"), 0, D("80.00")),
        ("all", "Proposal", 2, D("1300.00"), D("500.00"), 1, D("50.00")),  # A2 has no probability
        ("target", "Discovery", 1, D("500.00"), D("50.00"), 0, D("10.00")),
        ("target", "Negotiation", 1, D("700.00"), D("560.00"), 0, D("80.00")),
        ("target", "Proposal", 2, D("1300.00"), D("500.00"), 1, D("50.00")),
    ]


def test_sales_velocity_is_one_row_from_the_last_365_days(engine):
    client, settings = engine
    db = settings.database
    columns = ("open_count, open_amount, weighted_open_amount, win_rate_365d, avg_deal_size_365d, "
               "avg_cycle_days_365d, velocity_per_day, retention_365d")
    refresh_reports(client, db, only=("sales_velocity",))  # empty until its first refresh is done
    assert client.query(f"SELECT {columns} FROM {db}.sales_velocity").result_rows == \
        [(0, D("0.00"), D("0.00"), None, None, None, None, None)]  # nothing stored: one row, empty rates
    load(client, db)
    refresh_reports(client, db, only=("sales_velocity",))
    # open: A1 A2 B1 F3 X1. Closed in 365 days: won A3, G1, H1 (3150.00, cycles 30 + 10 + 60 = 100),
    # lost B2, F2, H2. Velocity = 5 x 0.5 x 1050.00 / 33.33... = 5 x 3150 x 3 / (6 x 100) = 78.75 per day.
    # Renewals closed: H1 won, F2 and H2 lost: retention 1/3.
    assert client.query(f"SELECT {columns} FROM {db}.sales_velocity").result_rows == [
        (5, D("2600.00"), D("1135.00"), D("0.5000"), D("1050.00"), D("33.33"), D("78.75"), D("0.3333"))]


def test_account_journey_puts_each_registered_account_in_one_stage(engine):
    client, settings = engine
    db = settings.database
    load(client, db)
    refresh_reports(client, db, only=("account_journey",))
    rows = client.query(f"SELECT account_id, is_target, journey_stage, open_pipeline, won_revenue_365d "
                        f"FROM {db}.account_journey ORDER BY account_id").result_rows
    assert rows == [
        ("acme", 1, "customer", D("1300.00"), D("2000.00")),    # won A3 (open ones do not matter; mqa neither)
        ("beta", 1, "opportunity", D("500.00"), D("0.00")),     # B2 lost, B1 open
        ("delta", 1, "engaged", D("0.00"), D("0.00")),          # today's engagement stage
        ("echo", 1, "unaware", D("0.00"), D("0.00")),           # never evaluated
        ("frank", 1, "opportunity", D("700.00"), D("0.00")),    # the renewal F2 was lost after F1's win
        ("gamma", 0, "customer", D("0.00"), D("1000.00")),
        ("hank", 1, "customer", D("0.00"), D("150.00")),        # H2 lost before the renewal H1 was won
        ("iris", 1, "mqa", D("0.00"), D("0.00")),               # only a lost opportunity
    ]
    # registering the unregistered account puts it on the journey, as an opportunity
    register_accounts(client, db, ("ghost", "Ghost", False))
    refresh_reports(client, db, only=("account_journey",))
    assert client.query(f"SELECT journey_stage, open_pipeline FROM {db}.account_journey "
                        f"WHERE account_id = 'ghost'").result_rows == [("opportunity", D("100.00"))]
