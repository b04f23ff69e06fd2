"""The tracking hooks' Kafka side: one producer; valid events to the touches topic, rejected items to
the dead letters. Every send is awaited, so a hook answers only once Kafka has what it was sent."""
from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

from schemas import topics
from schemas.events import encode_batch
from schemas.settings import Settings
from streams.tracking.bodies import dead_letter


class HooksKafka:
    def __init__(self, settings: Settings, stats: dict[str, int]):
        self.settings = settings
        self.stats = stats  # the hooks' counters (GET /health), shared
        self.producer: AIOKafkaProducer | None = None
        self.touches_topic = settings.topic(topics.TOUCHES)
        self.deadletter_topic = settings.topic(topics.DEADLETTER)

    async def start(self, _app=None) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap, linger_ms=2, acks="all", enable_idempotence=False,
            max_request_size=4 * 1024 * 1024,
        )
        await self.producer.start()

    async def stop(self, _app=None) -> None:
        if self.producer is not None:
            await self.producer.stop()  # flushes what is buffered

    async def store(self, events: list, problems: list[dict], items: list, source: str) -> None:
        """Valid events to the touches topic, each rejected item to the dead letters; return once Kafka has all."""
        waits = []
        if events:
            # One Kafka message per request: Faust's cost is per message, not per event.
            waits.append(await self.producer.send(self.touches_topic, encode_batch(events)))
        for problem in problems:
            waits.append(await self._send_dead_letter(source, items[problem["index"]], problem["errors"]))
        if waits:
            await asyncio.gather(*waits)
        self.stats["accepted"] += len(events)
        self.stats["rejected"] += len(problems)

    async def dead_letter(self, source: str, payload: bytes, reasons: list[dict]) -> None:
        await (await self._send_dead_letter(source, payload, reasons))

    async def _send_dead_letter(self, source: str, item, reasons: list[dict]):
        message = dead_letter(source, item, reasons)
        self.stats["dead_letters"] += 1
        return await self.producer.send(self.deadletter_topic, message)
