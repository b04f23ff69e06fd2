"""Erasure, the worker's side (README, Erasure): `pulse forget` puts a request on the erasure topic; every
worker takes each request once (a consumer group of its own) and

  1. drops the person's events from then on (the hash goes into the filter before anything is deleted,
     so a chunk scored after it cannot write them back; chunks scored before are queued on the sink
     thread ahead of the deletion, and are deleted with the rest);
  2. follows the identity graph to the person's other identifiers, and drops those too;
  3. deletes their rows and logs the request by hash (sinks/erasure.py), on the sink thread.

Every step is idempotent: a request re-read after a crash, or run by each worker of a shared store,
deletes nothing more and logs no second count. The offset is committed once the request is logged.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import msgspec
from aiokafka import AIOKafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.settings import Settings
from sinks.erasure import Erased, ErasureStore, Logged
from streams.core.erasure import ErasedSet, ErasureInputError, ErasureRequest, identifier_hash, mentions, normal
from streams.pipeline import Pipeline

log = logging.getLogger("pulse.erasure")
TOPIC = "erasure"  # a topic of its own, not the registry: it holds identifiers, so it keeps them briefly
RETENTION_MS = 7 * 24 * 3600 * 1000
decode_request = msgspec.json.Decoder(ErasureRequest).decode
encode_request = msgspec.json.Encoder().encode


def topic_name(settings: Settings) -> str:
    return settings.topic(TOPIC)


def ensure_topic(settings: Settings) -> None:
    """One partition (requests in order), kept 7 days: the identifiers in it leave Kafka after that."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="pulse-erasure")
    try:
        if topic_name(settings) not in set(admin.list_topics()):
            try:
                admin.create_topics([NewTopic(topic_name(settings), num_partitions=1, replication_factor=1,
                                              topic_configs={"retention.ms": str(RETENTION_MS)})])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def load(pipeline: Pipeline) -> None:
    """At start, before the agents: the erased hashes from the log, and the topic to follow."""
    ensure_topic(pipeline.settings)
    store = ErasureStore(pipeline.writer.client, pipeline.settings.database)
    pipeline.erased = ErasedSet(pipeline.settings.database, store.erased_hashes())
    if pipeline.erased.hashes:
        log.info("%d erased identifiers: their events are dropped", len(pipeline.erased.hashes))


async def follow_erasures(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    consumer = AIOKafkaConsumer(topic_name(settings), bootstrap_servers=settings.bootstrap,
                                group_id=f"{settings.app_id}-erasure-{settings.worker_id}",
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while True:
            try:
                await take_requests(pipeline, consumer)
            except Exception as exc:  # Kafka away (a commit needs its coordinator): the worker goes on
                log.error("erasure requests: %s; trying again", exc)
                await asyncio.sleep(5.0)
            await report_drops(pipeline)
    finally:
        await consumer.stop()


async def take_requests(pipeline: Pipeline, consumer: AIOKafkaConsumer) -> None:
    batches = await consumer.getmany(timeout_ms=1000)
    for tp, records in batches.items():
        for record in records:
            try:
                await apply_message(pipeline, record.value)
            except Exception as exc:  # never skipped: read again after a pause, from this one on
                log.error("erasure request %s/%d failed, trying again: %s", tp.topic, record.offset, exc)
                consumer.seek(tp, record.offset)
                await asyncio.sleep(5.0)
                break
    if batches:
        await consumer.commit()  # up to the position: what was applied


async def apply_message(pipeline: Pipeline, raw: bytes) -> Erased | None:
    try:
        request = decode_request(raw)
        value = normal(request.kind, request.identifier)
    except (msgspec.DecodeError, msgspec.ValidationError, ErasureInputError) as exc:
        log.error("erasure request skipped, not a valid request: %s", exc)
        return None
    return await erase(pipeline, request, value)


async def erase(pipeline: Pipeline, request: ErasureRequest, value: str) -> Erased:
    salt, erased, writer = pipeline.settings.database, pipeline.erased, pipeline.writer
    store = ErasureStore(writer.client, pipeline.settings.database)
    named = identifier_hash(salt, request.kind, value)
    erased.add([named])
    emails, cookies = ({value}, set()) if request.kind == "email" else (set(), {value})
    emails, cookies = await pipeline.in_sink(writer.retry, "erasure lookup", lambda: store.linked(emails, cookies))
    linked = [("email", e) for e in sorted(emails)] + [("anonymous_id", c) for c in sorted(cookies)]
    hashes = {(kind, v): identifier_hash(salt, kind, v) for kind, v in linked}
    erased.add(hashes.values())
    _forget_in_memory(pipeline, emails, cookies)

    def step() -> Erased:
        candidates = store.rejected_candidates(sorted(emails | cookies))
        keys = [key for key, payload in candidates if mentions(payload, emails, cookies)]
        logged = Logged(request.request_id, request.requested_at, named, {h: kind for (kind, _), h in hashes.items()})
        rows = store.announce(logged, emails, cookies, keys)
        store.erase(emails, cookies, keys)
        store.log(rows)
        return next(counts for h, *_, counts in rows if h == named)

    done = await pipeline.in_sink(writer.retry, "erasure", step)
    log.warning("erased %s %s... (%d identifiers linked): %d touches, %s minutes, %d rows in all",
                request.kind, named[:12], len(hashes) - 1, done.counts["touches"], done.minutes, done.rows)
    return done


def _forget_in_memory(pipeline: Pipeline, emails: set[str], cookies: set[str]) -> None:
    """The live lookups forget them too: no re-stitch to them, no contact role for them."""
    links = pipeline.scoring.identities.links
    for cookie in [c for c, (_, email) in links.items() if c in cookies or email in emails]:
        del links[cookie]
    for email in emails:
        pipeline.scoring.registry.contacts.pop(email, None)


async def report_drops(pipeline: Pipeline) -> None:
    """What the filter dropped since the last report, into erasure_drops (counts; never the events)."""
    drops = pipeline.erased.take_dropped()
    if not drops:
        return
    log.warning("dropped %d events of erased people", sum(drops.values()))
    store = ErasureStore(pipeline.writer.client, pipeline.settings.database)
    try:
        await pipeline.in_sink(store.record_drops, dict(drops))
    except Exception as exc:  # the counts are for operators: kept for the next report, never fatal
        pipeline.erased.dropped.update(drops)
        log.error("could not record dropped events: %s", exc)


def request_for(kind: str, value: str, request_id: str) -> bytes:
    """The message `pulse forget` sends (the identifier already checked with `normal`)."""
    return encode_request(ErasureRequest(request_id=request_id, kind=kind, identifier=value,  # type: ignore[arg-type]
                                         requested_at=datetime.now(timezone.utc)))
