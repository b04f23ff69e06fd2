"""The account index the Account page's timeline reads (migration 0004): filled on every insert,
following re-attribution both ways, and backfilled once."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec

from schemas.rows import TouchRow
from sinks.migrate import migrate
from sinks.writer import ClickHouseWriter
from ui import queries

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def touch(n: int, account: str, minutes: str = "1", minutes_ago: int = 0) -> TouchRow:
    at = NOW - timedelta(minutes=minutes_ago)
    return TouchRow(uuid.UUID(int=n, version=4), "page_view", at, at, at.date(), account, f"p{n}@x.example",
                    "contact", "web", "", Decimal(minutes), Decimal(minutes), 0, f"p{n}@x.example", "", "",
                    f"https://x.example/{n}", "{}")


def moved(row: TouchRow, account: str, minutes: str) -> TouchRow:
    """A re-attribution's new version of a stored touch, as attribution.rescore makes it."""
    return msgspec.structs.replace(row, account_id=account, minutes=Decimal(minutes), retracts=1,
                                   prev_account_id=row.account_id, prev_person=row.person,
                                   prev_minutes=row.minutes, prev_base_minutes=row.base_minutes)


def timeline(client, db: str, account: str) -> list[tuple[str, float]]:
    rows = client.query(queries.ACCOUNT_TIMELINE.replace(" account_touches", f" {db}.account_touches"),
                        parameters={"account": account}).result_rows
    return [(url.rsplit("/", 1)[1], minutes) for _, _, _, _, minutes, _, url, *_ in rows]


def test_the_timeline_follows_each_touch_to_its_current_account(engine):
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w-accounts")
    writer.start()
    first, second, third = touch(1, "acme", minutes_ago=3), touch(2, "acme", minutes_ago=2), touch(3, "globex", minutes_ago=1)
    writer.write([first, second, third, touch(4, "", minutes_ago=1), touch(5, "initech", minutes_ago=91 * 24 * 60)])
    assert timeline(client, db, "acme") == [("2", 1.0), ("1", 1.0)]          # newest first
    assert timeline(client, db, "globex") == [("3", 1.0)]
    assert timeline(client, db, "initech") == []                             # the timeline shows 90 days

    # touch 1 moves to globex, touch 2 stays at acme with new minutes
    writer.replace([moved(first, "globex", "2"), moved(second, "acme", "3")])
    assert timeline(client, db, "acme") == [("2", 3.0)]
    assert timeline(client, db, "globex") == [("3", 1.0), ("1", 2.0)]

    # and back again: a newer version under acme outranks the tombstone it left there
    stored_first = writer.stored("event_id = %(id)s", {"id": first.event_id})[0]
    writer.replace([moved(stored_first, "acme", "4")])
    assert timeline(client, db, "acme") == [("2", 3.0), ("1", 4.0)]
    assert timeline(client, db, "globex") == [("3", 1.0)]


def test_the_account_index_is_backfilled_from_touches_stored_before_it(engine):
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w-backfill")
    writer.start()
    client.command(f"DROP VIEW {db}.account_touches_mv")
    client.command(f"DROP VIEW {db}.account_touches_moved_mv")
    client.command(f"DROP TABLE {db}.account_touches")
    # 0015 (traffic) adds its columns to the table 0004 makes: both run again, as on a store from before them
    client.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE version IN (4, 15) SETTINGS mutations_sync = 2")
    old = touch(1, "acme", minutes_ago=2)
    writer.write([old, touch(2, "acme", minutes_ago=1)])
    writer.replace([moved(old, "globex", "5")])
    assert migrate(client, settings) == ["0004_account_touches.sql", "0015_traffic.sql"]
    writer.write([touch(3, "acme")])
    assert timeline(client, db, "acme") == [("3", 1.0), ("2", 1.0)]
    assert timeline(client, db, "globex") == [("1", 5.0)]
