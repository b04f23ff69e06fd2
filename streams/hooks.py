"""Tracking hooks: the HTTP head of the stream. Validate, then produce to Kafka; answer only once Kafka has it."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import msgspec
from aiohttp import web
from aiokafka import AIOKafkaProducer

from pulse.settings import Settings
from schemas import topics
from schemas.events import encode_batch
from schemas.validate import Accepted, validate

log = logging.getLogger("pulse.hooks")
MAX_BODY = 1024 * 1024
MAX_EVENTS = 500
_json_decode = msgspec.json.decode
_json_encode = msgspec.json.encode


class Hooks:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.producer: AIOKafkaProducer | None = None
        self.touches_topic = settings.topic(topics.TOUCHES)
        self.deadletter_topic = settings.topic(topics.DEADLETTER)
        self.max_age = settings.max_event_age
        self.accepted = 0
        self.rejected = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/collect", self.collect)
        app.router.add_get("/health", self.health)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap, linger_ms=2, acks="all", enable_idempotence=False,
            max_request_size=4 * 1024 * 1024,
        )
        await self.producer.start()

    async def _stop(self, _app) -> None:
        if self.producer is not None:
            await self.producer.stop()  # flushes what is buffered

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "accepted": self.accepted, "rejected": self.rejected})

    async def collect(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if len(raw) > MAX_BODY:
            return _problem(413, "body larger than 1 MiB")
        try:
            body = _json_decode(raw)
        except msgspec.DecodeError as exc:
            await self._dead_letter("collect", raw, [{"field": "$", "reason": f"not valid JSON: {exc}"}])
            return _problem(400, f"body is not valid JSON: {exc}")
        items = body if isinstance(body, list) else [body]
        if len(items) > MAX_EVENTS:
            return _problem(413, f"{len(items)} events in one request; at most {MAX_EVENTS}")
        return await self.accept(items, "collect")

    async def accept(self, items: list, source: str) -> web.Response:
        now = datetime.now(timezone.utc)
        events, problems = [], []
        for index, item in enumerate(items):
            result = validate(item, now=now, max_age=self.max_age)
            if isinstance(result, Accepted):
                events.append(result.event)
            else:
                reasons = [e.as_dict() for e in result.errors]
                problems.append({"index": index, "errors": reasons})
                await self._dead_letter(source, _json_encode(item), reasons)
        if events:
            # One Kafka message per request: Faust's cost is per message, not per event.
            await self.producer.send_and_wait(self.touches_topic, encode_batch(events))
        self.accepted += len(events)
        self.rejected += len(problems)
        status = 202 if events or not problems else 400
        return web.json_response({"accepted": len(events), "rejected": problems}, status=status)

    async def _dead_letter(self, source: str, payload: bytes, reasons: list[dict]) -> None:
        message = {"source": source, "reasons": reasons, "payload": payload.decode(errors="replace")}
        await self.producer.send_and_wait(self.deadletter_topic, _json_encode(message))


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def run(settings: Settings) -> None:
    from streams.kafka_admin import ensure_topics

    ensure_topics(settings)
    hooks = Hooks(settings)
    web.run_app(hooks.app(), host=settings.hooks_host, port=settings.hooks_port, access_log=None,
                print=lambda *_: None, handle_signals=True)
