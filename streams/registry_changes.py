"""The registry (accounts, contacts, programs, re-score requests): loaded from the store at start,
then followed on its topic, which every worker reads whole (no consumer group: it is broadcast).

A change is applied to the live lookup on the event loop, between two scorings, and stored with the
re-attribution it causes on the sink thread: a touch scored before the change is handed to the sink
before the re-attribution step is, so that step sees it stored and re-scores it; a touch scored
after is already scored with the change.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Callable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas import topics
from schemas.registry import (ACCOUNT_COLUMNS, CONTACT_COLUMNS, GOAL_COLUMNS, PROGRAM_COLUMNS, SPEND_COLUMNS,
                              AccountsChanged, ContactsChanged, GoalsChanged, ProgramsChanged, RescoreRequested,
                              SpendChanged, decode_change)
from streams import attribution, traffic_job
from streams.core.weights import Weights
from streams.kafka_admin import partitions_of
from streams.pipeline import Pipeline

log = logging.getLogger("pulse.worker")
ATTEMPTS = 5


def load_registry(pipeline: Pipeline) -> None:
    registry, store = pipeline.scoring.registry, pipeline.writer.store
    for account in store.accounts():
        registry.upsert_account(account)
    for contact in store.contacts():
        registry.upsert_contact(contact)


def take_registry_change(pipeline: Pipeline, raw: bytes) -> Callable[[], int]:
    """Apply a registry change to the live lookup now; return the sink-thread step that stores it and
    re-attributes the touches it affects."""
    change = decode_change(raw)
    registry, scoring, writer = pipeline.scoring.registry, pipeline.scoring, pipeline.writer
    if isinstance(change, ContactsChanged):  # the topic is re-read at every start: an erased contact stays so
        change.items = pipeline.erased.keep_contacts(change.items)
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
            writer.store.store_records(table, columns, change.items, now)
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
    if isinstance(change, (SpendChanged, GoalsChanged)):
        # stamped with the import's time, not now: a replay of the topic re-stores the same versions
        table, columns = ("spend", SPEND_COLUMNS) if isinstance(change, SpendChanged) else ("goals", GOAL_COLUMNS)
        return lambda: writer.store.store_records(table, columns, change.items, change.imported_at) or len(change.items)
    assert isinstance(change, RescoreRequested)
    scoring.weights = Weights.load(pipeline.settings.weights_file)
    return lambda: rescore_stored(pipeline, change.since_days)


def rescore_history(pipeline: Pipeline, since_days: int) -> int:
    """Re-read the weights and re-score (and re-resolve) every stored touch of the last `since_days` days."""
    pipeline.scoring.weights = Weights.load(pipeline.settings.weights_file)
    return rescore_stored(pipeline, since_days)


def rescore_stored(pipeline: Pipeline, since_days: int) -> int:
    attribution.record_weights(pipeline.writer.store, pipeline.scoring.weights, pipeline.scoring.traffic)
    where = f"occurred_at >= now64(3) - INTERVAL {int(since_days)} DAY"
    changed = attribution.reattribute(pipeline.writer, where, {}, pipeline.scoring)
    # then the behaviour rules over the same days (issue 19), on what is stored now
    since = traffic_job.first_day(datetime.now(timezone.utc), pipeline.scoring.tz, int(since_days) + 1)
    return changed + traffic_job.reclassify(pipeline.writer, pipeline.scoring, since)


async def follow_registry(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    name = settings.topic(topics.REGISTRY)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        # every partition: ensure_topics makes one, but a producer that came first may have had the
        # broker create the topic with its default count
        consumer.assign([TopicPartition(name, p) for p in await _partitions(settings, name)])
        while True:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    await apply_registry_message(pipeline, name, record)
    finally:
        await consumer.stop()


async def _partitions(settings, name: str) -> set[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="pulse-registry")
    await admin.start()
    try:
        while not (found := await partitions_of(admin, name)):
            await asyncio.sleep(1.0)  # not created yet
        return found
    finally:
        await admin.close()


async def apply_registry_message(pipeline: Pipeline, name: str, record) -> None:
    """A bad registry message is logged and skipped; a failing store is retried, never crashing the worker."""
    try:
        step = take_registry_change(pipeline, record.value)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.error("registry message %s/%d is not a registry change, skipped: %s", name, record.offset, exc)
        return
    except Exception as exc:  # e.g. a weights file that no longer parses: say so, keep the worker running
        log.error("registry message %s/%d could not be applied, skipped: %s", name, record.offset, exc)
        return
    for attempt in range(1, ATTEMPTS + 1):
        try:
            log.info("registry: %d records applied", await pipeline.in_sink(step))
            return
        except Exception:
            log.exception("registry message %s/%d failed (attempt %d of %d)", name, record.offset, attempt, ATTEMPTS)
            await asyncio.sleep(min(30.0, 0.5 * 2 ** attempt))  # back off before trying the store again
    log.error("registry message %s/%d skipped after %d attempts", name, record.offset, ATTEMPTS)
