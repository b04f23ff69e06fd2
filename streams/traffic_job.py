"""Traffic classification by behaviour (issue 19): what one touch cannot say about itself.

The rules run as one query over the stored touches (sinks/traffic_sql.py), by event time: more than
PULSE_BOT_MAX_VIEWS_PER_MINUTE page views of a cookie in a minute, a cookie that never engages,
email opens and clicks within PULSE_SCANNER_SECONDS of the email's first open, several links of one
email clicked within those seconds. Each verdict that changed is written as a new version of the
touch, re-scored with it (0 minutes, flagged), exactly as a weights change re-scores; a verdict that
no longer holds (a late heartbeat, a changed setting) gives the touch back its minutes.

So the verdicts do not depend on arrival order, replays or duplicates: they depend on what is stored.
They are eventual: a touch counts from its arrival until the next pass (every `every` seconds) sees it.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

from clickhouse_connect.driver.client import Client

from sinks import threads
from sinks.store import Store
from sinks.writer import ClickHouseWriter
from streams.core.score import Scoring, rescore
from streams.core.traffic import TrafficRules, Verdict

log = logging.getLogger("pulse.traffic")
CHUNK = 20_000
# The touches stored since the last pass that one query of the pass judges at most, in whole days (a day
# above it is judged in slices of its groups): after a bulk load or a long backlog, one query over all of it
# held 18 GB at 100M.
BATCH_TOUCHES = 500_000
ALL_DAYS = (date(1970, 1, 1), date(2149, 6, 6), 1, 0)  # the range of ClickHouse's Date, whole


def rules_of(settings) -> TrafficRules:
    return TrafficRules.of(settings.internal_domains, settings.internal_ip_ranges, settings.mpp_ip_ranges_file,
                           settings.bot_max_views_per_minute, settings.scanner_seconds)


def reclassify(writer: ClickHouseWriter, scoring: Scoring, since: date) -> int:
    """One pass over the stored touches from reporting day `since`, all on the sink thread (`pulse
    rescore`). Returns the number of touches written again."""
    rules = scoring.traffic
    return apply_verdicts(writer, scoring,
                          writer.store.behaviour_verdicts(since, rules.max_views_per_minute, rules.scanner_seconds))


def apply_verdicts(writer: ClickHouseWriter, scoring: Scoring, changed: list[tuple]) -> int:
    """Write the touches whose behaviour verdict changed, re-scored with it; on the sink thread. The
    stored row is read again here, so a verdict computed a moment ago on another session meets the
    latest version (an unchanged one writes nothing)."""
    written = 0
    for start in range(0, len(changed), CHUNK):
        part = changed[start:start + CHUNK]
        verdicts = {event_id: Verdict(traffic, reason) if reason else None for event_id, traffic, reason in part}
        rows = writer.stored("event_id IN %(ids)s", {"ids": list(verdicts)})
        versions = [v for v in (rescore(r, scoring, verdicts.get(r.event_id)) for r in rows) if v is not None]
        written += writer.replace(versions)
    if written:
        log.info("traffic: %d stored touches re-classified by behaviour", written)
    return written


def day_batches(per_day: list[tuple[date, int]], limit: int) -> list[tuple[date, date, int, int]]:
    """The parts a pass judges in turn, as (first day, last day, slices, slice): ranges of consecutive days of
    `per_day` ((day, touches), by day) that hold at most `limit` touches each (1 slice); a day above the limit
    alone, in ceil(touches / limit) slices of its groups. A slice holds a share of the day's groups whole, so
    its verdicts are exact; a day judged in one query held 4.9 GB after a burst of 2M touches at 100M."""
    batches: list[tuple[date, date, int, int]] = []
    first = last = None
    total = 0
    for day, touches in per_day:
        if first is not None and total + touches > limit:
            batches.append((first, last, 1, 0))
            first, total = None, 0
        if touches > limit:
            slices = -(-touches // limit)
            batches.extend((day, day, slices, index) for index in range(slices))
            continue
        first, last, total = first or day, day, total + touches
    if first is not None:
        batches.append((first, last, 1, 0))
    return batches


def first_day(now: datetime, tz: ZoneInfo, days: int) -> date:
    return now.astimezone(tz).date() - timedelta(days=days - 1)


class TrafficClassification:
    """The behaviour pass on a clock, on the leader only (two workers must not write the same version):
    every group the rules judge (a cookie's or an address's page views of a day, an email's opens and
    clicks of a day and campaign) that took a touch since the last pass, whatever its day (a late
    arrival, a replay or a backfill of any worker), by when it was stored: a worker behind its backlog
    stores touches the hooks took long before. A verdict depends on its group's touches only, so
    no other changes; a pass costs what arrived, not the days it arrived on (issue 17).

    The verdicts are read on a session and thread of its own, so the sink thread only writes the few
    touches whose verdict changed.
    """

    every = 30.0

    def __init__(self, pipeline, make_client: Callable[[], Client]):
        self.pipeline = pipeline
        self.make_client = make_client
        self.executor = threads.executor("pulse-traffic")
        self.store: Store | None = None  # opened on first use: a worker that never leads never opens it
        # where a store has no mark yet (its first pass, or history from before 0049), a day back
        self.first_look = datetime.now(timezone.utc) - timedelta(days=1)

    async def __call__(self) -> None:
        p = self.pipeline
        if p.writer.state != "ok":
            return
        now = datetime.now(timezone.utc)
        loop = asyncio.get_running_loop()
        since = await loop.run_in_executor(self.executor, self._with_store, self.since)
        batches = await loop.run_in_executor(self.executor, self._with_store, self.batches, since)
        if len(batches) > 1:
            log.info("traffic: judging a backlog in %d parts, days %s to %s", len(batches), batches[0][0],
                     batches[-1][1])
        for part in batches:  # each part's verdicts written before the next is read: memory stays one part's
            changed = await loop.run_in_executor(self.executor, self._with_store, self.verdicts, since, part)
            if changed:
                await p.in_sink(apply_verdicts, p.writer, p.scoring, changed)
        # only once done: after a failure, a restart or a new leader, the next pass looks from the same point
        await loop.run_in_executor(self.executor, self._with_store, Store.set_traffic_mark, now)

    def since(self, store: Store) -> datetime:
        """The groups stored from when the last finished pass began on are judged (the store's mark, so a
        restart or a new leader resumes there), less a margin: clocks a little apart, batches written while
        that pass ran."""
        return (store.traffic_mark() or self.first_look) - timedelta(seconds=60)

    def batches(self, store: Store, stored_since: datetime) -> list[tuple[date, date, int, int]]:
        """The parts one pass judges in turn, BATCH_TOUCHES of the touches stored since then each (day_batches)."""
        return day_batches(store.traffic_stored_per_day(stored_since), BATCH_TOUCHES)

    def verdicts(self, store: Store, stored_since: datetime, part: tuple[date, date, int, int] = ALL_DAYS
                 ) -> list[tuple]:
        rules = self.pipeline.scoring.traffic
        return store.behaviour_verdicts_stored(stored_since, part, rules.max_views_per_minute, rules.scanner_seconds)

    def _with_store(self, fn, *args):
        if self.store is None:
            self.store = Store(self.make_client(), self.pipeline.settings.database)
        try:
            return fn(self.store, *args)
        except Exception:
            # a failed query may leave the session unusable: a new one next time
            self.store.client.close()
            self.store = None
            raise
