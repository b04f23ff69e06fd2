"""The worker's agents: each takes a batch and hands it on; the steps are in pipeline.py."""
from __future__ import annotations

import functools
import itertools
import time
from datetime import datetime, timezone

import faust
import msgspec
from aiokafka.admin import AIOKafkaAdminClient

from schemas import topics as schema_topics
from schemas.events import encode_batch
from schemas.rows import RejectedRow
from sinks.acking import AckingSink
from streams import topics
from streams.kafka_admin import partitions_of
from streams.pipeline import Chunk, Pipeline, score_chunk, store_chunk

SINK_QUEUE = 2  # chunks scored and waiting for (or in) the sink


def wire_agents(app: faust.App, pipeline: Pipeline) -> None:
    settings = pipeline.settings
    # ~50 events per message from the hooks: this many messages make about one sink batch (a chunk).
    messages_per_chunk = max(1, settings.batch_max_rows // 50)

    touches = topics.touches(app, settings)

    @app.agent(touches, name="score_touches")
    async def score_touches(stream):
        sink, chunk_ids = AckingSink(pipeline.executor, SINK_QUEUE), itertools.count()
        # several workers share the store: route every event id to its one home partition (core/homes.py)
        homes = 0 if settings.embedded_clickhouse else await touch_partitions(settings)
        async for batch in stream.noack_take(messages_per_chunk, within=settings.batch_seconds):
            name = f"score_touches/{next(chunk_ids)}"
            chunk = score_chunk(pipeline, [e.value for e in batch], datetime.now(timezone.utc),
                                [e.message.partition for e in batch], homes)
            if chunk.away:  # in Kafka at their home before these messages are acknowledged
                await forward(touches, chunk.away)
                pipeline.forwarded += sum(map(len, chunk.away.values()))
            pipeline.health.taken(chunk.size, min(e.message.timestamp for e in batch), time.time(), name)
            await sink.add(functools.partial(store_chunk, pipeline, chunk), _acknowledge(pipeline, stream, batch, chunk, name))

    @app.agent(topics.deadletter(app, settings), name="store_rejected")
    async def store_rejected(stream):
        async for events in stream.take_events(500, within=settings.batch_seconds):
            rows = pipeline.erased.keep_rejected([deadletter_row(e) for e in events])  # not an erased person's
            await pipeline.in_sink(pipeline.writer.write_rejected, rows)


async def forward(topic, away: dict[int, list]) -> None:
    sent = [await topic.send(value=encode_batch(events), partition=home) for home, events in away.items()]
    for delivery in sent:
        await delivery


async def touch_partitions(settings) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="pulse-homes")
    await admin.start()
    try:
        return len(await partitions_of(admin, settings.topic(schema_topics.TOUCHES)))
    finally:
        await admin.close()


def _acknowledge(pipeline: Pipeline, stream, batch: list, chunk: Chunk, name: str):
    async def written(result) -> None:
        for event in batch:
            await stream.ack(event)
        pipeline.written += result.written
        pipeline.duplicates += result.duplicates
        pipeline.rejected += len(chunk.rejected)
        pipeline.health.flushed(chunk.size, len(chunk.rejected) + result.dead_lettered, time.time(), name)
    return written


def deadletter_row(event) -> RejectedRow:
    """Dead-letter messages are JSON {source, reasons, payload}, written by the hooks."""
    message = event.message
    key = f"{message.topic}/{message.partition}/{message.offset}"
    try:
        body = msgspec.json.decode(event.value)
        return RejectedRow(datetime.fromtimestamp(message.timestamp, timezone.utc), str(body.get("source", "unknown")),
                           msgspec.json.encode(body.get("reasons", [])).decode(), str(body.get("payload", "")), key)
    except Exception as exc:  # keep even an unreadable dead letter, with the reason
        reasons = msgspec.json.encode([{"field": "$", "reason": f"unreadable dead letter: {exc}"}]).decode()
        return RejectedRow(datetime.now(timezone.utc), "unknown", reasons, bytes(event.value).decode(errors="replace"), key)
