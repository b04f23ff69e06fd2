"""The worker's periodic jobs, each a small class that owns its state; `on_clock` keeps a failing
tick from stopping the worker."""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Callable

from clickhouse_connect.driver.client import Client

from sinks import threads
from sinks.store import Store
from streams import attribution, stages
from streams.pipeline import Pipeline

log = logging.getLogger("pulse.worker")


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


class IdentitySync:
    """Identity links another worker stored (shared ClickHouse), learnt every few seconds.

    Each worker learns identifies from its own partitions; on a shared store another worker may hold
    the identify of a cookie whose touches reach this one.
    """

    every = 5.0
    # A link's stored_at is when its insert began: one that took long (a busy store) becomes visible
    # with an earlier stamp. Links are re-read over this margin; learning one twice changes nothing.
    margin = timedelta(seconds=60)
    # Chunks scored before a link was learnt may be stored after its re-stitch (they wait in the sink
    # queue): the cookies are re-stitched again at this many later ticks (only changed rows are written).
    again = 2

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self.synced = datetime.now(timezone.utc)
        self.recent: deque[set[str]] = deque(maxlen=self.again + 1)

    async def __call__(self) -> None:
        since, now = self.synced - self.margin, datetime.now(timezone.utc)
        links = await self.pipeline.in_sink(lambda: self.pipeline.writer.store.identity_links_since(since))
        self.synced = now  # only once read: after a failed read the next tick asks from the same point
        # learnt here, between two scorings (see registry_changes), then re-stitched on the sink thread
        self.recent.append(self.pipeline.scoring.identities.learn_links(links))
        cookies = set().union(*self.recent)
        if cookies:
            await self.pipeline.in_sink(attribution.restitch, self.pipeline.writer, cookies, self.pipeline.scoring)


class StageEvaluation:
    """Stages from the latest engagement, published when they change; on the leader only.

    Incremental (stages.evaluate, issue 17): each tick re-folds and re-decides only the accounts whose
    engagement changed since the last one, and at a day boundary those whose windows lost a day; the
    first tick (and one after a change of the scoring settings) reads every account's engagement
    (minutes on a large store). So it runs on a thread and a session of its own: on the sink thread it
    held back every chunk behind it. It writes only snapshots, the account-day rollup, the kept
    per-person sums and stage_changes, which nothing on the sink thread reads or writes.
    """

    # Looked at every second and run when due (stages.evaluate says when), so a stage change waits for no
    # timer's turn. The tick runs as a task of its own, one at a time: the timer never overlaps it.
    every = 1.0
    # How long a tick waits for Kafka to acknowledge the changes it sent before it gives up (and records none)
    ACK_TIMEOUT_S = 15.0

    def __init__(self, pipeline: Pipeline, make_client: Callable[[], Client], publish):
        self.pipeline = pipeline
        self.make_client = make_client
        self.publish = publish  # async (StageChange) -> the delivery's future (Kafka's acknowledgement)
        self.executor = threads.executor("pulse-stages")
        self.store: Store | None = None  # opened on first use: a worker that never leads never opens it
        self.next_at = 0.0
        self.sending: list[asyncio.Future] = []  # deliveries of an earlier tick still without an answer
        self.running: asyncio.Future | None = None
        self._logged_tick = on_clock("stage evaluation")(self.tick)

    async def __call__(self) -> None:
        # stages also fall as time passes, so they are re-evaluated on a clock, not only on new touches
        if self.running is not None and not self.running.done():
            return
        if time.monotonic() < self.next_at or self.pipeline.writer.state != "ok" or self._unanswered():
            # while the sink waits for ClickHouse nothing new is stored: leave the cores to the catch-up
            return
        self.running = asyncio.ensure_future(self._logged_tick())

    async def tick(self) -> None:
        now, started = datetime.now(timezone.utc), time.monotonic()
        evaluated = await self._run(stages.evaluate, now)
        self.next_at = started + evaluated.wait
        changes = await self._run(stages.detect, evaluated.at)
        if changes:
            await self._deliver(changes)
            await self._run(stages.record, changes)

    async def _deliver(self, changes: list[stages.StageChange]) -> None:
        """Send every change, then wait for Kafka to acknowledge all of them. Only then may they be recorded:
        a change recorded but never delivered (the broker away, the worker killed meanwhile) is never sent
        again, since the next tick finds it recorded. Unanswered, nothing is recorded and a later tick sends
        the changes again (consumers dedupe on change_id)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ACK_TIMEOUT_S
        self.sending = []
        try:  # queueing waits too when the producer has no metadata of the topic yet (a broker away)
            await asyncio.wait_for(self._queue(changes), self.ACK_TIMEOUT_S)
            answered, waiting = await asyncio.wait(self.sending, timeout=max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:  # not every change was even queued in time: all of them still wait
            answered, waiting = set(), set(changes)
        refused = next((f.exception() for f in answered if not f.cancelled() and f.exception()), None)
        if waiting or refused:
            why = f"no answer within {self.ACK_TIMEOUT_S:g} s" if waiting else repr(refused)
            raise RuntimeError(f"Kafka did not acknowledge {len(changes)} stage changes ({why}): none recorded, "
                               "they are sent again once Kafka answers")

    async def _queue(self, changes: list[stages.StageChange]) -> None:
        for change in changes:
            self.sending.append(await self.publish(change))

    def _unanswered(self) -> bool:
        """Changes sent at an earlier tick still wait for Kafka's answer: no more copies until it comes."""
        self.sending = [f for f in self.sending if not f.done()]
        return bool(self.sending)

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._with_store, fn, *args)

    def _with_store(self, fn, *args):
        if self.store is None:
            self.store = Store(self.make_client(), self.pipeline.settings.database)
        try:
            return fn(self.store, *args)
        except Exception:
            # a failed query may leave the session unusable (or holding a half-read answer): a new one next time
            self.store.client.close()
            self.store = None
            raise


class DashboardSnapshots:
    """The dashboard's other snapshots (stages.snapshot_views: reach, channel awareness, the target accounts'
    channel trend, coverage); on the leader only. They read every account's 90 days, seconds on a large
    store, so they run on a thread and a session of their own, spaced by their own cost as a full stage
    evaluation is: on the stage job's thread they held back the next stage evaluation."""

    every = stages.EVERY_SECONDS

    def __init__(self, pipeline: Pipeline, make_client: Callable[[], Client]):
        self.pipeline = pipeline
        self.make_client = make_client
        self.executor = threads.executor("pulse-views")
        self.store: Store | None = None
        self.next_at = 0.0

    async def __call__(self) -> None:
        if time.monotonic() < self.next_at or self.pipeline.writer.state != "ok":
            return
        started = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(self.executor, self._snapshot, datetime.now(timezone.utc))
        self.next_at = started + (time.monotonic() - started) / stages.TIME_SHARE

    def _snapshot(self, now: datetime) -> None:
        if self.store is None:
            self.store = Store(self.make_client(), self.pipeline.settings.database)
        try:
            stages.snapshot_views(self.store, now)
        except Exception:
            self.store.client.close()  # a new session next time, as the stage job does
            self.store = None
            raise


class Report:
    """One log line of the worker's counters every few seconds."""

    every = 10.0

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline

    async def __call__(self) -> None:
        p = self.pipeline
        log.info("written=%d duplicates=%d rejected=%d forwarded=%d sink=%s", p.written, p.duplicates, p.rejected,
                 p.forwarded, p.writer.state)
