"""The cookie index re-stitching reads (migration 0003): filled on every insert, and backfilled once."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from schemas.rows import TouchRow
from sinks.migrate import migrate
from sinks.writer import ClickHouseWriter

AT = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


def touch(n: int, email: str = "", anonymous_id: str = "") -> TouchRow:
    return TouchRow(uuid.UUID(int=n, version=4), "page_view", AT, AT, date(2026, 11, 20), "acme",
                    email or anonymous_id, "ip", "web", "", Decimal(1), Decimal(1), 0, email, anonymous_id,
                    "10.0.0.0", "https://acme.example/", "{}")


def indexed(client, db: str) -> set[tuple[str, int]]:
    rows = client.query(f"SELECT DISTINCT anonymous_id, event_id FROM {db}.cookie_touches").result_rows
    return {(cookie, event_id.int) for cookie, event_id in rows}


def test_the_cookie_index_holds_anonymous_touches_stored_before_and_after_it(engine):
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w-cookies")
    writer.start()
    writer.write([touch(1, anonymous_id="c1"), touch(2, email="cfo@acme.example", anonymous_id="c2"),
                  touch(3, email="cto@acme.example")])
    # only a touch with a cookie and no email can be re-stitched by an identify
    assert indexed(client, db) == {("c1", uuid.UUID(int=1, version=4).int)}

    # a store from before the index: its touches are there, the index and its view are not
    client.command(f"DROP VIEW {db}.cookie_touches_mv")
    client.command(f"DROP TABLE {db}.cookie_touches")
    client.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE version = 3 SETTINGS mutations_sync = 2")
    writer.write([touch(4, anonymous_id="c4")])
    assert migrate(client, settings) == ["0003_cookie_touches.sql"]
    writer.write([touch(5, anonymous_id="c5")])
    assert indexed(client, db) == {(c, uuid.UUID(int=n, version=4).int) for c, n in (("c1", 1), ("c4", 4), ("c5", 5))}
