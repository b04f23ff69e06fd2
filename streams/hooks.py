"""Tracking hooks: the HTTP head of the stream. Validate, then produce to Kafka; answer only once Kafka has it.

Endpoints (README, "Sending events"): GET /t.js, POST /collect, GET /p.gif, GET /o/<token>.gif,
GET /c/<token>?u=<url>, POST /hooks/calls | /hooks/attendance | /hooks/events, GET /health.
The decisions (signatures, tokens, client IP, rate limit, origins, pixel payloads, which types an
endpoint takes, dead-letter messages) are pure functions in streams/tracking/; this module only moves
bytes between HTTP and Kafka, and streams/hooks_kafka.py is its Kafka side.
"""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone

import msgspec
from aiohttp import web
from aiokafka.errors import KafkaError

from schemas.settings import Settings
from schemas.validate import Accepted, public_item, validate, validate_body
from streams import quiet_logs
from streams.hooks_kafka import RETRY_AFTER_S, HooksKafka, KafkaUnavailable
from streams.tracking import pixels, signatures, tokens, useragent
from streams.tracking.bodies import NOT_JSON, why_not_json
# Importable from here too, where the hooks' other limits are (tests/system/streams/test_hooks_security.py).
from streams.tracking.clientip import ClientIp
from streams.tracking.endpoint_types import WEBHOOKS, refused_by_collect, refused_by_webhook
from streams.tracking.origins import Origins
from streams.tracking.ratelimit import RateLimiter
from streams.tracking.snippet import snippet

log = logging.getLogger("pulse.hooks")
MAX_BODY = 1024 * 1024
MAX_EVENTS = 500
# A webhook body must arrive within this many seconds of its headers (408 after): a slow sender
# must not hold a connection open. Its signature headers are judged before any of it is read.
BODY_DEADLINE_S = 10.0
# The public path takes events of the last day only: a page sends what happens now, and an older
# `occurred_at` would let a script spread its events over many days, past every per-day cap.
PUBLIC_MAX_AGE = timedelta(days=1)
_json_decode = msgspec.json.decode
_json_encode = msgspec.json.encode
_UTC = timezone.utc


class Hooks:
    def __init__(self, settings: Settings, clock=time.time):
        self.settings = settings
        self.clock = clock
        self.max_age = settings.max_event_age
        self.public_max_age = min(self.max_age, PUBLIC_MAX_AGE)
        self.body_deadline_s = BODY_DEADLINE_S
        self.client_ip = ClientIp(settings.trusted_proxies)
        self.origins = Origins(settings.allowed_origins)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.click_hosts = frozenset(h.lower() for h in settings.click_allowed_hosts)
        self.token_max_age_s = settings.token_max_age_days * 86400
        self.collect_types = frozenset(settings.collect_types)
        self.stats = {"accepted": 0, "rejected": 0, "rate_limited": 0, "unauthorised": 0, "refused_origin": 0,
                      "too_large": 0, "slow_bodies": 0, "kafka_errors": 0, "kafka_unavailable": 0, "dead_letters": 0}
        self.kafka = HooksKafka(settings, self.stats)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors])
        app.router.add_get("/t.js", self.tracking_script)
        app.router.add_post("/collect", self.collect)
        app.router.add_route("OPTIONS", "/collect", self.preflight)
        app.router.add_get("/p.gif", self.page_pixel)
        app.router.add_get(r"/o/{token:[\s\S]+}", self.open_pixel)  # any token, even with / or a newline
        app.router.add_get(r"/c/{token:[\s\S]+}", self.click)
        for path in WEBHOOKS:
            app.router.add_post(path, self.webhook)
        app.router.add_get("/health", self.health)
        app.on_startup.append(self.kafka.start)
        app.on_cleanup.append(self.kafka.stop)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler):
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except KafkaError as exc:  # an outage is logged by self.kafka once, then once per interval
            if not isinstance(exc, KafkaUnavailable):
                self.stats["kafka_errors"] += 1
                log.error("Kafka error: %s", exc)
            return web.json_response({"error": "events could not be stored right now; retry later"}, status=503,
                                     headers={"Retry-After": str(RETRY_AFTER_S)})

    async def health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **self.kafka.state(), **self.stats})

    # -- website ------------------------------------------------------------------------------
    async def tracking_script(self, request: web.Request) -> web.Response:
        body, etag = snippet()
        headers = {"Content-Type": "application/javascript; charset=utf-8", "ETag": etag,
                   "Cache-Control": "public, max-age=3600"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, headers=headers)

    async def preflight(self, request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        if not self.origins.allows(origin):
            self.stats["refused_origin"] += 1
            return web.Response(status=403)
        return web.Response(status=204, headers=self.origins.cors_headers(origin))

    async def collect(self, request: web.Request) -> web.Response:
        origin = request.headers.get("Origin")
        cors = self.origins.cors_headers(origin)
        if not self.origins.allows(origin):
            self.stats["refused_origin"] += 1
            return _problem(403, f"origin {origin[:200]!r} is not allowed (PULSE_ALLOWED_ORIGINS)")
        client = self._client(request)
        if not self.limiter.allow(client, self.clock()):
            return self._rate_limited(client, cors)
        raw = await self._body(request, deadline=self.body_deadline_s)
        if isinstance(raw, web.Response):
            return raw
        # A page may not say who it is: `account_id` and `ip` in the body are ignored (the address is
        # the connection's), an email is taken only on identify and form_submit (schemas.validate.public_item).
        agent = useragent.user_agent(request.headers)
        events = validate_body(raw, now=self._now(), max_age=self.public_max_age, ip=client or None,
                               max_events=MAX_EVENTS, public=True, user_agent=agent)
        if events is not None and self.collect_types and not all(
                e.__struct_config__.tag in self.collect_types for e in events):
            events = None  # some type this public endpoint does not take: answer item by item
        if events is not None:  # the common case: every event well-formed, one msgspec pass
            await self.kafka.store(events, [], [], "collect")
            return web.Response(body=_json_encode({"accepted": len(events), "rejected": []}), status=202,
                                content_type="application/json", headers=cors)
        items = await self._items(raw, "collect")
        if isinstance(items, web.Response):
            return items
        items = [public_item(item, client, agent) for item in items]
        refused = refused_by_collect(items, self.collect_types)
        response = await self.accept(items, "collect", prejudged=refused, max_age=self.public_max_age)
        response.headers.update(cors)
        return response

    async def page_pixel(self, request: web.Request) -> web.Response:
        client = self._client(request)
        referer = request.headers.get("Referer")
        if not self.origins.allows_referer(referer):
            self.stats["refused_origin"] += 1
            return _gif()
        if not self.limiter.allow(client, self.clock()):
            self.stats["rate_limited"] += 1
            return _gif(429)
        event = pixels.page_view(request.query, referer, client, self._now())
        event.update(pixels.request_facts(request.method, useragent.user_agent(request.headers)))
        await self.accept([event], "pixel", answer=False, max_age=self.public_max_age)
        return _gif()

    # -- email ----------------------------------------------------------------------------------
    async def open_pixel(self, request: web.Request) -> web.Response:
        """Always the GIF, whatever the token: a mail client must never show a broken image or an error."""
        token = request.match_info["token"].removesuffix(".gif")
        now = self._now()
        claims = tokens.verify(self.settings.link_secrets, token, now.timestamp(), self.token_max_age_s, kind="open")
        if isinstance(claims, tokens.Claims):
            event = pixels.email_open(claims, now)
            event.update(self._request_facts(request))
            await self.accept([event], "email", answer=False)
        elif self.limiter.allow(self._client(request), self.clock()):  # bad tokens must not flood the dead letters
            await self.kafka.dead_letter("email", _json_encode({"path": request.path[:4096]}),
                                         [{"field": "token", "reason": claims.reason}])
        else:
            self.stats["rate_limited"] += 1
        return _gif()

    async def click(self, request: web.Request) -> web.Response:
        """Redirect to the signed URL or an allow-listed one; anything else gets a plain 400, not a redirect."""
        token = request.match_info["token"]
        wanted = request.query.get("u")
        now = self._now()
        claims = tokens.verify(self.settings.link_secrets, token, now.timestamp(), self.token_max_age_s, kind="click")
        target = tokens.destination(claims, wanted, self.click_hosts)
        if isinstance(claims, tokens.Claims) and target is not None:
            event = pixels.email_click(claims, target, now)
            event.update(self._request_facts(request))
            await self.accept([event], "email", answer=False)
        elif isinstance(claims, tokens.BadToken) and self.limiter.allow(self._client(request), self.clock()):
            link = {"path": request.path[:4096], "u": (wanted or "")[:4096]}
            await self.kafka.dead_letter("email", _json_encode(link), [{"field": "token", "reason": claims.reason}])
        if target is None:
            return web.Response(status=400, text="This link is not valid.\n",
                                headers={"Cache-Control": "no-store"})
        return web.Response(status=302, headers={"Location": target, "Cache-Control": "no-store",
                                                 "Referrer-Policy": "no-referrer"})

    # -- systems --------------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        signature, timestamp = request.headers.get("X-Pulse-Signature"), request.headers.get("X-Pulse-Timestamp")
        # Judge the headers before reading a byte of the body: unsigned or stale requests cost nothing.
        problem = signatures.check_headers(self.settings.hook_secrets, signature, timestamp, self.clock())
        if problem is None:
            raw = await self._body(request, deadline=self.body_deadline_s)
            if isinstance(raw, web.Response):
                return raw
            problem = signatures.check(self.settings.hook_secrets, signature, timestamp, raw, self.clock())
        if problem is not None:
            # Not dead-lettered: unauthenticated input is not ours to keep.
            self.stats["unauthorised"] += 1
            return _problem(401, problem)
        source = "webhook:" + request.path.rsplit("/", 1)[1]
        items = await self._items(raw, source)
        if isinstance(items, web.Response):
            return items
        return await self.accept(items, source, prejudged=refused_by_webhook(items, request.path))

    # -- the common path ------------------------------------------------------------------------
    async def accept(self, items: list, source: str, answer: bool = True, prejudged: dict[int, list] | None = None,
                     max_age: timedelta | None = None) -> web.Response | None:
        """Validate each item; valid ones go to Kafka in one message, each invalid one to the dead letters."""
        now = self._now()
        max_age = max_age or self.max_age
        events, problems = [], []
        for index, item in enumerate(items):
            if prejudged and index in prejudged:
                reasons = prejudged[index]
            else:
                result = validate(item, now=now, max_age=max_age, currency=self.settings.currency,
                                  stages=self.settings.lifecycle_stages)
                if type(result) is Accepted:
                    events.append(result.event)
                    continue
                reasons = result.reasons()
            problems.append({"index": index, "errors": reasons})
        await self.kafka.store(events, problems, items, source)
        if not answer:
            return None
        status = 202 if events or not problems else 400
        return web.Response(body=_json_encode({"accepted": len(events), "rejected": problems}), status=status,
                            content_type="application/json")

    async def _body(self, request: web.Request, deadline: float | None = None) -> bytes | web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            self.stats["too_large"] += 1
            return _problem(413, f"body larger than 1 MiB ({request.content_length} bytes); split it")
        try:
            if deadline is None:
                return await request.read()
            return await asyncio.wait_for(request.read(), deadline)
        except asyncio.TimeoutError:
            self.stats["slow_bodies"] += 1
            return _problem(408, f"the body did not arrive within {deadline:g} s of the headers")
        except web.HTTPRequestEntityTooLarge:
            self.stats["too_large"] += 1
            return _problem(413, "body larger than 1 MiB; split it")

    async def _items(self, raw: bytes, source: str) -> list | web.Response:
        try:
            body = _json_decode(raw)
        except NOT_JSON as exc:
            reason = why_not_json(raw, exc)
            await self.kafka.dead_letter(source, raw, [{"field": "$", "reason": reason}])
            return _problem(400, reason)
        items = body if type(body) is list else [body]
        if len(items) > MAX_EVENTS:
            self.stats["too_large"] += 1
            return _problem(413, f"{len(items)} events in one request; at most {MAX_EVENTS}")
        return items

    def _request_facts(self, request: web.Request) -> dict:
        """Who fetched an email image or link: its agent, address and method (issue 19)."""
        return pixels.request_facts(request.method, useragent.user_agent(request.headers), self._client(request))

    def _client(self, request: web.Request) -> str:
        # every X-Forwarded-For line, in order, as one list (a proxy may add its own line)
        lines = request.headers.getall("X-Forwarded-For", ())
        return self.client_ip(request.remote, ",".join(lines) if lines else None)

    def _rate_limited(self, client: str, cors: dict) -> web.Response:
        self.stats["rate_limited"] += 1
        wait = max(1, round(self.limiter.retry_after(client)))
        return web.json_response({"error": f"too many requests from {client}; retry in {wait} s"}, status=429,
                                 headers={**cors, "Retry-After": str(wait)})

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), _UTC)


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def _gif(status: int = 200) -> web.Response:
    return web.Response(body=pixels.GIF, status=status, headers=pixels.GIF_HEADERS)


def run(settings: Settings) -> None:
    quiet_logs.install()  # the topics are made when Kafka first answers (streams/hooks_kafka.py)
    hooks = Hooks(settings)
    # a stop waits for requests in flight, each bounded by the Kafka budget (streams/hooks_kafka.py)
    web.run_app(hooks.app(), host=settings.hooks_host, port=settings.hooks_port, access_log=None,
                print=lambda *_: None, handle_signals=True, loop=_event_loop(), shutdown_timeout=3.0)


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where installed (Linux, macOS): it halves the event loop's share of a pixel request."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
