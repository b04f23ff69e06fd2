"""The stream worker: Faust agents that score touches and hand them to the ClickHouse writer.

In embedded mode the worker is also the one process that owns the chDB data directory, so it
serves the read-only ClickHouse HTTP endpoint for everybody else.
"""
from __future__ import annotations

import asyncio
import hashlib
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
    PROGRAM_COLUMNS,
    AccountRecord,
    AccountsChanged,
    ContactRecord,
    ContactsChanged,
    ProgramsChanged,
    RescoreRequested,
    decode_change,
)
from schemas.rows import RejectedRow
from schemas.validate import Accepted, validate
from sinks.client import OwnerLock, engine_reader_client, writer_client
from sinks.migrate import migrate
from sinks.sql_endpoint import SqlEndpoint
from sinks.writer import ClickHouseWriter
from streams import attribution, stages, topics
from streams.app import create_app
from streams.core.registry import Registry
from streams.core.score import Scoring, score
from streams.core.weights import Weights
from streams.health import HealthMonitor, exit_at_stop_signal_when_sink_stuck, wire_health
from streams.kafka_admin import ensure_topics

log = logging.getLogger("pulse.worker")
REGISTRY_ATTEMPTS = 5
IDENTITY_SYNC_SECONDS = 5.0


@dataclass
class Pipeline:
    """Everything the agents share; built once by `build`, passed explicitly."""

    settings: Settings
    writer: ClickHouseWriter
    scoring: Scoring
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pulse-sink"))
    health: HealthMonitor = field(default_factory=HealthMonitor)
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
    # rejected_events keeps one row per dlq_key: key by content, so two different bad inputs stay two rows
    # and a redelivered one stays one
    key = "worker/" + hashlib.blake2b(raw, digest_size=16).hexdigest()
    return RejectedRow(now, "worker", msgspec.json.encode(reasons).decode(), raw.decode(errors="replace"), key)


def load_registry(pipeline: Pipeline) -> None:
    client, db = pipeline.writer.client, pipeline.settings.database
    for row in client.query(f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM {db}.accounts FINAL").result_rows:
        pipeline.scoring.registry.upsert_account(_account(row))
    for row in client.query(f"SELECT {', '.join(CONTACT_COLUMNS)} FROM {db}.contacts FINAL").result_rows:
        pipeline.scoring.registry.upsert_contact(ContactRecord(**dict(zip(CONTACT_COLUMNS, row))))


def _account(row) -> AccountRecord:
    values = dict(zip(ACCOUNT_COLUMNS, row))
    values["domains"], values["ip_ranges"] = tuple(values["domains"]), tuple(values["ip_ranges"])
    values["is_target"] = bool(values["is_target"])
    return AccountRecord(**values)


def store_registry_change(pipeline: Pipeline, raw: bytes) -> int:
    """Store a registry change, apply it to the live lookup, and re-attribute the touches it affects."""
    change = decode_change(raw)
    now = datetime.now(timezone.utc)
    db = pipeline.settings.database
    writer, registry = pipeline.writer, pipeline.scoring.registry
    client = writer.client
    if isinstance(change, (AccountsChanged, ContactsChanged)):
        # the registry topic is read from the start by every worker at every start: skip what is known
        known = registry.accounts if isinstance(change, AccountsChanged) else registry.contacts
        key = "account_id" if isinstance(change, AccountsChanged) else "email"
        change.items = [r for r in change.items if known.get(getattr(r, key)) != r]
        if not change.items:
            return 0
    def store(table: str, columns: tuple[str, ...]) -> None:
        client.insert(f"{db}.{table}", [[getattr(r, c) for c in columns] + [now] for r in change.items],
                      column_names=columns + ("updated_at",))

    if isinstance(change, AccountsChanged):
        old = [registry.accounts[a.account_id] for a in change.items if a.account_id in registry.accounts]
        store("accounts", ACCOUNT_COLUMNS)
        for account in change.items:
            registry.upsert_account(account)
        attribution.reattribute(writer, *attribution.accounts_scope(old, change.items), pipeline.scoring)
    elif isinstance(change, ContactsChanged):
        store("contacts", CONTACT_COLUMNS)
        for contact in change.items:
            registry.upsert_contact(contact)
        attribution.reattribute(writer, *attribution.contacts_scope(change.items), pipeline.scoring)
    elif isinstance(change, ProgramsChanged):
        store("programs", PROGRAM_COLUMNS)
    elif isinstance(change, RescoreRequested):
        rescore_history(pipeline, change.since_days)
        return 0
    return len(change.items)


def rescore_history(pipeline: Pipeline, since_days: int) -> int:
    """Re-read the weights and re-score (and re-resolve) every stored touch of the last `since_days` days."""
    pipeline.scoring.weights = Weights.load(pipeline.settings.weights_file)
    attribution.record_weights(pipeline.writer, pipeline.scoring.weights)
    where = f"occurred_at >= now64(3) - INTERVAL {int(since_days)} DAY"
    return attribution.reattribute(pipeline.writer, where, {}, pipeline.scoring)


def build(settings: Settings) -> tuple[faust.App, Pipeline, OwnerLock | None]:
    """Blocking start-up: own the data, migrate, load ids and registry, wire the agents."""
    lock = OwnerLock(settings.data_dir).acquire() if settings.embedded_clickhouse else None
    ensure_topics(settings)
    client = writer_client(settings)
    applied = migrate(client, settings)
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))
    writer = ClickHouseWriter(client, settings.database, settings.worker_id, max_rows=settings.batch_max_rows,
                              shared_store=not settings.embedded_clickhouse)
    loaded = writer.start()
    scoring = Scoring(Registry(), Weights.load(settings.weights_file), ZoneInfo(settings.reporting_tz),
                      attribution.load_identities(writer), settings.store_full_ips)
    pipeline = Pipeline(settings, writer, scoring)
    load_registry(pipeline)
    if attribution.record_weights(writer, scoring.weights):
        log.warning("weights changed since the last run: re-scoring stored touches")
        rescore_history(pipeline, 400)
    log.info("worker ready: %d stored event ids, %d accounts, %d contacts",
             loaded, len(pipeline.scoring.registry.accounts), len(pipeline.scoring.registry.contacts))
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
        # take_events acks (and so lets Faust commit) a batch only after this loop body returns
        async for batch in stream.take_events(messages_per_batch, within=settings.batch_seconds):
            now = datetime.now(timezone.utc)
            events, rejected = [], []
            for raw in (e.value for e in batch):
                ok, bad = decode_message(raw, now, settings.max_event_age)
                events.extend(ok)
                rejected.extend(bad)
            pipeline.health.taken(len(events) + len(rejected), min(e.message.timestamp for e in batch), time.time())
            # identifies first: every touch of an identified cookie counts for its person, in this batch too
            identified = pipeline.scoring.identities.learn(events)
            rows = score(events, pipeline.scoring, now)
            # (touch rows) -> ClickHouse; offsets are committed only after this returns
            result = await pipeline.in_sink(pipeline.writer.write, rows)
            if identified:
                await pipeline.in_sink(attribution.store_identities, pipeline.writer, events)
                await pipeline.in_sink(attribution.restitch, pipeline.writer, identified, pipeline.scoring)
            if rejected:
                await pipeline.in_sink(pipeline.writer.write_rejected, rejected)
            pipeline.written += result.written
            pipeline.duplicates += result.duplicates
            pipeline.rejected += len(rejected)
            pipeline.health.flushed(len(events) + len(rejected), len(rejected) + result.dead_lettered, time.time())

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

    stage_topic = app.topic(settings.topic(topic_names.STAGE_CHANGES), value_serializer="raw", key_serializer="raw")

    next_evaluation = [0.0]
    synced = [datetime.now(timezone.utc)]

    @app.timer(interval=IDENTITY_SYNC_SECONDS)
    async def sync_identities():
        # identifies another worker stored (shared ClickHouse): a margin covers clocks a little apart
        since, synced[0] = synced[0] - timedelta(seconds=2), datetime.now(timezone.utc)
        await pipeline.in_sink(attribution.sync_identities, pipeline.writer, pipeline.scoring, since)

    @app.timer(interval=stages.EVERY_SECONDS, on_leader=True)
    async def evaluate_stages():
        # stages also fall as time passes, so they are re-evaluated on a clock, not only on new touches
        if time.monotonic() < next_evaluation[0]:
            return
        now = datetime.now(timezone.utc)
        wait = await pipeline.in_sink(stages.refresh, pipeline.writer, now)
        next_evaluation[0] = time.monotonic() + wait - stages.EVERY_SECONDS
        changes = await pipeline.in_sink(stages.detect, pipeline.writer, now)
        for change in changes:
            await stage_topic.send(key=change.account_id.encode(), value=stages.encode(change))
        if changes:
            await pipeline.in_sink(stages.record, pipeline.writer, changes)

    wire_health(app, pipeline, lambda: writer_client(settings))

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
        reasons = msgspec.json.encode([{"field": "$", "reason": f"unreadable dead letter: {exc}"}]).decode()
        return RejectedRow(datetime.now(timezone.utc), "unknown", reasons, bytes(event.value).decode(errors="replace"), key)


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
                    await _apply_registry_message(pipeline, name, record)
    finally:
        await consumer.stop()


async def _apply_registry_message(pipeline: Pipeline, name: str, record) -> None:
    """A bad registry message is logged and skipped; a failing store is retried, never crashing the worker."""
    for attempt in range(1, REGISTRY_ATTEMPTS + 1):
        try:
            n = await pipeline.in_sink(store_registry_change, pipeline, record.value)
            log.info("registry: %d records applied", n)
            return
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.error("registry message %s/%d is not a registry change, skipped: %s", name, record.offset, exc)
            return
        except Exception:
            log.exception("registry message %s/%d failed (attempt %d of %d)", name, record.offset, attempt,
                          REGISTRY_ATTEMPTS)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt))  # back off before trying the store again
    log.error("registry message %s/%d skipped after %d attempts", name, record.offset, REGISTRY_ATTEMPTS)


def run(settings: Settings) -> None:
    app, pipeline, lock = build(settings)
    worker = faust.Worker(app, loglevel="WARN", quiet=True)
    exit_at_stop_signal_when_sink_stuck(worker, pipeline.writer)

    @app.task
    async def pulse_logs_at_info():
        # Faust sets the root level to WARN once it runs; pulse's own lines (sink state, recovery,
        # re-attribution, the periodic report) are what an operator reads, so keep them at INFO.
        logging.getLogger("pulse").setLevel(logging.INFO)

    try:
        worker.execute_from_commandline()
    finally:
        pipeline.writer.stopping.set()
        if lock:
            lock.release()
