"""engagement_influence (0600_influence_views.sql: closed opportunities joined to the engagement rows of their
90-day windows, rows the caps cannot change added as they are) against the straightforward computation, in
Python: the capped minutes of engagement_person_daily (0100_views.sql), every row of the account, each person's
claimed minutes counted once confirmed (a contact, or a signed touch there on any day), ntile(4) by minutes then
id. Random engagement rows (page views over and under the daily cap, forms over theirs, signed rows a
re-attribution subtracts, people known by an email or not) and random histories with late snapshots."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from revenue_random import TODAY, history, insert_shuffled, latest, ratio, register, snapshot_row
from sinks.reports import refresh_reports

ENGAGEMENT = ("kind", "account_id", "day", "channel", "program_id", "person", "minutes", "touches", "successes",
              "pv_base", "pv_minutes", "batch_seq")
PEOPLE = ["anon-1", "anon-2", "a@x.example", "b@x.example", "c@x.example", ""]


def engagement_rows(rng: random.Random, n: int) -> list[list]:
    rows = []
    for _ in range(n):
        channel = rng.choice(["web", "web", "form", "email", "event", "call"])
        minutes = Decimal(rng.randint(1, 2000)) / 100
        touches = rng.randint(1, 4) * rng.choice([1, 1, 1, -1])  # a re-attribution subtracts
        pv = channel == "web" and rng.random() < 0.8
        rows.append(["touch", rng.choice(["t-1", "t-2", "n-1", "ghost"]), TODAY - timedelta(days=rng.randint(0, 500)),
                     channel, rng.choice(["", "p1"]), rng.choice(PEOPLE), minutes * (1 if touches > 0 else -1), touches,
                     0, minutes * rng.choice([1, 3, 20]) if pv else 0, minutes if pv else 0, 0])
    return rows


def pre_opp_minutes(opportunity: dict, daily: list[tuple], contacts: set[str]) -> Decimal:
    created = opportunity["created_at"].date()
    mine = [d for d in daily if d[0] == opportunity["account_id"]]
    signed = {p for p in {d[1] for d in mine}
              if sum(d[5] for d in mine if d[1] == p and not (d[3] in ("web", "form") and "@" in p)) != 0}
    total = Decimal("0.00")
    for account, person, day, channel, minutes, _ in mine:
        if created - timedelta(days=90) <= day <= created - timedelta(days=1):
            claimed = channel in ("web", "form") and "@" in person
            if not claimed or person in signed or person in contacts:
                total += minutes
    return total


def expected(opps: list[dict], daily: list[tuple], contacts: set[str]) -> list[tuple]:
    closed = [o for o in opps if o["is_closed"] and TODAY - timedelta(days=364) <= o["close_date"] <= TODAY]
    ranked = sorted(((pre_opp_minutes(o, daily, contacts), o["opportunity_id"], o) for o in closed),
                    key=lambda r: (r[0], r[1]))
    segments: dict[str, list] = {s: [] for s in ("q1", "q2", "q3", "q4", "engaged", "not_engaged")}
    size, extra = divmod(len(ranked), 4)
    bounds = [sum(size + (i < extra) for i in range(k)) for k in range(5)]  # ntile: the first buckets one larger
    for k in range(4):
        for minutes, _, o in ranked[bounds[k]:bounds[k + 1]]:
            segments[f"q{k + 1}"].append((minutes, o))
    for minutes, _, o in ranked:
        segments["engaged" if minutes >= 10 else "not_engaged"].append((minutes, o))
    out = []
    for segment, members in segments.items():
        won = [o for _, o in members if o["is_won"]]
        cycles = sum((o["close_date"] - o["created_at"].date()).days for o in won)
        out.append((segment, len(members), len(won), ratio(len(won), len(members), "0.0001") if members else None,
                    ratio(sum(o["amount"] for o in won), len(won), "0.01") if won else None,
                    ratio(cycles, len(won), "0.01") if won else None,
                    min(m for m, _ in members) if members else None, max(m for m, _ in members) if members else None))
    return out


def assert_influence_equals_reference(client, db: str, rows: list[list]) -> None:
    daily = client.query(f"SELECT account_id, person, day, channel, minutes, touches "
                         f"FROM {db}.engagement_person_daily").result_rows
    contacts = {r[0] for r in client.query(f"SELECT email FROM {db}.contacts FINAL").result_rows}
    refresh_reports(client, db, only=("engagement_influence",))
    assert client.query(f"SELECT * FROM {db}.engagement_influence").result_rows == expected(latest(rows), daily,
                                                                                            contacts)


@pytest.mark.parametrize("seed", [1, 2])
def test_fast_influence_equals_the_straightforward_one_on_random_engagement_and_late_snapshots(engine, seed):
    client, settings = engine
    db, rng = settings.database, random.Random(seed)
    register(client, db, ("t-1", 1), ("t-2", 1), ("n-1", 0))
    client.command(f"INSERT INTO {db}.contacts (email, account_id, updated_at) VALUES ('b@x.example', 't-1', now64(3))")
    client.insert(f"{db}.engagement_daily", engagement_rows(rng, 600), column_names=ENGAGEMENT)
    rows = history(rng, 60, 4)
    insert_shuffled(client, db, rng, rows)
    assert_influence_equals_reference(client, db, rows)
    late = [snapshot_row(rng, r[1], r[3] - timedelta(hours=rng.randint(1, 500))) for r in rng.sample(rows, 40)]
    insert_shuffled(client, db, rng, late)
    client.insert(f"{db}.engagement_daily", engagement_rows(rng, 300), column_names=ENGAGEMENT)
    client.command(f"INSERT INTO {db}.scoring_settings (key, value, updated_at) "
                   f"VALUES ('page_view_daily_cap', '5', now64(3))")
    assert_influence_equals_reference(client, db, rows + late)


def test_fast_influence_with_no_engagement_at_all(engine):
    client, settings = engine
    rows = history(random.Random(5), 30, 2)
    insert_shuffled(client, settings.database, random.Random(5), rows)
    assert_influence_equals_reference(client, settings.database, rows)
