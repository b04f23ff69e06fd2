"""The revenue views on the real engine, against numbers worked out by hand: the latest snapshot is the
state whatever the arrival order, stage visits, and revenue_summary at each period's first day (in)
and the day before it (out). Snapshots go through the sink the worker uses (sinks/opportunities.py)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from opportunity_helpers import midnight, rows_of, snapshot
from schemas.registry import ACCOUNT_COLUMNS, AccountRecord
from sinks.opportunities import write_opportunities
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter
from streams.core.opportunities import current_state, stage_visits

NOW = datetime.now(timezone.utc)
TODAY = NOW.date()
H = timedelta(hours=1)


def register(client, db, *accounts: tuple[str, str, bool]) -> None:
    records = [AccountRecord(account_id=a, name=n, domains=(), ip_ranges=(), tier="", is_target=t, committee_size=None,
                             owner="") for a, n, t in accounts]
    client.insert(f"{db}.accounts", [[getattr(r, c) for c in ACCOUNT_COLUMNS] + [NOW] for r in records],
                  column_names=ACCOUNT_COLUMNS + ("updated_at",))


def store(client, db, snapshots: list[dict]) -> tuple[int, int, int]:
    writer = ClickHouseWriter(client, db, "w-revenue")
    writer.start()
    return write_opportunities(writer, rows_of(snapshots, NOW))


def query(client, sql: str) -> list[tuple]:
    return client.query(sql).result_rows


CREATED = midnight(TODAY - timedelta(days=40))
CLOSE = TODAY + timedelta(days=30)
# o-1 moves Prospecting -> Proposal -> Prospecting -> Closed Won; the snapshots are listed in arrival
# order: the newest first, an old one late, one twice, two at the same instant (the larger id wins).
HISTORY = [
    snapshot("o-1", "Closed Won", closed="won", amount="900.00", created=CREATED, close=TODAY - timedelta(days=1),
             at=NOW - 1 * H, event_id="00000000-0000-4000-8000-000000000004"),
    snapshot("o-1", "Prospecting", amount="500.00", created=CREATED, close=CLOSE, at=NOW - 30 * H,
             event_id="00000000-0000-4000-8000-000000000001"),
    snapshot("o-1", "Proposal", amount="800.00", created=CREATED, close=CLOSE, at=NOW - 20 * H,
             event_id="00000000-0000-4000-8000-000000000002"),
    snapshot("o-1", "Proposal", amount="800.00", created=CREATED, close=CLOSE, at=NOW - 20 * H,
             event_id="00000000-0000-4000-8000-000000000002"),
    snapshot("o-1", "Prospecting", amount="700.00", created=CREATED, close=CLOSE, at=NOW - 10 * H,
             event_id="00000000-0000-4000-8000-000000000003"),
    snapshot("o-1", "Prospecting", amount="750.00", created=CREATED, close=CLOSE, at=NOW - 5 * H,
             event_id="00000000-0000-4000-8000-000000000005"),
    # o-2: two snapshots at the same instant; the larger event_id (...0f > ...0e) is the state
    snapshot("o-2", "Discovery", account_id="ghost", amount="10.00", created=CREATED, close=CLOSE, at=NOW - 2 * H,
             event_id="00000000-0000-4000-8000-00000000000f"),
    snapshot("o-2", "Qualified", account_id="ghost", amount="20.00", created=CREATED, close=CLOSE, at=NOW - 2 * H,
             event_id="00000000-0000-4000-8000-00000000000e"),
]


def test_latest_snapshot_is_the_state_and_stage_visits_follow_occurred_at(engine):
    client, settings = engine
    db = settings.database
    register(client, db, ("acme", "Acme", True))
    assert store(client, db, HISTORY) == (7, 1, 0)
    rows = query(client, f"SELECT opportunity_id, account_id, account_name, is_target, is_registered, stage, "
                         f"is_closed, is_won, amount, cycle_days, updated_at FROM {db}.opportunities "
                         f"ORDER BY opportunity_id")
    assert rows == [
        ("o-1", "acme", "Acme", 1, 1, "Closed Won", 1, 1, Decimal("900.00"), 39, _ms(NOW - 1 * H)),
        ("o-2", "ghost", "", 0, 0, "Discovery", 0, 0, Decimal("10.00"), None, _ms(NOW - 2 * H)),
    ]
    stages = query(client, f"SELECT opportunity_id, stage, entered_at, left_at, days_in_stage "
                           f"FROM {db}.opportunity_stages ORDER BY opportunity_id, entered_at, isNull(left_at)")
    assert stages == [
        ("o-1", "Prospecting", _ms(NOW - 30 * H), _ms(NOW - 20 * H), Decimal("0.42")),  # 10 h
        ("o-1", "Proposal", _ms(NOW - 20 * H), _ms(NOW - 10 * H), Decimal("0.42")),
        ("o-1", "Prospecting", _ms(NOW - 10 * H), _ms(NOW - 1 * H), Decimal("0.38")),   # 9 h, over two snapshots
        ("o-1", "Closed Won", _ms(NOW - 1 * H), None, None),
        ("o-2", "Qualified", _ms(NOW - 2 * H), _ms(NOW - 2 * H), Decimal("0.00")),      # the tie: ...0e first
        ("o-2", "Discovery", _ms(NOW - 2 * H), None, None),
    ]
    # the Python statement of the rules agrees with the views
    python = rows_of(HISTORY, NOW)
    assert {k: (v.stage, v.amount) for k, v in current_state(python).items()} == \
        {"o-1": ("Closed Won", Decimal("900.00")), "o-2": ("Discovery", Decimal("10.00"))}
    assert [(v.opportunity_id, v.stage, _ms(v.entered_at), v.left_at and _ms(v.left_at))
            for v in stage_visits(python)] == [r[:4] for r in stages]
    # re-sending everything changes nothing; registering the account later attributes it
    assert store(client, db, HISTORY) == (0, 8, 0)
    register(client, db, ("ghost", "Ghost Inc", False))
    assert query(client, f"SELECT account_name, is_registered FROM {db}.opportunities WHERE opportunity_id = 'o-2'") \
        == [("Ghost Inc", 1)]
    assert query(client, f"SELECT count() FROM {db}.opportunity_snapshots FINAL") == [(7,)]
    assert query(client, f"SELECT count() FROM {db}.touches") == [(0,)]


def _ms(at: datetime) -> datetime:
    """As the engine returns a DateTime64(3, 'UTC'): milliseconds, UTC, without tzinfo."""
    return at.astimezone(timezone.utc).replace(microsecond=at.microsecond // 1000 * 1000, tzinfo=None)


def _starts() -> dict[str, object]:
    quarter = TODAY.replace(month=(TODAY.month - 1) // 3 * 3 + 1, day=1)
    return {"mtd": TODAY.replace(day=1), "qtd": quarter, "ytd": TODAY.replace(month=1, day=1),
            "90d": TODAY - timedelta(days=89), "365d": TODAY - timedelta(days=364)}


SUMMARY = ("pipeline_created_count, pipeline_created_amount, won_count, won_amount, lost_count, win_rate, "
           "avg_deal_size, avg_cycle_days, median_cycle_days, new_customers")


@pytest.mark.parametrize("period", ["mtd", "qtd", "ytd", "90d", "365d"])
def test_revenue_summary_counts_each_period_from_its_first_day(engine, period):
    client, settings = engine
    db = settings.database
    start = _starts()[period]
    before = midnight(start) - timedelta(seconds=1)  # the last second of the day before the period
    register(client, db, ("acme", "Acme", True), ("beta", "Beta", False))
    won_a = snapshot("A", "Closed Won", closed="won", amount="100.00", created=midnight(start), close=start, at=NOW)
    won_b = snapshot("B", "Closed Won", closed="won", amount="50.50", created=before, close=TODAY, at=NOW)
    lost_c = snapshot("C", "Closed Lost", closed="lost", amount="70.00", created=before - timedelta(days=30),
                      close=start - timedelta(days=1), at=NOW)
    lost_d = snapshot("D", "Closed Lost", closed="lost", amount="20.00", created=midnight(start), close=TODAY, at=NOW)
    open_e = snapshot("E", "Proposal", amount="10.00", created=midnight(TODAY), close=TODAY + timedelta(days=9),
                      at=NOW)
    won_g = snapshot("G", "Closed Won", closed="won", account_id="ghost", amount="1000.00", created=midnight(start),
                     close=TODAY, at=NOW)
    won_r = snapshot("R", "Closed Won", closed="won", account_id="beta", amount="5.00", created=before,
                     close=start - timedelta(days=1), at=NOW, opportunity_type="renewal")
    store(client, db, [won_a, won_b, lost_c, lost_d, open_e, won_g, won_r])
    refresh_reports(client, db, only=("revenue_summary",))
    rows = {r[0]: r[1:] for r in query(client, f"SELECT audience, {SUMMARY} FROM {db}.revenue_summary "
                                               f"WHERE period = '{period}'")}
    n = (TODAY - start).days  # cycle of B: from the day before the period to today
    # target: created A, D, E (130.00); won A (cycle 0), B (cycle n + 1); lost D (C closed the day before)
    assert rows["target"] == (3, Decimal("130.00"), 2, Decimal("150.50"), 1, Decimal("0.6667"), Decimal("75.25"),
                              _days(Decimal(n + 1) / 2), _days(Decimal(n + 1) / 2), 1)
    # all: + G at the unregistered account (created in, won today: cycle n); beta's renewal closed before
    assert rows["all"] == (4, Decimal("1130.00"), 3, Decimal("1150.50"), 1, Decimal("0.7500"), Decimal("383.50"),
                           _days(Decimal(2 * n + 1) / 3), _days(Decimal(n)), 2)


def _days(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


def test_revenue_summary_with_nothing_closed_has_every_row_and_empty_rates(engine):
    client, settings = engine
    db = settings.database
    refresh_reports(client, db, only=("revenue_summary",))  # empty until its first refresh is done
    rows = query(client, f"SELECT period, audience, {SUMMARY} FROM {db}.revenue_summary ORDER BY period, audience")
    assert len(rows) == 10
    assert {r[2:] for r in rows} == {(0, Decimal(0), 0, Decimal(0), 0, None, None, None, None, 0)}
    register(client, db, ("acme", "Acme", True))
    store(client, db, [snapshot("E", amount="12.34", created=midnight(TODAY), close=TODAY + timedelta(days=5),
                                at=NOW, event_id=str(uuid.uuid4()))])
    refresh_reports(client, db, only=("revenue_summary",))
    rows = query(client, f"SELECT {SUMMARY} FROM {db}.revenue_summary WHERE period = 'mtd' ORDER BY audience")
    assert rows == [(1, Decimal("12.34"), 0, Decimal(0), 0, None, None, None, None, 0)] * 2
