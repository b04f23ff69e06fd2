"""funnel_counts' visitors read a kept copy of the page views by person (0057_page_view_latest_by_person.sql) and
count each person by their last page-view day: the same figures as distinct people with a page view in each period
read from `events` (the previous SQL), whatever happens to the page views: cookies stitched to an email (the
cookie's views become the email's), re-classification as a bot and back, a batch delivered twice, versions arriving
in any order, merges, and erasure. (The report's plan: test_reports_in_order.py.)"""
from __future__ import annotations

import random
from datetime import timedelta

import msgspec

from sinks.erasure import ErasureStore
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter
from test_funnel_metrics import page_view
from test_funnel_views import NOW, change, store

# The previous visitors (before 0027): distinct people per period over every deduplicated touch.
REFERENCE = """
WITH toDate(now(), '{tz}') AS today,
     (SELECT groupArray(start) FROM (SELECT start FROM {db}.reporting_periods ORDER BY ordinal)) AS starts
SELECT arrayJoin(arrayZip(
    (SELECT groupArray(period) FROM (SELECT period FROM {db}.reporting_periods ORDER BY ordinal)),
    [uniqExactIf(person, day >= starts[1]), uniqExactIf(person, day >= starts[2]), uniqExactIf(person, day >= starts[3]),
     uniqExactIf(person, day >= starts[4]), uniqExactIf(person, day >= starts[5])]))
FROM {db}.events
WHERE type = 'page_view' AND person != '' AND traffic = 'person' AND day BETWEEN arrayMin(starts) AND today
"""
VISITORS = "SELECT (period, visitors) FROM {db}.funnel_counts WHERE source = 'all' AND stage = 'lead' ORDER BY period"
EMAILS = [f"e{i}@x.com" for i in range(8)]
COOKIES = [f"c{i}" for i in range(10)]


def check(client, settings) -> list[tuple]:
    db = settings.database
    refresh_reports(client, db, only=("funnel_counts",))
    got = [r[0] for r in client.query(VISITORS.format(db=db)).result_rows]
    assert got == sorted(r[0] for r in client.query(REFERENCE.format(db=db, tz=settings.reporting_tz)).result_rows)
    return got


def version(row, **changed):
    """A new version of a stored page view, as streams/core/score.py rescore writes it."""
    return msgspec.structs.replace(row, retracts=1, prev_account_id=row.account_id, prev_person=row.person,
                                   prev_minutes=row.minutes, prev_base_minutes=row.base_minutes, **changed)


def test_visitors_follow_stitching_reclassification_and_erasure(engine):
    client, settings = engine
    db, rng = settings.database, random.Random(27)
    store(client, db, [change("e0@x.com", "lead", NOW - timedelta(days=3))])  # the funnel has rows
    writer = ClickHouseWriter(client, db, "w-visits")
    writer.start()
    views = [page_view(p, -rng.choice([0, 0, 1, 20, 45, 100, 200, 364, 400]), email=p in EMAILS)
             for p in rng.choices(EMAILS + COOKIES + [""], k=120)]
    writer.write(views)
    writer.write(views[:40])  # delivered again: nothing more stored
    before = check(client, settings)
    assert before[-1][1] > 0
    # c0..c4 identified as e0..e4: their views count for the email now (earlier ones too), the cookie is gone
    stitched = [version(v, person=f"e{v.anonymous_id[1:]}@x.com", method="stitched")
                for v in views if v.anonymous_id in {"c0", "c1", "c2", "c3", "c4"}]
    writer.replace(stitched)
    after_stitch = check(client, settings)
    assert after_stitch != before  # five cookies left, no email came in new: fewer people
    current = {r.event_id: r for r in writer.stored("type = 'page_view'")}
    bots = [version(r, traffic="bot", minutes=r.minutes * 0) for r in current.values() if r.person in ("c5", "e1@x.com")]
    writer.replace(bots)
    check(client, settings)
    current = {r.event_id: r for r in writer.stored("type = 'page_view'")}
    writer.replace([version(r, traffic="person") for r in current.values() if r.person == "c5"])  # c5 a person again
    check(client, settings)
    for table in ("page_view_latest", "touches"):
        client.command(f"OPTIMIZE TABLE {db}.{table} FINAL")
    check(client, settings)
    erasure = ErasureStore(client, db)
    emails, cookies = erasure.linked({"e2@x.com", "e6@x.com"}, {"c6"})
    erasure.erase(emails, cookies, [])
    assert client.query(f"SELECT count() FROM {db}.page_view_latest WHERE person IN ('e2@x.com', 'e6@x.com', 'c6')"
                        ).result_rows == [(0,)]
    check(client, settings)


def test_visitors_are_the_same_whatever_order_the_versions_arrive_in(engine):
    """Page views moved at random between people (and to bots and back) over several versions; the kept copy
    is then fed every stored version again through its views, newest first: the tombstones keep each person's
    page views what the latest versions say."""
    client, settings = engine
    db, rng = settings.database, random.Random(57)
    store(client, db, [change("e0@x.com", "lead", NOW - timedelta(days=3))])
    writer = ClickHouseWriter(client, db, "w-moves")
    writer.start()
    people = EMAILS + COOKIES
    writer.write([page_view(p, -rng.choice([0, 1, 20, 45, 100, 200, 364]), email=p in EMAILS)
                  for p in rng.choices(people, k=80)])
    for _ in range(4):
        current = list(writer.stored("type = 'page_view'"))
        writer.replace([version(r, person=rng.choice(people), traffic=rng.choice(["person", "person", "bot"]))
                        for r in rng.sample(current, 30)])
    expected = check(client, settings)
    versions = [v for (v,) in client.query(f"SELECT DISTINCT version FROM {db}.touches WHERE type = 'page_view' "
                                           f"ORDER BY version DESC").result_rows]
    assert len(versions) == 5
    client.command(f"TRUNCATE TABLE {db}.page_view_latest")
    for v in versions:  # (the same rows as stored: without insert_deduplicate = 0 the block would be dropped)
        client.command(f"INSERT INTO {db}.touches SELECT * FROM {db}.touches WHERE type = 'page_view' AND version = {v}",
                       settings={"insert_deduplicate": 0})
    assert check(client, settings) == expected
    moved = client.query(f"SELECT count() FROM {db}.page_view_latest WHERE is_deleted = 1").result_rows[0][0]
    assert moved > 0  # the moves left tombstones, which the check above had to honour

