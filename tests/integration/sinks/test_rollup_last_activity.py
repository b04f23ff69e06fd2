"""The incremental tick's last activity (account_engagement_tick, 0150_stage_tick_views.sql: an account's
last hour's touches, else those from the day before its last day with minutes, else all of them) against
the full evaluation and the expected moment: the newest touch moved to another account or re-scored to 0
minutes (within the hour: the next one in it, or one found from the last day), a zero-minute
touch in front of a valid one older than it, a touch dated after today, an account whose touches all left."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec

from sinks.store import Store
from streams import stages
from tests.rollup_helpers import TZ, RandomEngagement, evaluated, moved, random_touch, register, zoned  # noqa: F401

ACCOUNTS = ["la-moved", "la-gains", "la-zero", "la-future", "la-emptied"]


def touch(data: RandomEngagement, account: str, at: datetime, minutes: str, kind: str = "email_open"):
    row = random_touch(data.rng, at, 0)
    return msgspec.structs.replace(row, account_id=account, type=kind, channel="email", person="p@la.example",
                                   email="p@la.example", minutes=Decimal(minutes), base_minutes=Decimal(minutes),
                                   occurred_at=at, received_at=at, day=at.astimezone(ZoneInfo(TZ)).date())


def last_activity(client, db: str) -> dict:
    rows = client.query(f"SELECT account_id, last_activity_at FROM {db}.account_engagement_snapshot FINAL "
                        f"WHERE account_id IN %(a)s", parameters={"a": ACCOUNTS}).result_rows
    return {a: at and at.replace(tzinfo=timezone.utc) for a, at in rows}


def version(row, account: str, minutes: str):
    return msgspec.structs.replace(row, account_id=account, minutes=Decimal(minutes), retracts=1,
                                   prev_account_id=row.account_id, prev_person=row.person,
                                   prev_minutes=row.minutes, prev_base_minutes=row.base_minutes,
                                   prev_success=row.success)


def test_tick_last_activity_follows_moves_and_rescoring(zoned):
    client, db = zoned
    store = Store(client, db)
    register(client, db, ACCOUNTS)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    data = RandomEngagement(client, db, seed=3)
    # the tick looks first at the last hour's touches, then from the day before the last day with minutes
    old, recent, in_hour = now - timedelta(days=20), now - timedelta(hours=2), now - timedelta(minutes=10)
    rows = {"moved": touch(data, "la-moved", in_hour, "5"), "zero": touch(data, "la-zero", in_hour, "4"),
            "emptied": touch(data, "la-emptied", recent, "3")}
    data.writer.write(list(rows.values()) + [
        touch(data, "la-moved", now - timedelta(minutes=30), "1"), touch(data, "la-moved", old, "2"),
        touch(data, "la-moved", now - timedelta(days=1), "0"),
        touch(data, "la-zero", old, "2"), touch(data, "la-future", now + timedelta(days=1), "1")])
    stages.evaluate(store, now, margin=timedelta(0))  # the first: everything, the full formula
    assert last_activity(client, db)["la-moved"] == in_hour
    later = now + timedelta(minutes=5)
    data.writer.replace([version(rows["moved"], "la-gains", "5"), version(rows["zero"], "la-zero", "0"),
                         version(rows["emptied"], "", "3")])
    stages.evaluate(store, later, margin=timedelta(0))
    got = last_activity(client, db)
    assert got == {"la-moved": now - timedelta(minutes=30), "la-gains": in_hour, "la-zero": old,
                   "la-future": now + timedelta(days=1), "la-emptied": None}
    full = {r[0]: r[-1] and r[-1].replace(tzinfo=timezone.utc) for r in evaluated(client, db, later)}
    assert {a: full[a] for a in ACCOUNTS} == got
    # they were decided by the tick, not by a full evaluation
    queued = client.query(f"SELECT account_id FROM {db}.stage_queue WHERE batch = %(b)s ORDER BY account_id",
                          parameters={"b": int(later.timestamp() * 1000)}).result_rows
    assert [r[0] for r in queued] == ["la-emptied", "la-gains", "la-moved", "la-zero"]
