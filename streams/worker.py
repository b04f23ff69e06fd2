"""The stream worker: Faust agents that score touches and hand them to the ClickHouse writer.

In embedded mode the worker is also the one process that owns the chDB data directory, so it
serves the read-only ClickHouse HTTP endpoint for everybody else.
"""
from __future__ import annotations

import asyncio
import functools
import gc
import hashlib
import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

import faust
import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from sinks import threads
from schemas.settings import Settings
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
from schemas.validate import Accepted, follow_rules, validate
from sinks.client import OwnerLock, engine_reader_client, writer_client
from sinks.migrate import migrate
from sinks.sql_endpoint import SqlEndpoint
from sinks.writer import ClickHouseWriter, WriteResult
from streams import attribution, stages, topics
from streams.app import create_app
from streams.core.registry import Registry
from streams.core.score import Scoring, score
from streams.core.weights import Weights
from streams.health import HealthMonitor, exit_at_stop_signal_when_sink_stuck, wire_health
from streams.kafka_admin import ensure_topics

log = logging.getLogger("pulse.worker")
REGISTRY_ATTEMPTS = 5
SINK_QUEUE = 2  # chunks scored and waiting for (or in) the sink
IDENTITY_SYNC_SECONDS = 5.0


@dataclass
class Pipeline:
    """Everything the agents share; built once by `build`, passed explicitly."""

    settings: Settings
    writer: ClickHouseWriter
    scoring: Scoring
    executor: ThreadPoolExecutor = field(default_factory=lambda: threads.executor("pulse-sink"))
    health: HealthMonitor = field(default_factory=HealthMonitor)
    written: int = 0
    duplicates: int = 0
    rejected: int = 0

    def to_sink(self, fn, *args) -> asyncio.Future:
        """Queue a step for the sink thread now; the steps run one at a time, in the order queued."""
        return asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def in_sink(self, fn, *args):
        """The ClickHouse client is synchronous: run it on the sink thread and wait for it."""
        return await self.to_sink(fn, *args)


def decode_message(raw: bytes, now: datetime, max_age: timedelta) -> tuple[list[Touch], list[RejectedRow]]:
    """A message of well-formed events is checked in one pass; anything else is validated item by item.

    Checked and normalised as the hooks do it, not only decoded: the topic is open to other producers.
    A value the types allow but the rules do not (an IP that is no address, say) is refused here with
    its reason; before, it crashed scoring and stopped the worker on that message at every restart.
    """
    try:
        events = decode_batch(raw)
        if follow_rules(events, now=now, max_age=max_age):
            return events, []
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


def take_registry_change(pipeline: Pipeline, raw: bytes) -> Callable[[], int]:
    """Apply a registry change to the live lookup now; return the sink-thread step that stores it and
    re-attributes the touches it affects.

    Called on the event loop, between two scorings, never while one runs: a touch scored before the
    change is handed to the sink before the re-attribution step is, so that step sees it stored and
    re-scores it; a touch scored after is already scored with the change.
    """
    change = decode_change(raw)
    registry, scoring = pipeline.scoring.registry, pipeline.scoring
    writer, db = pipeline.writer, pipeline.settings.database
    if isinstance(change, (AccountsChanged, ContactsChanged)):
        # the registry topic is read from the start by every worker at every start: skip what is known
        known = registry.accounts if isinstance(change, AccountsChanged) else registry.contacts
        key = "account_id" if isinstance(change, AccountsChanged) else "email"
        change.items = [r for r in change.items if known.get(getattr(r, key)) != r]
        if not change.items:
            return lambda: 0
    now = datetime.now(timezone.utc)

    def storing(table: str, columns: tuple[str, ...], scope: tuple[str, dict] | None = None) -> Callable[[], int]:
        def step() -> int:
            writer.client.insert(f"{db}.{table}", [[getattr(r, c) for c in columns] + [now] for r in change.items],
                                 column_names=columns + ("updated_at",))
            if scope is not None:
                attribution.reattribute(writer, *scope, scoring)
            return len(change.items)
        return step

    if isinstance(change, AccountsChanged):
        old = [registry.accounts[a.account_id] for a in change.items if a.account_id in registry.accounts]
        for account in change.items:
            registry.upsert_account(account)
        return storing("accounts", ACCOUNT_COLUMNS, attribution.accounts_scope(old, change.items))
    if isinstance(change, ContactsChanged):
        for contact in change.items:
            registry.upsert_contact(contact)
        return storing("contacts", CONTACT_COLUMNS, attribution.contacts_scope(change.items))
    if isinstance(change, ProgramsChanged):
        return storing("programs", PROGRAM_COLUMNS)
    assert isinstance(change, RescoreRequested)
    scoring.weights = Weights.load(pipeline.settings.weights_file)
    return lambda: rescore_stored(pipeline, change.since_days)


def rescore_history(pipeline: Pipeline, since_days: int) -> int:
    """Re-read the weights and re-score (and re-resolve) every stored touch of the last `since_days` days."""
    pipeline.scoring.weights = Weights.load(pipeline.settings.weights_file)
    return rescore_stored(pipeline, since_days)


def rescore_stored(pipeline: Pipeline, since_days: int) -> int:
    attribution.record_weights(pipeline.writer, pipeline.scoring.weights)
    where = f"occurred_at >= now64(3) - INTERVAL {int(since_days)} DAY"
    return attribution.reattribute(pipeline.writer, where, {}, pipeline.scoring)


def store_scored(pipeline: Pipeline, rows: list, events: list[Touch], identified: set[str],
                 rejected: list[RejectedRow]) -> WriteResult:
    """The sink-thread half of a chunk: its touches, with the re-stitched versions of stored touches
    whose cookie it identified (one commit), its identities, its dead letters."""
    versions = attribution.restitched(pipeline.writer, identified, pipeline.scoring)
    result = pipeline.writer.write(rows, versions)
    if identified:
        attribution.store_identities(pipeline.writer, events)
    if rejected:
        pipeline.writer.write_rejected(rejected)
    return result


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
    # ~50 events per message from the hooks: this many messages make about one sink batch (a chunk).
    messages_per_chunk = max(1, settings.batch_max_rows // 50)

    @app.agent(touches_topic, name="score_touches")
    async def score_touches(stream):
        # A chunk's messages are acked (and so may be committed) only once its rows are written. Writing
        # runs on the sink thread, where chDB releases the GIL, while this thread already decodes and
        # scores the next chunk; at most SINK_QUEUE chunks wait for the sink, which bounds memory.
        loop = asyncio.get_running_loop()
        writing: set[asyncio.Future] = set()
        failed: list[BaseException] = []
        chunk_ids = itertools.count()

        async def settle(written: asyncio.Future, batch: list, n: int, n_rejected: int, chunk: str) -> None:
            if written.exception() is not None:  # never ack what was not written: the agent stops below
                failed.append(written.exception())
            if failed:  # nor anything after it, though Faust would not commit past the gap anyway
                return
            result = written.result()
            for event in batch:
                await stream.ack(event)
            pipeline.written += result.written
            pipeline.duplicates += result.duplicates
            pipeline.rejected += n_rejected
            pipeline.health.flushed(n, n_rejected + result.dead_lettered, time.time(), chunk)

        async for batch in stream.noack_take(messages_per_chunk, within=settings.batch_seconds):
            if failed:
                raise failed[0]
            now = datetime.now(timezone.utc)
            events, rejected = [], []
            for raw in (e.value for e in batch):
                ok, bad = decode_message(raw, now, settings.max_event_age)
                events.extend(ok)
                rejected.extend(bad)
            chunk = f"score_touches/{next(chunk_ids)}"
            pipeline.health.taken(len(events) + len(rejected), min(e.message.timestamp for e in batch), time.time(),
                                  chunk)
            # identifies first: every touch of an identified cookie counts for its person, in this chunk too
            identified = pipeline.scoring.identities.learn(events)
            rows = score(events, pipeline.scoring, now)
            # queued for the sink thread at once (no await in between): in order with every other sink step
            written = pipeline.to_sink(store_scored, pipeline, rows, events, identified, rejected)
            writing.add(written)
            written.add_done_callback(writing.discard)
            written.add_done_callback(lambda w, b=batch, n=len(events) + len(rejected), r=len(rejected), c=chunk:
                                      loop.create_task(settle(w, b, n, r, c)))
            while len(writing) >= SINK_QUEUE:
                await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)

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
    @on_clock("identity sync")
    async def sync_identities():
        # identifies another worker stored (shared ClickHouse): a margin covers clocks a little apart
        since, now = synced[0] - timedelta(seconds=2), datetime.now(timezone.utc)
        links = await pipeline.in_sink(attribution.identities_since, pipeline.writer, since)
        synced[0] = now  # only once read: after a failed read the next tick asks from the same point
        # learnt here, between two scorings (see take_registry_change), then re-stitched on the sink thread
        changed = pipeline.scoring.identities.learn_links(links)
        if changed:
            await pipeline.in_sink(attribution.restitch, pipeline.writer, changed, pipeline.scoring)

    # Stage evaluation reads every account's engagement (seconds on a large store). It runs on a thread
    # and a session of its own, so the sink keeps writing meanwhile: on the sink thread it held back
    # every chunk behind it, which was most of the freshness tail under load. It writes only snapshots
    # and stage_changes, which nothing on the sink thread reads or writes.
    evaluator = threads.executor("pulse-stages")

    @functools.cache  # opened on first use: a worker that never leads never opens it
    def evaluator_client():
        client = writer_client(settings)
        if settings.embedded_clickhouse:
            # the embedded engine runs on the worker's own cores: its evaluation threads yield to
            # scoring and storing (nice 19), so a busy worker's touches are not held up by it
            client.set_client_setting("os_thread_priority", 19)
        return client

    def evaluating(fn, *args):
        return fn(evaluator_client(), settings.database, *args)

    async def on_evaluator(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(evaluator, evaluating, fn, *args)

    @app.timer(interval=stages.EVERY_SECONDS, on_leader=True)
    @on_clock("stage evaluation")
    async def evaluate_stages():
        # stages also fall as time passes, so they are re-evaluated on a clock, not only on new touches
        if time.monotonic() < next_evaluation[0]:
            return
        if pipeline.writer.state != "ok":
            # the sink is waiting for ClickHouse: nothing new is stored, and the cores and memory are
            # better left to the catch-up; the next tick after it evaluates again
            return
        now = datetime.now(timezone.utc)
        wait = await on_evaluator(stages.refresh, now)
        next_evaluation[0] = time.monotonic() + wait - stages.EVERY_SECONDS
        changes = await on_evaluator(stages.detect, now)
        for change in changes:
            await stage_topic.send(key=change.account_id.encode(), value=stages.encode(change))
        if changes:
            await on_evaluator(stages.record, changes)

    wire_health(app, pipeline, lambda: writer_client(settings))

    @app.timer(interval=10.0)
    async def report():
        log.info("written=%d duplicates=%d rejected=%d sink=%s", pipeline.written, pipeline.duplicates,
                 pipeline.rejected, pipeline.writer.state)


def on_clock(what: str):
    """For a timer's body: a failure (ClickHouse away, say) is logged and the next tick tries again.
    Faust stops the whole worker when a timer raises; the sink meanwhile waits and retries on its own."""
    def wrap(body):
        @functools.wraps(body)
        async def tick():
            try:
                await body()
            except Exception as exc:
                log.error("%s failed, trying again at the next tick: %s", what, exc)
        return tick
    return wrap


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
    try:
        step = take_registry_change(pipeline, record.value)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.error("registry message %s/%d is not a registry change, skipped: %s", name, record.offset, exc)
        return
    except Exception as exc:  # e.g. a weights file that no longer parses: say so, keep the worker running
        log.error("registry message %s/%d could not be applied, skipped: %s", name, record.offset, exc)
        return
    for attempt in range(1, REGISTRY_ATTEMPTS + 1):
        try:
            n = await pipeline.in_sink(step)
            log.info("registry: %d records applied", n)
            return
        except Exception:
            log.exception("registry message %s/%d failed (attempt %d of %d)", name, record.offset, attempt,
                          REGISTRY_ATTEMPTS)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt))  # back off before trying the store again
    log.error("registry message %s/%d skipped after %d attempts", name, record.offset, REGISTRY_ATTEMPTS)


def run(settings: Settings) -> None:
    app, pipeline, lock = build(settings)
    # What start-up loaded (registry, Faust, chDB bindings) lives as long as the process: freeze it
    # out of the cycle collector, whose full passes would otherwise walk all of it again and again.
    gc.collect()
    gc.freeze()
    worker = faust.Worker(app, loglevel="WARN", quiet=True)
    exit_at_stop_signal_when_sink_stuck(worker, pipeline.writer)

    @app.task
    async def pulse_logs_at_info():
        # Faust's log setup leaves the root logger at DEBUG (its handler prints WARN and up): every
        # debug call of aiokafka and Faust then built a record, a few per message sent or fetched.
        # pulse's own lines (sink state, recovery, re-attribution, the periodic report) are what an
        # operator reads, so keep them at INFO.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("pulse").setLevel(logging.INFO)

    try:
        worker.execute_from_commandline()
    finally:
        pipeline.writer.stopping.set()
        if lock:
            lock.release()
