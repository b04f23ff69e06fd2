"""Helpers for the hook tests: HTTP calls with urllib and reading what reached Kafka with aiokafka."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.settings import Settings
from schemas import topics
from streams.tracking import signatures


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(NoRedirect)


# A browser's agent unless a test says otherwise: urllib's own ("Python-urllib/3.x") is a crawler's
# by the traffic rules (issue 19), whose touches are worth 0 minutes.
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/124.0.0.0 Safari/537.36")


def call(settings: Settings, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
    request = urllib.request.Request(f"{settings.hooks_url}{path}", data=body, method=method,
                                     headers={"User-Agent": BROWSER, **(headers or {})})
    try:
        with _opener.open(request, timeout=30) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, dict(exc.headers), exc.read())


def post_json(settings: Settings, path: str, value, headers: dict | None = None) -> Reply:
    return call(settings, "POST", path, json.dumps(value).encode(), {"Content-Type": "application/json", **(headers or {})})


def post_signed(settings: Settings, path: str, body: bytes, secret: str, timestamp: int | None = None) -> Reply:
    ts = int(time.time()) if timestamp is None else timestamp
    return call(settings, "POST", path, body, {"Content-Type": "application/json", **signatures.headers(secret, ts, body)})


@dataclass
class TopicReader:
    """Everything on a topic so far (all partitions, from the start), re-read on each call."""

    settings: Settings
    suffix: str
    seen: list = field(default_factory=list)

    def read(self) -> list:
        return asyncio.run(_read_all(self.settings.bootstrap, self.settings.topic(self.suffix)))


async def _read_all(bootstrap: str, topic: str) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                out.extend(r.value for r in records)
        return out
    finally:
        await consumer.stop()


def touches(settings: Settings) -> list[dict]:
    """Every event on the touches topic (messages are JSON arrays of events)."""
    return [event for raw in TopicReader(settings, topics.TOUCHES).read() for event in msgspec.json.decode(raw)]


def dead_letters(settings: Settings) -> list[dict]:
    return [msgspec.json.decode(raw) for raw in TopicReader(settings, topics.DEADLETTER).read()]


def events_with(settings: Settings, **match) -> list[dict]:
    return [e for e in touches(settings) if all(e.get(k) == v for k, v in match.items())]


def marker() -> str:
    """A unique anonymous id, so a test finds its own events on a shared topic."""
    return "t-" + uuid.uuid4().hex[:12]
