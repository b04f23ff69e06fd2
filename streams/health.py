"""How the worker is doing: rates, lag, the sink's state; served as JSON and written to `pipeline_health`.

Three parts: `RateMeter` and `HealthMonitor` are pure bookkeeping (time comes in as an argument);
`consumer_lag` asks Kafka (it is also what `pulse status` uses when no worker answers);
`HealthService` is the thin shell: an HTTP endpoint on PULSE_HEALTH_PORT and a timer that writes a
reading every few seconds. It never waits for the sink: a reading must get out exactly when the
sink is stuck.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from datetime import datetime, timezone

from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from sinks import threads
from schemas.settings import Settings
from streams import quiet_logs
from streams.kafka_admin import partitions_of
from schemas import topics
from sinks.faults import FaultRequestError, OutageClient, OutageSwitch, check_fault_token, outage_seconds
from sinks.health import HealthReading, PartitionLag, encode, write_reading

log = logging.getLogger("pulse.health")

READING_INTERVAL_S = 2.0
RATE_WINDOW_S = 10.0


class RateMeter:
    """Events per second over the last `window` seconds."""

    def __init__(self, window: float = RATE_WINDOW_S):
        self.window = window
        self._points: deque[tuple[float, int]] = deque()
        self._started: float | None = None

    def add(self, n: int, now: float) -> None:
        if self._started is None:
            self._started = now
        self._points.append((now, n))

    def rate(self, now: float) -> float:
        while self._points and self._points[0][0] <= now - self.window:
            self._points.popleft()
        if self._started is None:
            return 0.0
        # A worker up for 3 s divides by 3, not by the whole window.
        span = min(self.window, max(now - self._started, 1.0))
        return sum(n for _, n in self._points) / span


class HealthMonitor:
    """Counters the agents update; at most one batch is in flight per agent (take -> write -> ack)."""

    def __init__(self, window: float = RATE_WINDOW_S):
        self.events_in = RateMeter(window)
        self.events_out = RateMeter(window)
        self.dead_letters = 0
        self._in_flight: dict[str, float] = {}   # batch -> Kafka timestamp of its oldest unwritten message

    def taken(self, n: int, oldest_timestamp: float, now: float, batch: str = "score_touches") -> None:
        self.events_in.add(n, now)
        self._in_flight[batch] = oldest_timestamp

    def flushed(self, n: int, dead_letters: int, now: float, batch: str = "score_touches") -> None:
        self.events_out.add(n, now)
        self.dead_letters += dead_letters
        self._in_flight.pop(batch, None)

    def oldest_unflushed_s(self, now: float) -> float:
        return max((now - t for t in self._in_flight.values()), default=0.0)


async def consumer_lag(settings: Settings, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> list[PartitionLag]:
    """Per partition of the touches topic: the group's committed offset, the log end, and the gap."""
    name = settings.topic(topics.TOUCHES)
    partitions = consumer.partitions_for_topic(name) or await partitions_of(admin, name)
    tps = [TopicPartition(name, p) for p in sorted(partitions)]
    if not tps:
        return []
    ends = await consumer.end_offsets(tps)
    committed = await admin.list_consumer_group_offsets(settings.app_id, partitions=tps)
    out = []
    for tp in tps:
        meta = committed.get(tp)
        # Nothing committed yet: the group starts at the earliest offset (0), so everything is lag.
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        out.append(PartitionLag(tp.partition, done, ends[tp], max(ends[tp] - done, 0)))
    return out


class KafkaLag:
    """A long-lived offsets reader (a consumer without a group, and an admin client)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    async def read(self) -> list[PartitionLag]:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap, enable_auto_commit=False,
                                        client_id="pulse-health")
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.bootstrap, client_id="pulse-health")
            try:
                await consumer.start()
                await admin.start()
            except BaseException:  # the broker is away (or the read timed out): close both, or each
                for client in (consumer, admin):  # one left behind logs "Unclosed ..." when collected
                    try:
                        await (client.stop() if client is consumer else client.close())
                    except Exception:
                        pass
                raise
            self._consumer, self._admin = consumer, admin
        return await consumer_lag(self.settings, self._consumer, self._admin)

    async def close(self) -> None:
        consumer, admin, self._consumer, self._admin = self._consumer, self._admin, None, None
        for client in (consumer, admin):
            if client is not None:
                try:
                    await (client.stop() if client is consumer else client.close())
                except Exception:  # closing a client of a broker that went away
                    pass


async def read_lag_once(settings: Settings, timeout: float = 5.0) -> list[PartitionLag]:
    lag = KafkaLag(settings)
    try:
        return await asyncio.wait_for(lag.read(), timeout)
    finally:
        await lag.close()


class HealthService:
    """GET /health (JSON reading), the row timer, and with fault injection on (and only then)
    POST /admin/sink-outage?seconds=N with the fault token (the test/ops hook)."""

    def __init__(self, settings: Settings, monitor: HealthMonitor, writer, switch: OutageSwitch | None,
                 make_client, counters=lambda: (0, 0, 0)):
        self.settings = settings
        self.monitor = monitor
        self.writer = writer            # ClickHouseWriter: its .state and .last_error
        self.switch = switch            # None unless settings.fault_injection
        self.counters = counters        # () -> (written, duplicates, forwarded)
        self._make_client = make_client
        self._client = None
        self._lag = KafkaLag(settings)
        self._partitions: list[PartitionLag] = []
        self._broker_state = "starting"
        self._broker_down_since: float | None = None
        self._broker_reminded = 0.0
        self._runner: web.AppRunner | None = None
        # Health rows get their own connection and thread: the sink thread may be blocked retrying.
        self._executor = threads.executor("pulse-health")
        self._writing: asyncio.Future | None = None
        self._write_failed = False

    def reading(self) -> HealthReading:
        now = time.time()
        written, duplicates, forwarded = self.counters()
        return HealthReading(
            at=datetime.now(timezone.utc),
            worker=self.settings.worker_id,
            events_in_per_s=round(self.monitor.events_in.rate(now), 3),
            events_out_per_s=round(self.monitor.events_out.rate(now), 3),
            consumer_lag=sum(p.lag for p in self._partitions),
            oldest_unflushed_s=round(self.monitor.oldest_unflushed_s(now), 3),
            dead_letters=self.monitor.dead_letters,
            sink_state=self.writer.state,
            last_error=self.writer.last_error,
            broker_state=self._broker_state,
            partitions=list(self._partitions),
            written=written,
            duplicates=duplicates,
            forwarded=forwarded,
            outage_remaining_s=None if self.switch is None else round(self.switch.remaining(), 3),
        )

    # -- HTTP ------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        if self.switch is not None:  # no fault injection: no route (404), not a refusing one
            app.router.add_post("/admin/sink-outage", self._outage)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.settings.sql_host, self.settings.health_port).start()
        except OSError as exc:  # health is not worth losing ingestion over: say so and carry on
            log.error("health endpoint not started on %s:%d: %s (set PULSE_HEALTH_PORT)",
                      self.settings.sql_host, self.settings.health_port, exc)
            return
        log.info("health on http://%s:%d/health", self.settings.sql_host, self.settings.health_port)

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(body=encode(self.reading()), content_type="application/json")

    async def _outage(self, request: web.Request) -> web.Response:
        try:
            check_fault_token(request.headers.get("Authorization"), request.headers.get("X-Pulse-Fault-Token"),
                              self.settings.fault_token)
            seconds = outage_seconds(request.query.get("seconds"), self.settings.fault_max_seconds)
        except FaultRequestError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="pulse fault injection"'} if exc.status == 401 else None
            return web.json_response({"error": str(exc), "problems": [{"field": exc.field, "reason": exc.reason}]},
                                     status=exc.status, headers=headers)
        self.switch.fail_for(seconds)
        log.warning("fault injection: sink inserts will fail for %.0f s (POST /admin/sink-outage from %s)",
                    seconds, request.remote)
        return web.json_response({"sink_outage_s": seconds})

    # -- the timer ---------------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(READING_INTERVAL_S)

    async def tick(self) -> None:
        try:
            self._partitions = await asyncio.wait_for(self._lag.read(), 5.0)
            self._kafka_is("ok")
        except Exception as exc:  # the broker is away: report it, keep the last lag figures
            self._kafka_is(f"error: {str(exc) or type(exc).__name__}")
            await self._lag.close()
        if self._writing is None or self._writing.done():
            reading = self.reading()
            self._writing = asyncio.get_running_loop().run_in_executor(self._executor, self._write, reading)

    def _kafka_is(self, state: str, now: float | None = None) -> None:
        """Say that Kafka went away once, then once per interval while it stays away, and when it is back
        (the Kafka client's own complaints are held back to as few lines: streams/quiet_logs.py)."""
        now = time.monotonic() if now is None else now
        if state == "ok":
            if self._broker_down_since is not None:
                log.warning("Kafka is reachable again after %.0f s; consuming resumes where it stopped",
                            now - self._broker_down_since)
            self._broker_down_since = None
        elif self._broker_down_since is None:
            self._broker_down_since = self._broker_reminded = now
            log.error("Kafka is unreachable (%s): waiting for it; nothing is committed meanwhile", state)
        elif now - self._broker_reminded >= quiet_logs.INTERVAL_S:
            self._broker_reminded = now
            log.error("Kafka still unreachable after %.0f s (%s)", now - self._broker_down_since, state)
        self._broker_state = state

    def _write(self, reading: HealthReading) -> None:
        try:
            if self._client is None:
                self._client = self._make_client()
            write_reading(self._client, self.settings.database, reading)
            if self._write_failed:
                log.info("health readings are written again")
            self._write_failed = False
        except Exception as exc:  # ClickHouse away: the endpoint still answers; log once per outage
            if not self._write_failed:
                log.warning("could not write a pipeline_health row: %s", exc)
            self._write_failed = True

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        await self._lag.close()
        self._executor.shutdown(wait=False, cancel_futures=True)


STOP_DEADLINE_S = 4.0  # the worker is gone within 5 s of SIGTERM, whatever Kafka or ClickHouse do


def exit_promptly_at_stop_signal(worker, writer, deadline_s: float = STOP_DEADLINE_S) -> None:
    """SIGTERM or Ctrl-C while ClickHouse refuses writes: exit at once, committing nothing; otherwise
    stop gracefully, but exit all the same if that takes over `deadline_s` (Kafka away, say).

    Faust's graceful stop first waits for the agent, that is for ClickHouse, however long it is away,
    then for Kafka (the last commit, the producer's flush, leaving the group), which retries for minutes
    when the broker is gone; and a batch abandoned any other way would be acked, so committed, unwritten.
    Exiting like a crash is safe: nothing of the batch in flight was committed, the next worker reads it
    again, and the sink stores each event id once (what SIGKILL tests prove). A thread, not the event
    loop, keeps the deadline: the loop is what may be stuck. (Wraps the handlers of faust.Worker before
    it installs them at start.)
    """
    for name in ("_on_sigterm", "_on_sigint"):
        graceful = getattr(worker, name)

        def handler(graceful=graceful) -> None:
            if writer.state != "ok":
                _exit_now(f"stop requested while ClickHouse is unavailable ({writer.last_error})")
            if not any(isinstance(t, threading.Timer) and t.name == "pulse-stop-deadline"
                       for t in threading.enumerate()):
                why = f"the graceful stop took over {deadline_s:g} s (Kafka or ClickHouse away or slow)"
                deadline = threading.Timer(deadline_s, _exit_now, (why,))
                deadline.name, deadline.daemon = "pulse-stop-deadline", True
                deadline.start()
            graceful()

        setattr(worker, name, handler)


def _exit_now(why: str) -> None:
    log.error("%s: exiting now without committing the batch in flight; the next worker reads it again", why)
    logging.shutdown()
    os._exit(EXIT_SINK_UNAVAILABLE)


EXIT_SINK_UNAVAILABLE = 75  # EX_TEMPFAIL: try again later


def wire_health(app, pipeline, make_client) -> HealthService:
    """Start the endpoint and the timer as Faust tasks; with fault injection on, put the outage
    switch in front of the sink's client (otherwise the sink talks to ClickHouse directly)."""
    switch = None
    if pipeline.settings.fault_injection:
        switch = OutageSwitch()
        pipeline.writer.client = OutageClient(pipeline.writer.client, switch)
        log.warning("fault injection is on (PULSE_FAULT_INJECTION): POST /admin/sink-outage with the fault "
                    "token stops the sink's inserts for up to %g s; never in production",
                    pipeline.settings.fault_max_seconds)
    service = HealthService(pipeline.settings, pipeline.health, pipeline.writer, switch, make_client,
                            counters=lambda: (pipeline.written, pipeline.duplicates, pipeline.forwarded))

    @app.task
    async def serve_health():
        await service.start()
        await service.run()

    return service
