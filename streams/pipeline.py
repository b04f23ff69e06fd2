"""What the worker's agents share, and the two halves of a chunk: scoring on the event loop, storing
on the sink thread."""
from __future__ import annotations

import asyncio
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from schemas.events import AccountStatus, LifecycleChange, Opportunity, Touch, decode_batch
from schemas.rows import AccountStatusRow, LifecycleRow, OpportunityRow, RejectedRow
from schemas.settings import Settings
from schemas.validate import Accepted, follow_rules, validate
from sinks import threads
from sinks.crm_records import write_records
from sinks.writer import ClickHouseWriter, WriteResult
from streams import attribution
from streams.core.erasure import ErasedSet
from streams.core.homes import keep_home
from streams.core.score import Scoring, score
from streams.health import HealthMonitor


@dataclass
class Pipeline:
    """Everything the agents share; built once by `worker.build`, passed explicitly."""

    settings: Settings
    writer: ClickHouseWriter
    scoring: Scoring
    executor: ThreadPoolExecutor = field(default_factory=lambda: threads.executor("pulse-sink"))
    health: HealthMonitor = field(default_factory=HealthMonitor)
    erased: ErasedSet = field(default_factory=ErasedSet)  # people `pulse forget` erased: never stored again
    written: int = 0
    forwarded: int = 0  # events sent on to their home partition: producers not routing (PULSE_ROUTE_EVENTS)
    duplicates: int = 0
    rejected: int = 0

    async def in_sink(self, fn, *args):
        """The ClickHouse client is synchronous: run it on the sink thread, in order, and wait for it."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


@dataclass
class Chunk:
    """A chunk of messages, decoded and scored: what the sink thread stores in one commit.

    Touches and CRM records travel the same topic but part here: a record (opportunity snapshot,
    lifecycle change, account status) earns no minutes and goes to its own table, in the same commit,
    before the messages are acknowledged."""

    rows: list
    events: list[Touch]
    identified: set[str]
    rejected: list[RejectedRow]
    records: list = field(default_factory=list)  # OpportunityRow, LifecycleRow, AccountStatusRow
    away: dict[int, list] = field(default_factory=dict)  # events to forward to their home partition

    @property
    def size(self) -> int:
        return len(self.events) + len(self.records) + len(self.rejected)


def score_chunk(pipeline: Pipeline, messages: list[bytes], now: datetime, partitions: list[int] | None = None,
                homes: int = 0) -> Chunk:
    """`homes`: the touches topic's partition count when workers share a store (0: one worker, no
    routing); then the events of the message from partitions[i] that belong elsewhere go to `away`."""
    settings = pipeline.settings
    events, records, rejected, away = [], [], [], {}
    for i, raw in enumerate(messages):
        ok, bad = decode_message(raw, now, settings.max_event_age, settings.currency, settings.lifecycle_stages)
        ok, bad = pipeline.erased.keep(ok), pipeline.erased.keep_rejected(bad, "touches")  # a replay, a re-delivery
        if homes:
            ok = keep_home(ok, partitions[i], homes, away)
        for event in ok:
            kind = type(event)
            if kind is Opportunity:
                records.append(OpportunityRow.of(event, now, settings.currency))
            elif kind is LifecycleChange:
                records.append(LifecycleRow.of(event, now))
            elif kind is AccountStatus:
                records.append(AccountStatusRow.of(event, now))
            else:
                events.append(event)
        rejected.extend(bad)
    # identifies first: every touch of an identified cookie counts for its person, in this chunk too
    identified = pipeline.scoring.identities.learn(events)
    return Chunk(score(events, pipeline.scoring, now), events, identified, rejected, records, away)


def store_chunk(pipeline: Pipeline, chunk: Chunk) -> WriteResult:
    """The sink-thread half of a chunk: its touches, with the re-stitched versions of stored touches
    whose cookie it identified (one commit), its identities, its dead letters."""
    versions = attribution.restitched(pipeline.writer, chunk.identified, pipeline.scoring)
    result = pipeline.writer.write(chunk.rows, versions)
    if chunk.records:
        written, duplicates, dead = write_records(pipeline.writer, chunk.records)
        result.written, result.duplicates = result.written + written, result.duplicates + duplicates
        result.dead_lettered += dead
    if chunk.identified:
        attribution.store_identities(pipeline.writer.store, chunk.events)
    if chunk.rejected:
        pipeline.writer.write_rejected(chunk.rejected)
    return result


def decode_message(raw: bytes, now: datetime, max_age: timedelta, currency: str | None = None,
                   stages: tuple[str, ...] | None = None) -> tuple[list[Touch], list[RejectedRow]]:
    """A message of well-formed events is checked in one pass; anything else is validated item by item.

    Checked and normalised as the hooks do it, not only decoded: the topic is open to other producers.
    A value the types allow but the rules do not (an IP that is no address, say) is refused here with
    its reason; before, it crashed scoring and stopped the worker on that message at every restart.
    """
    try:
        events = decode_batch(raw)
        if follow_rules(events, now=now, max_age=max_age, currency=currency, stages=stages):
            return events, []
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    try:
        items = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return [], [_rejected(now, raw, [{"field": "$", "reason": f"not valid JSON: {exc}"}])]
    accepted, rejected = [], []
    for item in items if isinstance(items, list) else [items]:
        result = validate(item, now=now, max_age=max_age, currency=currency, stages=stages)
        if isinstance(result, Accepted):
            accepted.append(result.event)
        else:
            rejected.append(_rejected(now, msgspec.json.encode(item), [e.as_dict() for e in result.errors]))
    return accepted, rejected


def _rejected(now: datetime, raw: bytes, reasons: list[dict]) -> RejectedRow:
    # rejected_events keeps one row per dlq_key: key by content, so two different bad inputs stay two rows
    # and a redelivered one stays one
    key = "worker/" + hashlib.blake2b(raw, digest_size=16).hexdigest()
    return RejectedRow(now, "worker", msgspec.json.encode(reasons).decode(), raw.decode(errors="replace"), key)
