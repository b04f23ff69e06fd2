"""The opportunity state kept as snapshots arrive (0017_opportunity_state.sql, 0018_opportunity_latest.sql)
against the definitions the views had before it, which read every snapshot at every query (kept below
as OLD_*): random histories,
inserted shuffled, in several parts, with duplicates (a replay re-inserts rows the writer would skip)
and ties on occurred_at, must give the same `opportunities` and `opportunity_stages`, row for row. The
backfill of the migration is checked the same way on snapshots stored before the state tables existed,
and the writer's repair at start on snapshots stored while the views were gone (a crash between inserts)."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from sinks.migrate import load_migrations, migrate
from sinks.writer import ClickHouseWriter

# `opportunities` and `opportunity_stages` as 0400_revenue_views.sql defined them before issue 15's
# state tables: the latest snapshot and the stage visits computed from every row of opportunity_snapshots.
OLD_OPPORTUNITIES = """
SELECT o.opportunity_id AS opportunity_id, o.account_id AS account_id, a.name AS account_name,
       a.is_target AS is_target, a.account_id != '' AS is_registered,
       o.name AS name, o.stage AS stage, o.is_closed AS is_closed, o.is_won AS is_won, o.amount AS amount,
       o.created_at AS created_at, o.close_date AS close_date, o.owner AS owner, o.source AS source,
       o.type AS type, o.program_id AS program_id, o.probability AS probability,
       if(o.is_closed, toNullable(toInt32(dateDiff('day', toDate(o.created_at, '{tz}'), o.close_date))),
          NULL) AS cycle_days,
       o.occurred_at AS updated_at
FROM
(
    SELECT * FROM {db}.opportunity_snapshots FINAL
    ORDER BY opportunity_id, occurred_at DESC, toString(event_id) DESC
    LIMIT 1 BY opportunity_id
) AS o
LEFT JOIN (SELECT account_id, name, is_target FROM {db}.accounts FINAL) AS a ON a.account_id = o.account_id
SETTINGS join_use_nulls = 0
"""
OLD_STAGES = """
SELECT opportunity_id, stage, entered_at, left_at,
       if(left_at IS NULL, NULL, toNullable(toDecimal64(round(
           toDecimal128(dateDiff('millisecond', entered_at, assumeNotNull(left_at)), 6) / 86400000, 2), 2)))
           AS days_in_stage
FROM
(
    SELECT opportunity_id, stage, occurred_at AS entered_at,
           leadInFrame(toNullable(occurred_at)) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, tie
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS left_at
    FROM
    (
        SELECT opportunity_id, stage, occurred_at, tie,
               lagInFrame(toNullable(stage)) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, tie
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS previous
        FROM (SELECT opportunity_id, stage, occurred_at, toString(event_id) AS tie
              FROM {db}.opportunity_snapshots FINAL)
    )
    WHERE previous IS NULL OR previous != stage
)
"""
COLUMNS = ("event_id", "opportunity_id", "account_id", "occurred_at", "received_at", "stage", "is_closed", "is_won",
           "amount", "currency", "created_at", "close_date", "name", "owner", "source", "type", "program_id",
           "probability", "payload", "writer")
BASE = datetime(2026, 6, 1, 12, 0)


def history(rng: random.Random, opportunities: int) -> list[list]:
    """Snapshots of random opportunities: few distinct instants (ties), stages that come back."""
    rows = []
    for n in range(opportunities):
        created = BASE - timedelta(days=rng.randint(1, 400))
        for _ in range(rng.randint(1, 7)):
            stage = rng.choice(["Prospecting", "Proposal", "Negotiation", "Closed Won", "Closed Lost"])
            closed = stage.startswith("Closed")
            rows.append([uuid.UUID(int=rng.getrandbits(128)), f"o-{n}", rng.choice(["a-1", "a-2", "ghost"]),
                         BASE + timedelta(hours=rng.randint(0, 5), milliseconds=rng.choice([0, 1])),
                         BASE, stage, int(closed), int(stage == "Closed Won"),
                         Decimal(rng.randint(0, 10**6)) / 100, "USD", created,
                         date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)), f"deal {n}", rng.choice(["", "rep"]),
                         rng.choice(["marketing", "sales", ""]), rng.choice(["new_business", "renewal"]),
                         rng.choice(["", "cmp-1"]), rng.choice([None, 0, 40, 100]), "{}", "w"])
    return rows


def insert_shuffled(client, db: str, rng: random.Random, rows: list[list]) -> None:
    """In random order, over several inserts (parts), a fifth of the rows twice (a replay)."""
    rows = rows + [list(r) for r in rng.sample(rows, len(rows) // 5)]
    rng.shuffle(rows)
    for start in range(0, len(rows), 37):
        client.insert(f"{db}.opportunity_snapshots", rows[start:start + 37], column_names=COLUMNS)


def assert_same_as_before(client, settings) -> None:
    db, tz = settings.database, settings.reporting_tz
    old = client.query(f"SELECT * FROM ({OLD_OPPORTUNITIES.format(db=db, tz=tz)}) ORDER BY opportunity_id")
    new = client.query(f"SELECT * FROM {db}.opportunities ORDER BY opportunity_id")
    assert new.column_names == old.column_names and new.column_types == old.column_types
    assert new.result_rows == old.result_rows and len(new.result_rows) > 0
    order = "ORDER BY opportunity_id, entered_at, stage, isNull(left_at), left_at"
    old = client.query(f"SELECT * FROM ({OLD_STAGES.format(db=db)}) {order}")
    new = client.query(f"SELECT * FROM {db}.opportunity_stages {order}")
    assert [t.name for t in new.column_types] == [t.name for t in old.column_types]
    assert new.result_rows == old.result_rows


def register_accounts(client, db: str) -> None:
    client.command(f"INSERT INTO {db}.accounts (account_id, name, is_target, updated_at) "
                   f"VALUES ('a-1', 'One', 1, now64(3)), ('a-2', 'Two', 0, now64(3))")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_state_tables_equal_the_old_views_on_shuffled_snapshots_with_duplicates_and_ties(engine, seed):
    client, settings = engine
    rng = random.Random(seed)
    register_accounts(client, settings.database)
    insert_shuffled(client, settings.database, rng, history(rng, 60))
    assert_same_as_before(client, settings)
    # a late batch for the same opportunities (older and newer snapshots), and after merges
    insert_shuffled(client, settings.database, rng, history(rng, 60))
    assert_same_as_before(client, settings)
    for table in ("opportunity_latest", "opportunity_stage_points", "opportunity_snapshots"):
        client.command(f"OPTIMIZE TABLE {settings.database}.{table} FINAL")
    assert_same_as_before(client, settings)


def test_the_migration_backfills_snapshots_stored_before_it(engine):
    client, settings = engine
    db = settings.database
    rng = random.Random(7)
    register_accounts(client, db)
    for name in ("opportunity_latest_mv", "opportunity_stage_points_mv"):
        client.command(f"DROP VIEW {db}.{name}")
    for name in ("opportunity_latest", "opportunity_stage_points"):
        client.command(f"DROP TABLE {db}.{name}")
    client.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE version IN (17, 18) SETTINGS mutations_sync = 1")
    insert_shuffled(client, db, rng, history(rng, 40))  # stored by a worker before the upgrade
    assert migrate(client, settings) == ["0017_opportunity_state.sql", "0018_opportunity_latest.sql"]
    assert client.query(f"EXISTS TABLE {db}.opportunity_state").result_rows == [(0,)]  # 0018 dropped it
    assert_same_as_before(client, settings)
    insert_shuffled(client, db, rng, history(rng, 40))  # and the views follow new snapshots
    assert_same_as_before(client, settings)


def test_the_writer_repairs_snapshots_a_crash_kept_from_the_state_tables(engine):
    """A SIGKILL between the insert into opportunity_snapshots and its views' inserts: here the views are
    gone while a batch is stored, then back; the writer's start repairs what they missed."""
    client, settings = engine
    db = settings.database
    rng = random.Random(11)
    register_accounts(client, db)
    rows = history(rng, 60)
    insert_shuffled(client, db, rng, rows[: len(rows) // 2])
    views = [s for m in load_migrations(settings) if m.version in (17, 18) for s in m.statements()
             if s.startswith("CREATE MATERIALIZED VIEW") and "opportunity_state_mv" not in s]
    for name in ("opportunity_latest_mv", "opportunity_stage_points_mv"):
        client.command(f"DROP VIEW {db}.{name}")
    insert_shuffled(client, db, rng, rows[len(rows) // 2:])
    for statement in views:
        client.command(statement)
    with pytest.raises(AssertionError):
        assert_same_as_before(client, settings)
    ClickHouseWriter(client, db, "w-repair").start()
    assert_same_as_before(client, settings)
    ClickHouseWriter(client, db, "w-repair").start()  # nothing missing: changes nothing
    assert_same_as_before(client, settings)
    assert client.query(f"SELECT count() FROM {db}.opportunity_stage_points FINAL").result_rows == \
        client.query(f"SELECT count() FROM {db}.opportunity_snapshots FINAL").result_rows
