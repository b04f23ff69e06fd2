"""The writer against a fake client: what it sends, in which order, and how it treats failures.
(The same writer against the real engine: tests/integration/sinks/test_writer.py.)"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

import msgspec
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from schemas.rows import TouchRow
from sinks.writer import ClickHouseWriter


def row(minutes="1.50", event_id=None, account="acme") -> TouchRow:
    at = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)
    return TouchRow(event_id or uuid.uuid4(), "page_view", at, at, date(2026, 11, 20), account, "a@acme.example",
                    "domain", "web", "", Decimal(minutes), Decimal(minutes), 0, "", "", "", "https://x", "{}")


class Result:
    def __init__(self, rows):
        self.result_rows = rows


class FakeClient:
    """Records inserts; answers the dedup lookup with the ids in `stored`; fails as told."""

    def __init__(self):
        self.inserts: list[tuple[str, list]] = []
        self.stored: set[uuid.UUID] = set()
        self.failures: list[Exception] = []   # raised by the next inserts, one each
        self.refuse: set[str] = set()         # accounts whose rows the "column" refuses
        self.queries: list[str] = []

    def raw_insert(self, table, columns, body, fmt=None, settings=None):
        if self.failures:
            raise self.failures.pop(0)
        lines = [msgspec.json.decode(line) for line in body.splitlines() if line]
        if table.endswith(".touches") and any(line[5] in self.refuse for line in lines):
            raise DatabaseError("Code: 53. DB::Exception: Type mismatch in column `account_id`")
        self.inserts.append((table.split(".")[-1], lines))

    def insert(self, table, data, column_names=None):
        self.inserts.append((table.split(".")[-1], data))

    def query(self, sql, parameters=None):
        self.queries.append(sql)
        if "kind = 'checkpoint'" in sql:  # recover(): this writer's checkpoint, then nothing newer
            return Result([(None,)])
        return Result([(i,) for i in parameters.get("ids", []) if i in self.stored])


def tables(client: FakeClient) -> list[str]:
    return [table for table, _ in client.inserts]


def test_a_batch_is_one_insert_into_touches_which_the_store_folds():
    client = FakeClient()
    result = ClickHouseWriter(client, "db", "w1").write([row(), row("2.00")])
    assert (result.written, result.duplicates) == (2, 0)
    assert tables(client) == ["touches"]
    assert not any("checkpoint" in sql for sql in client.queries)  # a first attempt that worked: no recovery
    touches = client.inserts[0][1]
    assert [t[-3] for t in touches] == ["w1", "w1"]  # the writer's id, then batch_seq and version
    assert touches[0][-2] == touches[0][-1] == result.batch_seq


def test_duplicates_in_a_batch_and_ids_already_stored_are_not_written_again():
    client = FakeClient()
    writer = ClickHouseWriter(client, "db", "w1")
    a, b = row(), row()
    assert (writer.write([a, a, b]).written, len(client.inserts[0][1])) == (2, 2)
    client.stored = {a.event_id, b.event_id}   # what the store now holds: the lookup confirms it
    again = writer.write([a, b])
    assert (again.written, again.duplicates) == (0, 2)
    assert tables(client) == ["touches"]  # nothing more sent


def test_add_buffers_until_max_rows_then_flushes_one_batch():
    client = FakeClient()
    writer = ClickHouseWriter(client, "db", "w1", max_rows=3)
    assert writer.add([row(), row()]) is None and client.inserts == []
    assert writer.add([row()]).written == 3
    assert writer.flush() is None  # nothing left


def test_a_store_that_is_away_is_retried_until_it_answers():
    client = FakeClient()
    client.failures = [OperationalError("connection refused"), OperationalError("connection refused")]
    writer = ClickHouseWriter(client, "db", "w1", max_backoff=0.01)
    assert writer.write([row()]).written == 1
    assert writer.state == "ok" and tables(client) == ["touches"]
    # a failed attempt may have left touches without their aggregates: the writer looks for them
    assert any("kind = 'checkpoint'" in sql for sql in client.queries)


def test_a_row_the_store_refuses_is_isolated_and_dead_lettered_the_rest_written():
    client = FakeClient()
    client.refuse = {"bad"}
    rows = [row(), row(account="bad"), row(), row()]
    result = ClickHouseWriter(client, "db", "w1").write(rows)
    assert (result.written, result.dead_lettered) == (3, 1)
    written = [line[0] for table, lines in client.inserts if table == "touches" for line in lines]
    assert sorted(written) == sorted(str(r.event_id) for r in rows if r.account_id != "bad")
    # the bisection sent several inserts, none of them failed and was sent again: nothing to recover
    assert not any("kind = 'checkpoint'" in sql for sql in client.queries)
    (letter,) = [data for table, data in client.inserts if table == "rejected_events"]
    assert "Type mismatch" in letter[0][2] and letter[0][4] == f"sink/{rows[1].event_id}"
