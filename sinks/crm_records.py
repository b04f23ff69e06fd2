"""CRM records (opportunity snapshots, lifecycle changes, account statuses) into their tables: each
event id once, whatever is re-delivered.

Not folded into any aggregate, so one insert per table and chunk is the whole commit: the worker
acknowledges the Kafka messages only after `write_records` returns, and a chunk re-delivered after a
crash (SIGKILL between this insert and the commit of the offsets) finds its ids stored and adds
nothing. Each table is a ReplacingMergeTree on event_id as well, so even two writers racing on one id
leave one row after FINAL. Like touches, the first stored version of an id wins; the *state* a record
stands for (an opportunity's latest snapshot, a person's current stage) is decided by the views.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

import msgspec

from schemas.rows import (ACCOUNT_STATUS_COLUMNS, LIFECYCLE_COLUMNS, OPPORTUNITY_COLUMNS, AccountStatusRow,
                          LifecycleRow, OpportunityRow)
from sinks.faults import insert_isolating_bad_rows, is_retryable, refused_row
from sinks.writer import ClickHouseWriter, insert_json_rows

log = logging.getLogger("pulse.sink")
_LOOKUP_CHUNK = 2_000  # ids per lookup, under ClickHouse's max_query_size
_encode = msgspec.json.Encoder(decimal_format="number").encode


@dataclass(frozen=True)
class RecordTable:
    """Where one kind of CRM record is stored: its table and the insert order of its row type."""

    table: str
    columns: tuple[str, ...]
    what: str  # for logs and retries: "opportunity", "lifecycle change", ...


# Row type -> its table (the row types of schemas/rows.py are the routing keys).
TABLES = {
    OpportunityRow: RecordTable("opportunity_snapshots", OPPORTUNITY_COLUMNS, "opportunity"),
    LifecycleRow: RecordTable("lifecycle_changes", LIFECYCLE_COLUMNS, "lifecycle change"),
    AccountStatusRow: RecordTable("account_statuses", ACCOUNT_STATUS_COLUMNS, "account status"),
}


def write_records(writer: ClickHouseWriter, rows: Sequence) -> tuple[int, int, int]:
    """Store the records not stored yet, each kind in its own table (rows of several kinds may be mixed).
    Returns (written, duplicates, dead-lettered) over all of them."""
    kinds: dict[type, list] = {}
    for row in rows:
        kinds.setdefault(type(row), []).append(row)
    totals = [0, 0, 0]
    for kind, part in kinds.items():
        for i, n in enumerate(write_table(writer, TABLES[kind], part)):
            totals[i] += n
    return totals[0], totals[1], totals[2]


def write_table(writer: ClickHouseWriter, target: RecordTable, rows: Sequence) -> tuple[int, int, int]:
    """Store the records of one table not stored yet. Returns (written, duplicates, dead-lettered)."""
    if not rows:
        return 0, 0, 0
    unique: dict[int, object] = {}
    for row in rows:
        unique.setdefault(row.event_id.int, row)
    ids = [row.event_id for row in unique.values()]
    stored: set[int] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        part = ids[start:start + _LOOKUP_CHUNK]
        stored.update(i.int for i in writer.retry(f"{target.what} lookup",
                                                   lambda: writer.store.stored_event_ids(target.table, part)))
    fresh = [row for i, row in unique.items() if i not in stored]
    tail = b"," + _encode([writer.writer_id])[1:]

    def insert(part: Sequence) -> None:
        body = b"\n".join([_encode(row)[:-1] + tail for row in part])
        writer.retry(f"insert {target.table}", lambda: insert_json_rows(
            writer.client, f"{writer.database}.{target.table}", target.columns + ("writer",), body),
            retryable=is_retryable)

    _, refused = insert_isolating_bad_rows(insert, fresh) if fresh else ([], [])
    if refused:  # rows ClickHouse will never take: kept with the error, the rest are in
        now = datetime.now(timezone.utc)
        dead = [refused_row(row, exc, now) for row, exc in refused]
        writer.write_rejected(dead)
        log.error("%d %s row(s) refused by ClickHouse went to rejected_events: %s", len(dead), target.what,
                  dead[0].reasons)
    return len(fresh) - len(refused), len(rows) - len(fresh), len(refused)
