"""The writer's exactly-once effect: duplicates filtered, a half-written batch repaired at start."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

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
