"""The writer's exactly-once effect: duplicates filtered, a half-written batch repaired at start."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import numpy as np
import pytest
from clickhouse_connect.driver.exceptions import OperationalError

from schemas.rows import TouchRow
from sinks.seen_ids import RecentIds
from sinks.seen_ids_load import load_recent_ids
from sinks.writer import ClickHouseWriter


def row(account="acme", minutes="1.50", event_id=None, person="a@acme.example") -> TouchRow:
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)  # inside the memory window
    return TouchRow(event_id or uuid.uuid4(), "page_view", at, at, at.date(), account, person, "domain",
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


@contextmanager
def store_dies_after_the_touches_part(client, db):
    """What a store killed between the touches part and its fold view's part leaves: touches alone.

    ClickHouse commits an insert's part and its materialized views' parts one after the other, with no
    transaction around them; the writer makes the touches part go first (see sinks/writer.py)."""
    client.command(f"DETACH TABLE {db}.engagement_fold_mv")
    try:
        yield
    finally:
        client.command(f"ATTACH TABLE {db}.engagement_fold_mv")


def test_one_insert_stores_a_batch_and_its_aggregates(engine):
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w0")
    writer.start()
    writer.write([row(minutes="1.00"), row(account="globex", minutes="2.50")])
    assert by_account(client, settings.database) == {"acme": Decimal("1.00"), "globex": Decimal("2.50")}
    checkpoint = client.query(f"SELECT max(batch_seq) FROM {settings.database}.engagement_daily "
                              "WHERE kind = 'checkpoint' AND person = 'w0'").result_rows[0][0]
    assert checkpoint == writer._last_seq  # the batch's checkpoint came with it


def test_touches_stored_without_their_aggregates_are_folded_at_start(engine):
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w2")
    writer.start()
    writer.write([row(minutes="1.00")])
    lost = [row(minutes="2.00"), row(minutes="3.00")]
    with store_dies_after_the_touches_part(client, settings.database):
        writer.write(lost)
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


class DiesAfterTheTouchesPart:
    """The writer's client, whose first insert is stored without its aggregates and then reported as
    failed (the store died mid-insert and came back). The retry is deduplicated as a block already
    stored; `views_on_retry` says whether the store still feeds it to the views (ClickHouse 26.9 does,
    with deduplicate_blocks_in_dependent_materialized_views) or not (older servers: nothing is written)."""

    def __init__(self, client, db: str, views_on_retry: bool):
        self._client, self._db, self._views_on_retry = client, db, views_on_retry
        self.attempts = 0

    def raw_insert(self, table, columns, body, **kwargs):
        if not table.endswith(".touches"):
            return self._client.raw_insert(table, columns, body, **kwargs)
        self.attempts += 1
        if self.attempts == 1 or not self._views_on_retry:
            with store_dies_after_the_touches_part(self._client, self._db):
                self._client.raw_insert(table, columns, body, **kwargs)
        else:
            self._client.raw_insert(table, columns, body, **kwargs)
        if self.attempts == 1:
            raise OperationalError("connection reset by peer")

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.mark.parametrize("views_on_retry", [False, True])
def test_a_retried_insert_whose_first_attempt_lost_its_aggregates_is_folded_once(engine, views_on_retry):
    client, settings = engine
    flaky = DiesAfterTheTouchesPart(client, settings.database, views_on_retry)
    writer = ClickHouseWriter(flaky, settings.database, "w5")
    writer.start()
    writer.max_backoff = 0.01
    assert writer.write([row(minutes="2.00"), row(minutes="3.00")]).written == 2
    assert flaky.attempts == 2 and writer.state == "ok"
    assert totals(client, settings.database) == (Decimal("5.00"), 2)
    ClickHouseWriter(client, settings.database, "w5").start()  # nothing left to fold at a restart either
    assert totals(client, settings.database) == (Decimal("5.00"), 2)


def by_account(client, db):
    return dict(client.query(f"SELECT account_id, sum(minutes) FROM {db}.engagement_daily WHERE kind = 'touch' "
                             "GROUP BY account_id").result_rows)


def test_a_crashed_batch_is_repaired_when_another_worker_re_versioned_one_of_its_touches(engine):
    # A shared store: worker w3's touch (+2.00 to acme) is stored without its aggregates (the store died
    # between the two parts); worker w4 then re-stitches that touch to globex (-2.00 from acme, +3.00 to
    # globex), fully written. The latest version of the touch is w4's, yet w3's own row still has its
    # +2.00 to fold.
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w3")
    writer.start()
    writer.write([row(minutes="1.00")])

    first = row(minutes="2.00")
    with store_dies_after_the_touches_part(client, db):
        writer.write([first])
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


def test_recent_ids_hold_the_window_and_drop_the_days_that_leave_it():
    today = date(2026, 11, 20)
    day = RecentIds.day_number
    seen = RecentIds(3, today, {day(today): np.array([9, 5], dtype=np.uint64),
                                day(date(2026, 11, 18)): np.array([1], dtype=np.uint64),
                                day(date(2026, 11, 17)): np.array([4], dtype=np.uint64)}, merge_at=2)
    assert len(seen) == 3  # the day before the window is not kept
    assert seen.holds(day(date(2026, 11, 18))) and not seen.holds(day(date(2026, 11, 17)))
    assert seen.first_day == date(2026, 11, 18)
    assert seen.candidates([1, 2, 9, 10]) == {1: day(date(2026, 11, 18)), 9: day(today)}  # with their days
    seen.add([(2, day(today)), (7, day(date(2026, 11, 1)))])  # 7's day is outside the window: not kept
    assert seen.candidates([2, 7]).keys() == {2} and len(seen) == 4
    seen.add([(3, day(date(2026, 11, 19)))])  # merges into the base
    assert seen.candidates([2, 3, 4]) == {2: day(today), 3: day(date(2026, 11, 19))}
    assert seen.advance(date(2026, 11, 21)) == 1  # 2026-11-18 left the window: id 1 with it
    assert seen.candidates([1, 2, 3, 5, 9]).keys() == {2, 3, 5, 9} and not seen.holds(day(date(2026, 11, 18)))
    assert seen.advance(date(2026, 11, 21)) == 0


def old_row(days_ago: int, minutes="1.00") -> TouchRow:
    at = datetime.now(timezone.utc) - timedelta(days=days_ago)
    return msgspec.structs.replace(row(minutes=minutes), occurred_at=at, received_at=at, day=at.date())


def test_ids_older_than_the_memory_window_are_looked_up_in_the_store(engine):
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w6", memory_days=7)
    writer.start()
    recent, old = old_row(1), old_row(30, minutes="2.00")
    assert writer.write([recent, old]).written == 2
    assert len(writer.seen) == 1  # only the recent id is held
    restarted = ClickHouseWriter(client, settings.database, "w6", memory_days=7)
    assert restarted.start() == 1  # a restart loads the window, not the history
    again = restarted.write([recent, old, old_row(40, minutes="4.00")])
    assert (again.written, again.duplicates) == (1, 2)
    assert totals(client, settings.database) == (Decimal("7.00"), 3)


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


@pytest.mark.parametrize("offset_hours", [14, -12, 0])
def test_a_replay_of_held_ids_is_found_within_their_stored_days_in_any_reporting_zone(engine, offset_hours):
    """A held id is looked up within the days the memory holds it under (sinks/writer._moments_of_days), a day's
    slack either side: a reporting zone 14 hours ahead of UTC or 12 behind puts a touch's day a date away from its
    UTC moment, and the replay of such touches, by the writer that stored them and by a restarted one (which loads
    the days from the store), must still be found, every one."""
    client, settings = engine
    now = datetime.now(timezone.utc).replace(microsecond=0)
    rows = []
    for hours_ago in (1, 11, 13, 24 * 5 - 1):  # across UTC dates, every day held (a window of 7 days)
        at = now - timedelta(hours=hours_ago)
        local_day = (at + timedelta(hours=offset_hours)).date()
        rows.append(msgspec.structs.replace(row(minutes="1.25"), occurred_at=at, received_at=at, day=local_day))
    writer = ClickHouseWriter(client, settings.database, "w-days", memory_days=7)
    writer.start()
    assert writer.write(rows).written == len(rows)
    assert [writer.write([r]).duplicates for r in rows] == [1] * len(rows)  # each alone: a chunk of its own day
    restarted = ClickHouseWriter(client, settings.database, "w-days", memory_days=7)
    assert restarted.start() == len(rows)
    assert [restarted.write([r]).duplicates for r in rows] == [1] * len(rows)
    assert restarted.write(list(reversed(rows))).duplicates == len(rows)
    assert totals(client, settings.database) == (Decimal("1.25") * len(rows), len(rows))


def test_the_recent_ids_load_by_day_as_stored(engine):
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w8", memory_days=7)
    writer.start()
    rows = [old_row(days_ago) for days_ago in (0, 0, 1, 3, 3, 3, 6, 8, 30)]
    assert writer.write(rows).written == len(rows)
    first_day = writer.seen.first_day
    loaded = load_recent_ids(client, settings.database, first_day)
    expected: dict[int, list[int]] = {}
    for r in rows:
        if r.day >= first_day:
            expected.setdefault(RecentIds.day_number(r.day), []).append(r.event_id.int & ((1 << 64) - 1))
    assert {day: sorted(hashes.tolist()) for day, hashes in loaded.items()} == \
        {day: sorted(hashes) for day, hashes in expected.items()}
    assert ClickHouseWriter(client, settings.database, "w8", memory_days=7).start() == \
        sum(map(len, expected.values()))
