"""The writer's exactly-once effect: duplicates filtered, a half-written batch repaired at start."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import msgspec
import numpy as np

from schemas.rows import TouchRow
from sinks.writer import ClickHouseWriter, SeenIds


def row(account="acme", minutes="1.50", event_id=None, person="a@acme.example") -> TouchRow:
    at = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    return TouchRow(event_id or uuid.uuid4(), "page_view", at, at, date(2026, 11, 20), account, person, "domain",
                    "web", "", Decimal(minutes), Decimal(minutes), 0, person, "", "", "https://x", "{}")


def totals(client, db):
    return client.query(
        f"SELECT sum(minutes), sum(touches) FROM {db}.engagement_daily WHERE kind = 'touch'").result_rows[0]


def test_duplicates_within_and_across_batches_count_once(engine):
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w1")
    writer.start()
    a, b = row(), row(minutes="2.25")
    first = writer.write([a, a, b])
    assert (first.written, first.duplicates) == (2, 1)
    again = writer.write([a, b, row(minutes="1.00")])
    assert (again.written, again.duplicates) == (1, 2)
    assert totals(client, settings.database) == (Decimal("4.75"), 3)
    # a new writer (a restart) loads the stored ids and still refuses the duplicates
    restarted = ClickHouseWriter(client, settings.database, "w1")
    assert restarted.start() == 3
    assert restarted.write([a, b]).written == 0
    assert totals(client, settings.database) == (Decimal("4.75"), 3)


def test_crash_between_the_two_inserts_is_repaired_at_start(engine):
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w2")
    writer.start()
    writer.write([row(minutes="1.00")])

    def crash(*_a, **_k):
        raise SystemExit("killed between the touches insert and the engagement insert")

    writer._insert_engagement = crash
    lost = [row(minutes="2.00"), row(minutes="3.00")]
    try:
        writer.write(lost)
    except SystemExit:
        pass
    assert totals(client, settings.database) == (Decimal("1.00"), 1)  # half-written
    restarted = ClickHouseWriter(client, settings.database, "w2")
    restarted.start()
    assert totals(client, settings.database) == (Decimal("6.00"), 3)
    # the replayed batch (Kafka re-delivers it: offsets were never committed) changes nothing
    assert restarted.write(lost).written == 0
    assert totals(client, settings.database) == (Decimal("6.00"), 3)
    # and a second restart does not fold it twice
    ClickHouseWriter(client, settings.database, "w2").start()
    assert totals(client, settings.database) == (Decimal("6.00"), 3)


def by_account(client, db):
    return dict(client.query(f"SELECT account_id, sum(minutes) FROM {db}.engagement_daily WHERE kind = 'touch' "
                             "GROUP BY account_id").result_rows)


def test_a_crashed_batch_is_repaired_when_another_worker_re_versioned_one_of_its_touches(engine):
    # A shared store: worker w3 stores a touch (+2.00 to acme) and dies before its aggregates; worker
    # w4 then re-stitches that touch to globex (-2.00 from acme, +3.00 to globex), fully written.
    # The latest version of the touch is w4's, yet w3's own row still has its +2.00 to fold.
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w3")
    writer.start()
    writer.write([row(minutes="1.00")])

    def crash(*_a, **_k):
        raise SystemExit("killed before the aggregates insert")

    writer._insert_engagement = crash
    first = row(minutes="2.00")
    try:
        writer.write([first])
    except SystemExit:
        pass
    other = ClickHouseWriter(client, db, "w4", shared_store=True)
    other.start()
    moved = msgspec.structs.replace(first, account_id="globex", minutes=Decimal("3.00"), base_minutes=Decimal("3.00"),
                                    method="stitched", retracts=1, prev_account_id="acme", prev_person=first.person,
                                    prev_minutes=first.minutes, prev_base_minutes=first.base_minutes)
    other.replace([moved])
    assert by_account(client, db) == {"acme": Decimal("-1.00"), "globex": Decimal("3.00")}  # w3's +2.00 missing
    ClickHouseWriter(client, db, "w3").start()
    assert by_account(client, db) == {"acme": Decimal("1.00"), "globex": Decimal("3.00")}
    assert totals(client, db) == (Decimal("4.00"), 2)
    ClickHouseWriter(client, db, "w3").start()  # nothing left to fold
    assert totals(client, db) == (Decimal("4.00"), 2)


def test_seen_ids_candidates():
    seen = SeenIds(np.array([5, 1, 9], dtype=np.uint64), merge_at=2)
    assert seen.candidates([1, 2, 9, 10]) == {1, 9}
    seen.add([2])
    assert seen.candidates([2, 3]) == {2}
    seen.add([3])  # merges into the base
    assert seen.candidates([2, 3, 4]) == {2, 3}
    assert len(seen) == 5


def test_a_shared_store_looks_up_every_id_another_worker_may_have_written(engine):
    client, settings = engine
    first = ClickHouseWriter(client, settings.database, "w-a", shared_store=True)
    second = ClickHouseWriter(client, settings.database, "w-b", shared_store=True)
    first.start()
    second.start()  # started before w-a wrote: its hash set knows nothing of w-a's rows
    redelivered = [row(minutes="2.00"), row(minutes="3.00")]
    assert first.write(redelivered).written == 2
    assert second.write(redelivered + [row(minutes="1.00")]).written == 1
    assert totals(client, settings.database) == (Decimal("6.00"), 3)
