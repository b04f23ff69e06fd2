"""`pulse replay --from`: re-read the touches topic from a time or an offset, through the same pipeline.

The messages between the start and the log end *as of now* are published again, unchanged (same
key, same partition, original timestamp), and the running worker(s) take them like any other
input: events already stored are filtered by event id, missing ones (say, after restoring
ClickHouse from an older backup) are written. So a replay never changes a number that is right.

Why re-publish instead of rewinding the consumer group: Kafka refuses offset commits for a group
that has live members, and a rewound worker would have to be stopped; re-publishing works while
workers run, with any number of them, and on the embedded broker.
"""
from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.settings import Settings
from schemas import topics
from streams.kafka_admin import partitions_of


class ReplayError(ValueError):
    """The --from value, or the topic, cannot be replayed; the message says why."""


@dataclass(frozen=True)
class Start:
    """Where to start: a point in time (UTC), an offset on every partition, or the beginning."""

    at: datetime | None = None
    offset: int | None = None


@dataclass(frozen=True)
class ReplayResult:
    messages: int
    ranges: dict[int, tuple[int, int]]  # partition -> [start, end) read (from a time: only newer records re-published)


_OFFSET = re.compile(r"^\d+$")


def parse_start(text: str) -> Start:
    """'earliest' | an offset ('0', '1500') | an ISO time ('2026-11-20', '2026-11-20T10:00:00+01:00')."""
    value = text.strip()
    if value.lower() in ("earliest", "beginning"):
        return Start(offset=0)
    if _OFFSET.match(value):
        return Start(offset=int(value))
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReplayError(f"--from {text!r}: expected an offset (e.g. 0), 'earliest', or an ISO time "
                          "(e.g. 2026-11-20T10:00:00+00:00)") from None
    return Start(at=at if at.tzinfo else at.replace(tzinfo=timezone.utc))


async def replay(settings: Settings, start: Start, partitions: list[int] | None = None) -> ReplayResult:
    name = settings.topic(topics.TOUCHES)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                client_id="pulse-replay", max_partition_fetch_bytes=8 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", client_id="pulse-replay",
                                max_request_size=8 * 1024 * 1024, linger_ms=5)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="pulse-replay")
    await admin.start()
    try:
        known = await partitions_of(admin, name)
    finally:
        await admin.close()
    await consumer.start()
    try:
        await producer.start()
        try:
            return await _copy(consumer, producer, name, start, partitions, known)
        finally:
            await producer.stop()
    finally:
        await consumer.stop()


async def _copy(consumer, producer, name: str, start: Start, wanted: list[int] | None,
                known: set[int]) -> ReplayResult:
    if not known:
        raise ReplayError(f"topic {name} does not exist on this broker (nothing to replay)")
    if wanted and set(wanted) - known:
        raise ReplayError(f"--partition {sorted(set(wanted) - known)}: {name} has partitions {sorted(known)}")
    tps = [TopicPartition(name, p) for p in sorted(wanted or known)]
    consumer.assign(tps)
    began_ms = int(time.time() * 1000)
    firsts = await consumer.beginning_offsets(tps)
    ends = await consumer.end_offsets(tps)
    since_ms = int(start.at.timestamp() * 1000) if start.at is not None else None
    if since_ms is not None:
        # Read from the beginning and keep records stamped at or after the time: a broker's time index
        # is not to be trusted here (the embedded one answers with the log end), and records that an
        # earlier replay re-published carry their original, older timestamps further down the log.
        starts = dict(firsts)
    else:
        starts = {tp: max(start.offset or 0, firsts[tp]) for tp in tps}
    for tp in tps:
        consumer.seek(tp, starts[tp])
    # Where to stop: the embedded broker's log-end offset can trail the log by a batch, so a partition
    # is done when reading it comes back empty past that offset, or reaches a record produced after this
    # replay began (live traffic). The records this replay publishes are marked and never copied again.
    pending, last = set(tps), dict(starts)
    copied = 0
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=1000, max_records=500)
        sends = []
        for tp in list(pending):
            records = batches.get(tp, [])
            if not records and await consumer.position(tp) >= ends[tp]:
                pending.discard(tp)
                continue
            for record in records:
                last[tp] = record.offset + 1
                if _is_copy(record):
                    continue
                if record.timestamp > began_ms and record.offset >= ends[tp]:
                    pending.discard(tp)
                    break
                if since_ms is not None and record.timestamp < since_ms:
                    continue
                sends.append(await producer.send(name, record.value, key=record.key, partition=tp.partition,
                                                 timestamp_ms=record.timestamp, headers=[_MARK]))
        if sends:
            await asyncio.gather(*sends)  # acknowledged by the broker before the next read
            copied += len(sends)
    return ReplayResult(copied, {tp.partition: (starts[tp], last[tp]) for tp in tps})


_MARK = ("pulse-replay", b"1")


def _is_copy(record) -> bool:
    return any(key == _MARK[0] for key, _ in (record.headers or ()))
