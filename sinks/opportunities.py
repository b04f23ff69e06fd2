"""Opportunity snapshots into `opportunity_snapshots`: each event id once, whatever is re-delivered.

Not folded into any aggregate, so one insert per batch is the whole commit: the worker acknowledges
the Kafka messages only after `write_opportunities` returns, and a batch re-delivered after a crash
(SIGKILL between this insert and the commit of the offsets) finds its ids stored and adds nothing.
The table is a ReplacingMergeTree on event_id as well, so even two writers racing on one id leave
one row after FINAL. Like touches, the first stored version of an id wins; the *state* of an
opportunity (its latest snapshot by occurred_at) is decided by the views, not here.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Sequence

import msgspec

from schemas.rows import OPPORTUNITY_COLUMNS, OpportunityRow
from sinks.faults import insert_isolating_bad_rows, is_retryable, refused_row
from sinks.writer import ClickHouseWriter, insert_json_rows

log = logging.getLogger("pulse.sink")
_LOOKUP_CHUNK = 2_000  # ids per lookup, under ClickHouse's max_query_size
_encode = msgspec.json.Encoder(decimal_format="number").encode


def write_opportunities(writer: ClickHouseWriter, rows: Sequence[OpportunityRow]) -> tuple[int, int, int]:
    """Store the snapshots not stored yet. Returns (written, duplicates, dead-lettered)."""
    if not rows:
        return 0, 0, 0
    unique: dict[int, OpportunityRow] = {}
    for row in rows:
        unique.setdefault(row.event_id.int, row)
    ids = [row.event_id for row in unique.values()]
    stored: set[int] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        part = ids[start:start + _LOOKUP_CHUNK]
        stored.update(i.int for i in writer.retry("opportunity lookup",
                                                   lambda: writer.store.stored_opportunity_ids(part)))
    fresh = [row for i, row in unique.items() if i not in stored]
    tail = b"," + _encode([writer.writer_id])[1:]

    def insert(part: Sequence[OpportunityRow]) -> None:
        body = b"\n".join([_encode(row)[:-1] + tail for row in part])
        writer.retry("insert opportunities", lambda: insert_json_rows(
            writer.client, f"{writer.database}.opportunity_snapshots", OPPORTUNITY_COLUMNS + ("writer",), body),
            retryable=is_retryable)

    _, refused = insert_isolating_bad_rows(insert, fresh) if fresh else ([], [])
    if refused:  # rows ClickHouse will never take: kept with the error, the rest are in
        now = datetime.now(timezone.utc)
        dead = [refused_row(row, exc, now) for row, exc in refused]
        writer.write_rejected(dead)
        log.error("%d opportunity row(s) refused by ClickHouse went to rejected_events: %s", len(dead),
                  dead[0].reasons)
    return len(fresh) - len(refused), len(rows) - len(fresh), len(refused)
