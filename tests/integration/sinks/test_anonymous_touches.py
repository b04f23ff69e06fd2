"""The table re-stitching reads (migration 0005): every version of each anonymous touch, by cookie,
filled on every insert into touches, and backfilled once."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import msgspec

from schemas.rows import TouchRow
from sinks.migrate import migrate
from sinks.writer import ClickHouseWriter

AT = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


def touch(n: int, email: str = "", anonymous_id: str = "") -> TouchRow:
    return TouchRow(uuid.UUID(int=n, version=4), "page_view", AT, AT, date(2026, 11, 20), "acme",
                    email or anonymous_id, "ip", "web", "", Decimal(1), Decimal(1), 0, email, anonymous_id,
                    "10.0.0.0", "https://acme.example/", "{}")


def latest(client, db: str) -> dict[tuple[str, int], tuple[str, str]]:
    """{(cookie, event id): (account, person)} of the highest version of each, as re-stitching reads it."""
    rows = client.query(f"SELECT anonymous_id, event_id, account_id, person FROM {db}.anonymous_touches "
                        "ORDER BY version DESC LIMIT 1 BY event_id").result_rows
    return {(cookie, event_id.int): (account, person) for cookie, event_id, account, person in rows}


def key(cookie: str, n: int) -> tuple[str, int]:
    return cookie, uuid.UUID(int=n, version=4).int


def test_anonymous_touches_hold_every_version_of_cookie_touches_stored_before_and_after_it(engine):
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w-cookies")
    writer.start()
    writer.write([touch(1, anonymous_id="c1"), touch(2, email="cfo@acme.example", anonymous_id="c2"),
                  touch(3, email="cto@acme.example")])
    # only a touch with a cookie and no email can be re-stitched by an identify
    assert latest(client, db) == {key("c1", 1): ("acme", "c1")}
    # a new version (an identify re-stitched it) is there too, and is the one read
    moved = msgspec.structs.replace(touch(1, anonymous_id="c1"), account_id="globex", person="ann@globex.example",
                                    method="stitched", retracts=1, prev_account_id="acme", prev_person="c1",
                                    prev_minutes=Decimal(1), prev_base_minutes=Decimal(1))
    writer.replace([moved])
    assert latest(client, db) == {key("c1", 1): ("globex", "ann@globex.example")}

    # a store from before the table: its touches are there, the table and its view are not
    client.command(f"DROP VIEW {db}.anonymous_touches_mv")
    client.command(f"DROP TABLE {db}.anonymous_touches")
    client.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE version = 5 SETTINGS mutations_sync = 2")
    writer.write([touch(4, anonymous_id="c4")])
    assert migrate(client, settings) == ["0005_anonymous_touches.sql"]
    writer.write([touch(5, anonymous_id="c5")])
    assert latest(client, db) == {key("c1", 1): ("globex", "ann@globex.example"), key("c4", 4): ("acme", "c4"),
                                  key("c5", 5): ("acme", "c5")}
    # the narrower index it replaces is gone
    assert not client.command(f"EXISTS TABLE {db}.cookie_touches")
