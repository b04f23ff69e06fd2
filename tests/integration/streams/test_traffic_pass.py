"""The traffic behaviour pass on the real engine (issue 17: a pass costs what arrived): it judges whole the groups
that took a touch since the last pass began, on any day; a backlog in parts of whole days; from the store's mark
after a restart."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from streams import traffic_job
from streams.core.score import score
from tests.traffic_cases import NOW, T0, mail_touch, page_view, query_rows, traffic_setup


async def _in_sink(fn, *args):
    return fn(*args)


def test_a_late_arrival_on_an_old_day_is_judged_at_the_next_pass(engine):
    """The job judges the groups that took a touch (stored) since its last pass, on any day."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    old = T0 - timedelta(days=9)
    job = traffic_job.TrafficClassification(SimpleNamespace(writer=writer, scoring=scoring, settings=settings),
                                            lambda: client)
    since = datetime.now(timezone.utc)
    writer.write(score([mail_touch(50, "open", old), mail_touch(51, "click", old + timedelta(seconds=3))], scoring,
                       datetime.now(timezone.utc)))  # stored now
    changed = job.verdicts(writer.store, since - timedelta(seconds=60))
    assert traffic_job.apply_verdicts(writer, scoring, changed) == 2
    assert query_rows(client, "SELECT DISTINCT traffic FROM {db}.events", settings.database) == [("scanner",)]
    # nothing stored since: the old day is not read again
    assert job.verdicts(writer.store, datetime.now(timezone.utc)) == []


def test_a_pass_judges_the_whole_group_that_took_a_touch_and_no_other(engine):
    """A cookie's day is judged again, all of it, when one more view of it is stored, however long ago the
    others were; a group that took nothing since the last pass is not read (issue 17: a pass costs what
    arrived). By when the touch was stored, not received: a worker behind its backlog stores touches the
    hooks took long before. The groups judged give the same verdicts as judging their whole days."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    job = traffic_job.TrafficClassification(SimpleNamespace(writer=writer, scoring=scoring, settings=settings),
                                            lambda: client)
    minute = T0.replace(second=0)
    busy = [page_view(4000 + i, minute + timedelta(seconds=i), "busy", engaged_seconds=5) for i in range(30)]
    other = [page_view(4100 + i, minute + timedelta(seconds=i), "other", engaged_seconds=5) for i in range(31)]
    before = datetime.now(timezone.utc)
    writer.write(score(busy + other, scoring, NOW))
    last_pass = datetime.now(timezone.utc)  # a pass as these were stored, missed (say the store was away)
    assert job.verdicts(writer.store, last_pass) == []
    busy.append(page_view(4030, minute + timedelta(seconds=30), "busy", engaged_seconds=5))
    writer.write(score(busy[-1:], scoring, NOW - timedelta(hours=2)))  # received two hours ago, stored now
    changed = job.verdicts(writer.store, last_pass)
    assert {event_id for event_id, _, _ in changed} == {v.event_id for v in busy}  # all 31, none of "other"
    assert {(traffic, reason) for _, traffic, reason in changed} == {("bot", "rate:31/min")}
    both = job.verdicts(writer.store, before)  # both groups stored since then
    assert {event_id for event_id, _, _ in both} == {v.event_id for v in busy + other}
    rules = scoring.traffic
    assert sorted(both) == sorted(writer.store.behaviour_verdicts(T0.date(), rules.max_views_per_minute,
                                                                  rules.scanner_seconds))  # as whole days


def test_a_backlog_is_judged_in_parts_of_whole_days_with_the_verdicts_of_one_pass(engine, monkeypatch):
    """After a bulk load or a long outage, the pass judges what was stored since in parts of whole days, each
    written before the next is read (at 100M, one query over all of it held 18 GB); the verdicts are those
    of one pass over everything."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)

    job = traffic_job.TrafficClassification(SimpleNamespace(writer=writer, scoring=scoring, settings=settings,
                                                            in_sink=_in_sink), lambda: client)
    minute = T0.replace(second=0)
    bots = [page_view(5000 + 100 * d + i, minute - timedelta(days=d, seconds=-i), f"bot{d}", engaged_seconds=5)
            for d in range(3) for i in range(31)]  # 31 views in a minute, on each of three days
    writer.write(score(bots, scoring, NOW))
    whole = job.verdicts(writer.store, job.first_look)
    assert {event_id for event_id, _, _ in whole} == {v.event_id for v in bots}
    monkeypatch.setattr(traffic_job, "BATCH_TOUCHES", 40)  # a day's 31, two days' 62
    days_read = []
    judge = writer.store.behaviour_verdicts_stored
    monkeypatch.setattr(type(writer.store), "behaviour_verdicts_stored",
                        lambda store, since, days, *rules: days_read.append(days) or judge(since, days, *rules))
    asyncio.run(job())
    assert days_read == [(d, d, 1, 0) for d in sorted({v.occurred_at.date() for v in bots})]
    assert query_rows(client, "SELECT traffic, count() FROM {db}.events GROUP BY traffic", settings.database) == [
        ("bot", 93)]


def test_a_day_above_the_limit_is_judged_in_slices_of_its_groups_with_the_verdicts_of_one_pass(engine,
                                                                                             monkeypatch):
    """A day that took more than a part's touches (a burst of 2M on today, at 100M: one query held 4.9 GB) is
    judged in slices of its groups, each group whole in one slice: the verdicts are those of one pass."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    job = traffic_job.TrafficClassification(SimpleNamespace(writer=writer, scoring=scoring, settings=settings,
                                                            in_sink=_in_sink), lambda: client)
    minute = T0.replace(second=0)
    views = [page_view(7000 + 100 * c + i, minute + timedelta(seconds=i), f"cookie{c}", engaged_seconds=5 * (c % 2))
             for c in range(8) for i in range(31 if c < 4 else 3)]  # 4 bots by rate, 2 that never engage, 2 people
    writer.write(score(views, scoring, NOW))
    whole = job.verdicts(writer.store, job.first_look)
    monkeypatch.setattr(traffic_job, "BATCH_TOUCHES", 40)  # the day's 136: 4 slices
    judged = []
    judge = writer.store.behaviour_verdicts_stored
    monkeypatch.setattr(type(writer.store), "behaviour_verdicts_stored",
                        lambda store, since, part, *rules: judged.append((part, judge(since, part, *rules))) or
                        judged[-1][1])
    asyncio.run(job())
    assert [part for part, _ in judged] == [(T0.date(), T0.date(), 4, k) for k in range(4)]
    by_slice = [{event_id for event_id, _, _ in got} for _, got in judged]
    assert sum(map(len, by_slice)) == len(set().union(*by_slice)) == len(whole) == 4 * 31 + 2 * 3
    assert set().union(*by_slice) == {event_id for event_id, _, _ in whole}
    assert sum(1 for s in by_slice if s) >= 2  # the groups are spread over the slices
    assert query_rows(client, "SELECT traffic, traffic_reason, count() FROM {db}.events GROUP BY ALL ORDER BY ALL",
                      settings.database) == [("bot", "no_engaged_seconds", 6), ("bot", "rate:31/min", 124),
                                             ("person", "", 6)]


def test_a_restarted_leader_resumes_the_pass_from_the_store_s_mark_not_a_day_back(engine):
    """How far the pass judged is kept in the store (traffic_marks): a restarted leader, or a worker taking the
    lead, judges what was stored since the last pass began, where it looked a day back and judged it all again
    (on the 100M bench's store, loaded within the day: every touch)."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)

    pipeline = SimpleNamespace(writer=writer, scoring=scoring, settings=settings, in_sink=_in_sink)
    first = traffic_job.TrafficClassification(pipeline, lambda: client)
    assert first.since(writer.store) <= datetime.now(timezone.utc) - timedelta(days=1)  # no mark: a day back
    minute = T0.replace(second=0)
    writer.write(score([page_view(6000 + i, minute + timedelta(seconds=i), "bot6", engaged_seconds=5)
                        for i in range(31)], scoring, NOW))
    began = datetime.now(timezone.utc)
    asyncio.run(first())
    assert query_rows(client, "SELECT DISTINCT traffic FROM {db}.events", settings.database) == [("bot",)]
    restarted = traffic_job.TrafficClassification(pipeline, lambda: client)
    assert began - timedelta(seconds=61) <= restarted.since(writer.store) <= datetime.now(timezone.utc)
