"""The tracking hooks' Kafka side: one producer; valid events to the touches topic, rejected items to
the dead letters. Every send is awaited, so a hook answers 202 only once Kafka has what it was sent.

While Kafka is unreachable a request must not hang: a store gets `SEND_BUDGET_S` to be acknowledged,
after which it fails with `KafkaUnavailable` (the hooks answer 503 with Retry-After). Once one store
has failed the hooks know Kafka is down and refuse at once, letting one request at a time through as a
probe; the first probe Kafka acknowledges ends the outage. A refused request may still reach Kafka
later (its message was handed to the producer before the budget ran out): the sender retries it, and
the copy is harmless, as every event's id is derived from its content and the worker stores each id once.
"""
from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas import topics
from schemas.events import encode_batch
from schemas.settings import Settings
from streams.core.homes import by_home
from streams.tracking.bodies import dead_letter

log = logging.getLogger("pulse.hooks")
SEND_BUDGET_S = 0.8      # a request's wait for Kafka's acknowledgement (the hooks answer within 1 s)
STOP_BUDGET_S = 2.0      # the producer's flush at shutdown (what it cannot deliver was answered 503)
RETRY_AFTER_S = 5
REMIND_EVERY_S = 30.0    # while Kafka stays down, one log line per this many seconds


class KafkaUnavailable(KafkaError):
    """Kafka did not acknowledge within the budget, or is known to be down: answer 503, retry later."""


class HooksKafka:
    def __init__(self, settings: Settings, stats: dict[str, int], clock=time.monotonic):
        self.settings = settings
        self.stats = stats  # the hooks' counters (GET /health), shared
        self.clock = clock
        self.producer: AIOKafkaProducer | None = None
        self.touches_topic = settings.topic(topics.TOUCHES)
        self.deadletter_topic = settings.topic(topics.DEADLETTER)
        self.down_since: float | None = None   # monotonic time of the first failed store of this outage
        self._probing = False
        self._reminded_at = 0.0
        self._connecting: asyncio.Task | None = None  # while Kafka was not there at start

    async def start(self, _app=None) -> None:
        """The topics and the producer; while Kafka is not there yet, serve anyway (503 with
        Retry-After) and keep trying in the background, with a log line per interval."""
        try:
            await self._connect()
        except Exception as exc:  # noqa: BLE001 - either Kafka client's error (kafka-python makes the topics)
            self._went_down(exc)
            self._connecting = asyncio.get_running_loop().create_task(self._keep_connecting())

    async def _connect(self) -> None:
        from streams.kafka_admin import ensure_topics

        await asyncio.get_running_loop().run_in_executor(None, ensure_topics, self.settings)
        producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap, linger_ms=2, acks="all", enable_idempotence=False,
            max_request_size=4 * 1024 * 1024,
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()  # its half-open connections
            raise
        self.producer = producer

    async def _keep_connecting(self) -> None:
        delay = 0.5
        while self.producer is None:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            try:
                await self._connect()
            except Exception as exc:  # noqa: BLE001 - as in start(): logged once per interval
                self._went_down(exc)
        log.warning("connected to Kafka at %s", self.settings.bootstrap)

    async def stop(self, _app=None) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self.producer is not None:
            try:  # flushes what is buffered, unless Kafka is away: then what is left was answered 503
                await asyncio.wait_for(self.producer.stop(), STOP_BUDGET_S)
            except (asyncio.TimeoutError, KafkaError) as exc:
                log.warning("Kafka producer not flushed at shutdown (%s); those requests were answered 503",
                            str(exc) or type(exc).__name__)

    def state(self) -> dict:
        """For GET /health: whether Kafka answers, and since when it does not."""
        if self.down_since is None:
            return {"kafka": "ok"}
        return {"kafka": "unavailable", "kafka_down_s": round(self.clock() - self.down_since, 1)}

    async def store(self, events: list, problems: list[dict], items: list, source: str) -> None:
        """Valid events to the touches topic, each rejected item to the dead letters; return once Kafka has all."""
        await self._guarded(self._store(events, problems, items, source))
        self.stats["accepted"] += len(events)
        self.stats["rejected"] += len(problems)

    async def dead_letter(self, source: str, payload: bytes, reasons: list[dict]) -> None:
        await self._guarded(self._dead_letter(source, payload, reasons))

    async def _store(self, events: list, problems: list[dict], items: list, source: str) -> None:
        if self.producer is None:
            raise KafkaUnavailable("not connected to Kafka yet")
        waits = []
        if events and self.settings.route_events:  # several workers: each event to its id's home partition
            homes = len(await self.producer.partitions_for(self.touches_topic))
            for home, group in by_home(events, homes).items():
                waits.append(await self.producer.send(self.touches_topic, encode_batch(group), partition=home))
        elif events:
            # One Kafka message per request: Faust's cost is per message, not per event.
            waits.append(await self.producer.send(self.touches_topic, encode_batch(events)))
        for problem in problems:
            waits.append(await self._send_dead_letter(source, items[problem["index"]], problem["errors"]))
        if waits:
            await asyncio.gather(*waits)

    async def _dead_letter(self, source: str, payload: bytes, reasons: list[dict]) -> None:
        if self.producer is None:
            raise KafkaUnavailable("not connected to Kafka yet")
        await (await self._send_dead_letter(source, payload, reasons))

    async def _send_dead_letter(self, source: str, item, reasons: list[dict]):
        message = dead_letter(source, item, reasons)
        self.stats["dead_letters"] += 1
        return await self.producer.send(self.deadletter_topic, message)

    async def _guarded(self, sending) -> None:
        """Run `sending` within the budget; while Kafka is known down, only one probe at a time."""
        if self.down_since is not None and self._probing:
            sending.close()
            self._refused("Kafka is unavailable")
        probe = self.down_since is not None
        self._probing = self._probing or probe
        try:
            await asyncio.wait_for(sending, SEND_BUDGET_S)
        except (asyncio.TimeoutError, KafkaError) as exc:
            self._went_down(exc)
            self._refused(f"Kafka did not acknowledge within {SEND_BUDGET_S:g} s ({str(exc) or type(exc).__name__})")
        finally:
            if probe:
                self._probing = False
        if self.down_since is not None:
            log.warning("Kafka is available again after %.0f s; accepting events", self.clock() - self.down_since)
            self.down_since = None

    def _went_down(self, exc: BaseException) -> None:
        now = self.clock()
        if self.down_since is None:
            self.down_since = self._reminded_at = now
            log.error("Kafka is unavailable (%s): answering 503 with Retry-After until it is back",
                      str(exc) or type(exc).__name__)
        elif now - self._reminded_at >= REMIND_EVERY_S:
            self._reminded_at = now
            log.error("Kafka still unavailable after %.0f s; %d requests answered 503 so far",
                      now - self.down_since, self.stats.get("kafka_unavailable", 0))

    def _refused(self, why: str):
        self.stats["kafka_unavailable"] = self.stats.get("kafka_unavailable", 0) + 1
        raise KafkaUnavailable(why)
