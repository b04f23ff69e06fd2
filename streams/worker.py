"""The stream worker: Faust agents that score touches and hand them to the ClickHouse writer.

In embedded mode the worker is also the one process that owns the chDB data directory, so it
serves the read-only ClickHouse HTTP endpoint for everybody else.
"""
from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import faust
import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from pulse.settings import Settings
from schemas import topics as topic_names
from schemas.events import Touch, decode_batch
from schemas.registry import (
    ACCOUNT_COLUMNS,
    CONTACT_COLUMNS,
    AccountRecord,
    AccountsChanged,
    ContactRecord,
    decode_change,
)
from schemas.rows import RejectedRow
from schemas.validate import Accepted, validate
from sinks.client import OwnerLock, engine_reader_client, writer_client
from sinks.migrate import migrate
from sinks.sql_endpoint import SqlEndpoint
from sinks.writer import ClickHouseWriter
from streams import topics
from streams.app import create_app
from streams.core.registry import Registry
from streams.core.score import score
from streams.core.weights import Weights
from streams.kafka_admin import ensure_topics

log = logging.getLogger("pulse.worker")


@dataclass
class Pipeline:
    """Everything the agents share; built once by `build`, passed explicitly."""

    settings: Settings
    writer: ClickHouseWriter
    registry: Registry
    weights: Weights
    tz: ZoneInfo
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pulse-sink"))
    written: int = 0
    duplicates: int = 0
    rejected: int = 0

    async def in_sink(self, fn, *args):
        """The ClickHouse client is synchronous: run it on the sink thread, one call at a time, in order."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


def decode_message(raw: bytes, now: datetime, max_age: timedelta) -> tuple[list[Touch], list[RejectedRow]]:
    """Messages from the hooks decode in one typed pass; anything else is validated item by item."""
    try:
        return decode_batch(raw), []
    except (msgspec.DecodeError, msgspec.ValidationError):
        pass
    try:
        items = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        return [], [_rejected(now, raw, [{"field": "$", "reason": f"not valid JSON: {exc}"}])]
    accepted, rejected = [], []
    for item in items if isinstance(items, list) else [items]:
        result = validate(item, now=now, max_age=max_age)
        if isinstance(result, Accepted):
            accepted.append(result.event)
        else:
            rejected.append(_rejected(now, msgspec.json.encode(item), [e.as_dict() for e in result.errors]))
    return accepted, rejected


def _rejected(now: datetime, raw: bytes, reasons: list[dict]) -> RejectedRow:
    return RejectedRow(now, "worker", msgspec.json.encode(reasons).decode(), raw.decode(errors="replace"), "")


def load_registry(pipeline: Pipeline) -> None:
    client, db = pipeline.writer.client, pipeline.settings.database
    for row in client.query(f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM {db}.accounts FINAL").result_rows:
        pipeline.registry.upsert_account(_account(row))
    for row in client.query(f"SELECT {', '.join(CONTACT_COLUMNS)} FROM {db}.contacts FINAL").result_rows:
        pipeline.registry.upsert_contact(ContactRecord(**dict(zip(CONTACT_COLUMNS, row))))


def _account(row) -> AccountRecord:
    values = dict(zip(ACCOUNT_COLUMNS, row))
    values["domains"], values["ip_ranges"] = tuple(values["domains"]), tuple(values["ip_ranges"])
    values["is_target"] = bool(values["is_target"])
    return AccountRecord(**values)


def store_registry_change(pipeline: Pipeline, raw: bytes) -> int:
    change = decode_change(raw)
    now = datetime.now(timezone.utc)
    db = pipeline.settings.database
    client = pipeline.writer.client
    if isinstance(change, AccountsChanged):
        client.insert(
            f"{db}.accounts",
            [[getattr(a, c) for c in ACCOUNT_COLUMNS] + [now] for a in change.items],
            column_names=ACCOUNT_COLUMNS + ("updated_at",),
        )
        for account in change.items:
            pipeline.registry.upsert_account(account)
    else:
        client.insert(
            f"{db}.contacts",
            [[getattr(c, k) for k in CONTACT_COLUMNS] + [now] for c in change.items],
            column_names=CONTACT_COLUMNS + ("updated_at",),
        )
        for contact in change.items:
            pipeline.registry.upsert_contact(contact)
    return len(change.items)


def build(settings: Settings) -> tuple[faust.App, Pipeline, OwnerLock | None]:
    """Blocking start-up: own the data, migrate, load ids and registry, wire the agents."""
    lock = OwnerLock(settings.data_dir).acquire() if settings.embedded_clickhouse else None
    ensure_topics(settings)
    client = writer_client(settings)
    applied = migrate(client, settings)
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))
    writer = ClickHouseWriter(client, settings.database, settings.worker_id, max_rows=settings.batch_max_rows)
    loaded = writer.start()
    pipeline = Pipeline(settings, writer, Registry(), Weights(), ZoneInfo(settings.reporting_tz))
    load_registry(pipeline)
    log.info("worker ready: %d stored event ids, %d accounts, %d contacts",
             loaded, len(pipeline.registry.accounts), len(pipeline.registry.contacts))
    app = create_app(settings)
    wire(app, pipeline)
    return app, pipeline, lock


def wire(app: faust.App, pipeline: Pipeline) -> None:
    settings = pipeline.settings
    touches_topic = topics.touches(app, settings)
    deadletter_topic = topics.deadletter(app, settings)
    # ~50 events per message from the hooks: this many messages make about one full sink batch.
    messages_per_batch = max(1, settings.batch_max_rows // 50)

    @app.agent(touches_topic, name="score_touches")
    async def score_touches(stream):
        async for values in stream.take(messages_per_batch, within=settings.batch_seconds):
            now = datetime.now(timezone.utc)
            events, rejected = [], []
            for raw in values:
                ok, bad = decode_message(raw, now, settings.max_event_age)
                events.extend(ok)
                rejected.extend(bad)
            rows = score(events, pipeline.registry, pipeline.weights, now, pipeline.tz)
            # (touch rows) -> ClickHouse; offsets are committed only after this returns
            result = await pipeline.in_sink(pipeline.writer.write, rows)
            if rejected:
                await pipeline.in_sink(pipeline.writer.write_rejected, rejected)
            pipeline.written += result.written
            pipeline.duplicates += result.duplicates
            pipeline.rejected += len(rejected)

    @app.agent(deadletter_topic, name="store_rejected")
    async def store_rejected(stream):
        async for events in stream.take_events(500, within=settings.batch_seconds):
            rows = [_deadletter_row(e) for e in events]
            await pipeline.in_sink(pipeline.writer.write_rejected, rows)

    @app.task
    async def follow_registry():
        await _follow_registry(pipeline)

    if settings.embedded_clickhouse:
        endpoint = SqlEndpoint(lambda: engine_reader_client(settings), settings.database)

        @app.task
        async def serve_sql():
            await endpoint.start(settings.sql_host, settings.sql_port)

    @app.timer(interval=10.0)
    async def report():
        log.info("written=%d duplicates=%d rejected=%d sink=%s", pipeline.written, pipeline.duplicates,
                 pipeline.rejected, pipeline.writer.state)


def _deadletter_row(event) -> RejectedRow:
    """Dead-letter messages are JSON {source, reasons, payload}, written by the hooks."""
    message = event.message
    key = f"{message.topic}/{message.partition}/{message.offset}"
    try:
        body = msgspec.json.decode(event.value)
        return RejectedRow(
            datetime.fromtimestamp(message.timestamp, timezone.utc),
            str(body.get("source", "unknown")),
            msgspec.json.encode(body.get("reasons", [])).decode(),
            str(body.get("payload", "")),
            key,
        )
    except Exception as exc:  # keep even an unreadable dead letter, with the reason
        return RejectedRow(datetime.now(timezone.utc), "unknown", f'[{{"field": "$", "reason": "{exc}"}}]',
                           bytes(event.value).decode(errors="replace"), key)


async def _follow_registry(pipeline: Pipeline) -> None:
    """Every worker reads the whole registry topic (no consumer group): the registry is broadcast."""
    settings = pipeline.settings
    name = settings.topic(topic_names.REGISTRY)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = None
        while not partitions:
            partitions = consumer.partitions_for_topic(name)
            if not partitions:
                await consumer._client.force_metadata_update()  # topic may not exist yet
                await asyncio.sleep(1.0)
        consumer.assign([TopicPartition(name, p) for p in partitions])
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    try:
                        n = await pipeline.in_sink(store_registry_change, pipeline, record.value)
                        log.info("registry: %d records applied", n)
                    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                        log.error("registry message %s/%d skipped: %s", name, record.offset, exc)
    finally:
        await consumer.stop()


def run(settings: Settings) -> None:
    app, pipeline, lock = build(settings)
    worker = faust.Worker(app, loglevel="WARN", quiet=True)
    try:
        worker.execute_from_commandline()
    finally:
        pipeline.writer.stopping.set()
        if lock:
            lock.release()
