"""The batching writer: exactly-once effect in ClickHouse over at-least-once delivery from Kafka.

A batch is ONE insert: new touches into `touches` (duplicates of stored event ids filtered out
first). The store folds them into their signed engagement deltas plus this writer's checkpoint (the
batch's sequence number) in the same insert (the view `engagement_fold_mv`, migration 0035), so a
worker that dies leaves either both or neither, whichever worker takes its partitions over. Only the
store itself dying between the touches part and the view's part can leave touches newer than the
checkpoint; `recover()` folds exactly those, at start and after any insert that had to be retried.
Kafka offsets are committed by the caller only after `write` returns, so nothing acknowledged is
ever missing.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Sequence

import msgspec
from msgspec.structs import astuple
from clickhouse_connect.driver.client import Client

from schemas.rows import ENGAGEMENT_COLUMNS, TOUCH_COLUMNS, TOUCH_WRITE_COLUMNS, RejectedRow, REJECTED_COLUMNS, TouchRow
from sinks.faults import insert_isolating_bad_rows, is_retryable, refused_row
from sinks.fold import engagement_rows, fold
from sinks.seen_ids import LOW64, RecentIds, window_start
from sinks.seen_ids_load import load_recent_ids
from sinks.store import Store

log = logging.getLogger("pulse.sink")
_LOOKUP_CHUNK = 2_000  # event ids per dedup query (~80 KB of SQL)
_SLACK = timedelta(seconds=1)
# Rows travel to ClickHouse as JSON lines: msgspec encodes them in C (~2 us a touch row, against ~10 us
# for clickhouse-connect building Native columns in Python) and ClickHouse parses them in C++ with the
# GIL released, while the event loop scores the next chunk.
_encoder = msgspec.json.Encoder(decimal_format="number")
_encode, _encode_lines = _encoder.encode, _encoder.encode_lines
# msgspec writes RFC 3339 timestamps ("...T10:00:00.123456Z"); ClickHouse's default parser wants
# "YYYY-MM-DD hh:mm:ss[.fff]".
JSON_INSERT_SETTINGS = {"date_time_input_format": "best_effort"}
# The touches part is committed before its views' parts (ClickHouse >= 26.6; chDB has it): a crash
# between them can then leave touches without their aggregates, which recover() folds, and never
# aggregates without their touches, which nothing could take back.
_SOURCE_FIRST = "wait_for_part_commit_in_dependent_materialized_views"


def _moments_of_days(first: int, last: int) -> tuple[datetime, datetime]:
    """When a touch of the reporting days numbered `first` to `last` may have occurred: those days in UTC and a
    day either side, for the reporting zone's offset (as sinks/seen_ids_load.py reads them)."""
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    return epoch + timedelta(days=first - 1), epoch + timedelta(days=last + 2)


def insert_json_rows(client: Client, table: str, columns: Sequence[str], body: bytes) -> None:
    """Insert rows encoded as JSON arrays, one per line, in `columns` order."""
    settings = JSON_INSERT_SETTINGS
    if _SOURCE_FIRST in getattr(client, "server_settings", ()):
        settings = {**settings, _SOURCE_FIRST: 1}
    client.raw_insert(table, columns, body, fmt="JSONCompactEachRow", settings=settings)


@dataclass
class WriteResult:
    written: int
    duplicates: int
    batch_seq: int
    dead_lettered: int = 0  # rows ClickHouse refused (bad data), kept in rejected_events


@dataclass
class ClickHouseWriter:
    """`add` rows, `flush` when full or old, or `write(batch)` directly. Synchronous: run it off the event loop."""

    client: Client
    database: str
    writer_id: str
    max_rows: int = 10_000
    clock: Callable[[], float] = time.time
    # Days of stored ids held in memory for deduplication (PULSE_DEDUP_MEMORY_DAYS); older ones are looked up.
    memory_days: int = 7
    seen: RecentIds | None = None
    max_backoff: float = 10.0
    # True on a ClickHouse server that several workers write: every id is looked up there, since a
    # batch re-delivered after a rebalance was stored by another worker this one's hash set never saw.
    shared_store: bool = False
    # Health, read by the status endpoint and the dashboard.
    state: str = "ok"
    last_error: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    _buffer: list[TouchRow] = field(default_factory=list)
    _last_seq: int = 0

    def __post_init__(self) -> None:
        if self.seen is None:
            self.seen = RecentIds(self.memory_days, self._today())

    @property
    def store(self) -> Store:
        """The named queries, on the writer's own session (the sink thread's)."""
        return Store(self.client, self.database)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> int:
        """Load the recently stored event ids and repair a batch left half-written. Returns ids loaded."""
        if not self.shared_store:  # on a shared store every id is looked up there: nothing to hold
            self.seen = self._load_recent_ids()
        self.recover()
        self.store.repair_opportunity_state()  # a crash between a snapshot insert and its views' inserts
        self.store.repair_funnel_people(self.writer_id)  # the same for lifecycle changes
        self.store.repair_touch_copies(self.writer_id)  # and for the views' copies of touches
        return len(self.seen)

    def _load_recent_ids(self) -> RecentIds:
        today = self._today()
        first = window_start(self.memory_days, today)
        return RecentIds(self.memory_days, today, load_recent_ids(self.client, self.database, first))

    def recover(self) -> int:
        """Fold touches written after this writer's last checkpoint. Returns the rows folded."""
        db = self.database
        checkpoint = self.client.query(
            f"SELECT max(batch_seq) FROM {db}.engagement_daily WHERE kind = 'checkpoint' AND person = %(w)s",
            parameters={"w": self.writer_id},
        ).result_rows[0][0] or 0
        self._last_seq = max(self._last_seq, checkpoint)
        # Every version row this writer wrote, not FINAL: on a shared store another worker may have
        # written a later version of one of these touches meanwhile (re-stitched by an identify it
        # read). FINAL would hide this writer's row, yet the later version takes back what this row
        # gives, so both deltas must be folded.
        result = self.client.query(
            f"SELECT {', '.join(TOUCH_COLUMNS)}, batch_seq FROM {db}.touches "
            f"WHERE writer = %(w)s AND batch_seq > %(c)s LIMIT 1 BY event_id, version",
            parameters={"w": self.writer_id, "c": checkpoint},
        )
        if not result.result_rows:
            return 0
        rows = [TouchRow(*r[:-1]) for r in result.result_rows]
        high = max(r[-1] for r in result.result_rows)
        log.warning("recovering %d touches written after checkpoint %d (their aggregates were not written)",
                    len(rows), checkpoint)
        self._insert_engagement(rows, high)
        self._last_seq = max(self._last_seq, high)
        return len(rows)

    # -- batching ------------------------------------------------------------------------------
    def add(self, rows: Sequence[TouchRow]) -> WriteResult | None:
        self._buffer.extend(rows)
        if len(self._buffer) >= self.max_rows:
            return self.flush()
        return None

    def flush(self) -> WriteResult | None:
        if not self._buffer:
            return None
        batch, self._buffer = self._buffer, []
        return self.write(batch)

    def write(self, batch: Sequence[TouchRow], versions: Sequence[TouchRow] = ()) -> WriteResult:
        """Write one batch durably, and new versions of stored touches (re-attribution) in the same two
        inserts; blocks (retrying with backoff) while ClickHouse is unavailable."""
        seq = self._next_seq()
        fresh = self._retry("dedup lookup", lambda: self._without_duplicates(batch))
        refused = self._commit([*fresh, *versions], seq)
        if refused:  # rows ClickHouse will never take: kept with the error; the rest of the batch is in
            now = datetime.now(timezone.utc)
            dead = [refused_row(row, exc, now) for row, exc in refused]
            self.write_rejected(dead)
            log.error("%d row(s) refused by ClickHouse went to rejected_events: %s", len(dead), dead[0].reasons)
        refused_new = sum(1 for row, _ in refused if not row.retracts)
        return WriteResult(written=len(fresh) - refused_new, duplicates=len(batch) - len(fresh), batch_seq=seq,
                           dead_lettered=len(refused))

    def replace(self, versions: Sequence[TouchRow]) -> int:
        """Write new versions of stored touches (each carrying the attribution it takes back)."""
        if not versions:
            return 0
        return len(versions) - self.write((), versions).dead_lettered

    def _commit(self, rows: Sequence[TouchRow], seq: int) -> list[tuple[TouchRow, Exception]]:
        """Touches, folded by the store in the same insert. Returns the rows ClickHouse refused (not written)."""
        if not rows:
            return []

        # each row's JSON array, closed by the writer's bookkeeping columns (writer, batch_seq, version)
        tail = b"," + _encode([self.writer_id, seq, seq])[1:]
        retried: list[bool] = []  # an insert that failed and was sent again (not the bisection of bad rows)

        def insert_touches(part: Sequence[TouchRow]) -> None:
            body = b"\n".join([_encode(row)[:-1] + tail for row in part])
            attempts = 0

            def attempt() -> None:
                nonlocal attempts
                attempts += 1
                insert_json_rows(self.client, f"{self.database}.touches", TOUCH_WRITE_COLUMNS, body)

            self._retry("insert touches", attempt, retryable=is_retryable)
            retried.append(attempts > 1)

        rows, refused = insert_isolating_bad_rows(insert_touches, rows)
        if not rows:
            return refused
        if any(retried):
            # A failed attempt may have stored the touches without their view's part (the store died
            # between the two), and the retry is then deduplicated as a block already stored.
            self._retry("recover", self.recover)
        # new ids only: a version (retracts = 1) re-writes an id the set already holds
        self.seen.add([(r.event_id.int & LOW64, RecentIds.day_number(r.day)) for r in rows if not r.retracts])
        return refused

    def stored(self, where: str, parameters: dict | None = None, month: int | None = None) -> list[TouchRow]:
        """Current versions of stored touches matching a WHERE clause (for re-attribution), of one
        month (YYYYMM, the table's partition) when given."""
        # Not FINAL over every stored touch: the skip indexes find the matching ids, the primary key
        # their versions, and the latest version of each is kept. A version matching `where` that is
        # no longer the latest only costs a re-score that finds nothing to change. Every version of a
        # touch has its occurred_at, so a month read stays in its partition (ids drawn from all of
        # history would touch every granule of the table).
        within = "" if month is None else f"toYYYYMM(occurred_at) = {int(month)} AND "
        result = self.client.query(
            f"SELECT {', '.join(TOUCH_COLUMNS)} FROM {self.database}.touches "
            f"WHERE {within}event_id IN (SELECT event_id FROM {self.database}.touches WHERE {within}({where})) "
            f"ORDER BY version DESC LIMIT 1 BY event_id",
            parameters=parameters or {},
        )
        return [TouchRow(*r) for r in result.result_rows]

    def write_rejected(self, rows: Sequence[RejectedRow]) -> None:
        """Dead letters wait for ClickHouse like touches do: an agent that raised would ack them unwritten."""
        if rows:
            data = [list(astuple(r)) for r in rows]
            self._retry("insert dead letters", lambda: self.client.insert(
                f"{self.database}.rejected_events", data, column_names=REJECTED_COLUMNS))

    # -- internals -----------------------------------------------------------------------------
    def _retry(self, what: str, step: Callable[[], object], retryable: Callable[[Exception], bool] | None = None):
        """Run one idempotent step until it succeeds; the caller's consumption waits meanwhile."""
        delay = 0.2
        while True:
            try:
                result = step()
            except Exception as exc:  # any failure of the store: back off and try again
                if self.stopping.is_set() or (retryable is not None and not retryable(exc)):
                    raise
                if self.state == "ok":
                    log.error("ClickHouse %s failed, pausing and retrying: %s", what, exc)
                self.state, self.last_error = "retrying", f"{what}: {exc}"
                self.stopping.wait(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            if self.state != "ok":
                log.warning("ClickHouse %s succeeded again; catching up", what)
                self.state = "ok"
            return result

    retry = _retry  # for the sinks that share this writer's session and its pause-while-down (sinks/opportunities.py)

    def _next_seq(self) -> int:
        # Wall-clock based so it keeps rising across restarts; +1 guards a clock that stands still.
        self._last_seq = max(self._last_seq + 1, int(self.clock() * 1_000_000))
        return self._last_seq

    def _insert_engagement(self, rows: Sequence[TouchRow], seq: int) -> None:
        insert_json_rows(self.client, f"{self.database}.engagement_daily", ENGAGEMENT_COLUMNS,
                         _encode_lines(engagement_rows(fold(rows), self.writer_id, seq)))

    def _today(self) -> date:
        return datetime.fromtimestamp(self.clock(), timezone.utc).date()

    def _without_duplicates(self, batch: Sequence[TouchRow]) -> list[TouchRow]:
        """First accepted version of an id wins: within the batch, and against what is stored."""
        unique: dict[int, TouchRow] = {}
        for row in batch:  # keyed by the id's integer: hashing a UUID object runs Python code
            unique.setdefault(row.event_id.int, row)
        if self.shared_store:
            # Other workers write the same tables: what they stored is not in this worker's memory.
            return self._not_stored(unique, dict.fromkeys(unique), [])
        self.seen.advance(self._today())
        held, old = [], []
        for i, row in unique.items():
            (held if self.seen.holds(RecentIds.day_number(row.day)) else old).append(i)
        candidates = self.seen.candidates([i & LOW64 for i in held])
        return self._not_stored(unique, {i: candidates[i & LOW64] for i in held if i & LOW64 in candidates}, old)

    def _not_stored(self, unique: dict[int, TouchRow], suspects: dict[int, int | None], old: list[int]
                    ) -> list[TouchRow]:
        """The rows of `unique` whose ids are not stored; only `suspects` (each with the day number of the
        stored id held under its hash; None: not held) and `old` are looked up."""
        stored: set[int] = set()
        # A replayed batch is all suspects: ask in chunks, as one IN list of 10,000 ids (~400 KB of SQL)
        # exceeds ClickHouse's max_query_size (256 KB) and would fail on every retry. Chunks of the same
        # stored days, each asked within those days: it reads their month, not every month (a replay's ids,
        # looked up cold on a store of 100M touches: 5,800 a second within their days, 2,200 without).
        ordered = sorted(suspects, key=lambda i: suspects[i] or 0)
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            chunk = ordered[start:start + _LOOKUP_CHUNK]
            days = [suspects[i] for i in chunk]
            stored.update(self._stored_ids([unique[i] for i in chunk],
                                           None if None in days else _moments_of_days(min(days), max(days))))
        # Ids older than the memory window, by time, so that each chunk reads the months it spans only
        # (touches are partitioned by month of occurred_at; a stored copy has its event's occurred_at).
        old.sort(key=lambda i: unique[i].occurred_at)
        for start in range(0, len(old), _LOOKUP_CHUNK):
            rows = [unique[i] for i in old[start:start + _LOOKUP_CHUNK]]
            # a second's slack: occurred_at is stored to the millisecond, the rows carry microseconds
            stored.update(self._stored_ids(rows, (rows[0].occurred_at - _SLACK, rows[-1].occurred_at + _SLACK)))
        return [row for i, row in unique.items() if i not in stored]

    def _stored_ids(self, rows: list[TouchRow], between: tuple[datetime, datetime] | None = None) -> set[int]:
        """The ids of `rows` stored, with an occurred_at `between` (ends included) when given."""
        parameters = {"ids": [r.event_id for r in rows]}
        when = ""
        if between is not None:
            when = " AND occurred_at BETWEEN %(first)s AND %(last)s"
            parameters.update(first=between[0], last=between[1])
        result = self.client.query(
            f"SELECT DISTINCT event_id FROM {self.database}.touch_ids WHERE event_id IN %(ids)s{when}",
            parameters=parameters)
        return {r[0].int for r in result.result_rows}
