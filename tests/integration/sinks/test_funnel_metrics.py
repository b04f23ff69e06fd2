"""The funnel metrics on the real engine (issue 16), against numbers worked out by hand, as tables:
lifecycle_history under skipped and backward stages, `other`, late and duplicate changes; cohort
conversion (funnel_conversion) against period counts (funnel_counts) at each period's first day and
the day before; time in stage (a skipped stage has none); visit-to-lead; the split by first source."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from schemas.rows import TouchRow
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter
from test_funnel_views import NOW, TODAY, change, noon, period_starts, query, store, utc

H = timedelta(hours=1)
MIN = timedelta(minutes=1)

# case: (changes as (stage, hours ago, extra fields), lifecycle_history as
#        (stage, entered h ago, left h ago or None, skipped, owner))
HISTORY_CASES = {
    "skips": ([("lead", 10, {"owner": "rita"}), ("sql", 4, {})],
              [("subscriber", 10, 10, 1, "rita"), ("lead", 10, 4, 0, "rita"), ("mql", 4, 4, 1, "rita"),
               ("sql", 4, None, 0, "rita")]),
    "moves-back": ([("lead", 10, {}), ("customer", 6, {"owner": "sam"}), ("lead", 2, {"owner": "kim"})],
                   [("subscriber", 10, 10, 1, ""), ("lead", 10, 6, 0, ""), ("mql", 6, 6, 1, "sam"),
                    ("sql", 6, 6, 1, "sam"), ("opportunity", 6, 6, 1, "sam"), ("customer", 6, None, 0, "sam")]),
    "other": ([("other", 9, {"owner": "ola"}), ("lead", 5, {}), ("other", 1, {})],
              [("subscriber", 5, 5, 1, "ola"), ("lead", 5, None, 0, "ola")]),
    "only-other": ([("other", 3, {})], []),
    "back-and-forth": ([("mql", 8, {}), ("lead", 7, {}), ("mql", 6, {}), ("sql", 5, {"owner": "al"}),
                        ("mql", 1, {})],
                       [("subscriber", 8, 8, 1, ""), ("lead", 8, 8, 1, ""), ("mql", 8, 5, 0, ""),
                        ("sql", 5, None, 0, "al")]),
}


def _history_items(email: str, changes) -> list[dict]:
    return [change(email, stage, NOW - hours * H, **extra) for stage, hours, extra in changes]


def test_lifecycle_history_under_any_arrival_order_and_duplicates(engine):
    client, settings = engine
    db = settings.database
    rng = random.Random(7)
    arrivals = {"in-order": lambda items: items, "newest-first": lambda items: items[::-1],
                "shuffled-twice": lambda items: rng.sample(items, len(items)) + rng.sample(items, len(items))}
    for case, (changes, _) in HISTORY_CASES.items():
        for order, arrange in arrivals.items():
            for item in arrange(_history_items(f"{case}.{order}@x.com", changes)):
                store(client, db, [item])  # one chunk per change: the late ones really arrive late
    got: dict[str, list[tuple]] = {}
    refresh_reports(client, db, only=("lifecycle_history",))
    for person, stage, entered, left, skipped, owner in query(
            client, f"SELECT person, stage, entered_at, left_at, skipped, owner FROM {db}.lifecycle_history "
                    f"ORDER BY person, position"):
        got.setdefault(person, []).append((stage, entered, left, skipped, owner))
    for case, (_, expected) in HISTORY_CASES.items():
        want = [(s, utc(NOW - e * H), None if left is None else utc(NOW - left * H), k, o)
                for s, e, left, k, o in expected]
        for order in arrivals:
            assert got.get(f"{case}.{order}@x.com", []) == want, (case, order)


def test_cohort_against_period_counting_at_the_period_edges(engine):
    client, settings = engine
    db = settings.database
    starts = period_starts(TODAY)
    # `in-<p>` becomes a lead on the first day of period p, `out-<p>` the day before; both reach mql a
    # minute ago. The cohort of p (lead -> mql) holds the leads of p; the period count of mql holds all ten.
    items = []
    for p, start in starts.items():
        items += [change(f"in-{p}@x.com", "lead", min(noon(start), NOW - 2 * MIN)),
                  change(f"out-{p}@x.com", "lead", noon(start - timedelta(days=1))),
                  change(f"in-{p}@x.com", "mql", NOW - MIN), change(f"out-{p}@x.com", "mql", NOW - MIN)]
    store(client, db, items)
    refresh_reports(client, db, only=("funnel_conversion", "funnel_counts"))
    conversion = {r[0]: r[1:] for r in query(
        client, f"SELECT period, entered, converted, conversion_rate FROM {db}.funnel_conversion "
                f"WHERE source = 'all' AND from_stage = 'lead' AND to_stage = 'mql'")}
    counts = {(r[0], r[1]): r[2] for r in query(
        client, f"SELECT period, stage, reached FROM {db}.funnel_counts WHERE source = 'all'")}
    cohorts = {(r[0], r[1]): r[2:] for r in query(
        client, f"SELECT period, to_stage, entered, converted FROM {db}.funnel_conversion "
                f"WHERE source = 'all' AND from_stage = 'mql'")}
    for p, start in starts.items():
        leads = sum(1 for s in starts.values() if s >= start) + sum(
            1 for s in starts.values() if s - timedelta(days=1) >= start)
        assert conversion[p] == (leads, leads, Decimal("1.0000") if leads else None), p
        assert counts[(p, "lead")] == leads, p
        assert counts[(p, "mql")] == 10, p  # period counting: everyone reached mql today
        assert cohorts[(p, "sql")] == (10, 0), p  # the mql cohort, none has reached sql
        assert counts[(p, "sql")] == 0, p


# person: changes as (stage, hours ago); time in stage in hours, by hand:
#   lead -> mql (the next stage reached): 1, 2, 3 (t3 skipped mql: its lead ends at sql), 6, 49
#   mql -> sql: t4's 3 only (t3 was never in mql); lead -> sql (cumulative): t3's 3, t4's 9
TIME_CASES = {
    "t1": [("lead", 10), ("mql", 9)],
    "t2": [("lead", 10), ("mql", 8)],
    "t3": [("lead", 10), ("sql", 7)],
    "t4": [("lead", 10), ("mql", 4), ("sql", 1)],
    "t5": [("lead", 50), ("mql", 1)],
}
TIME_EXPECTED = {  # (from, to): (moved_on, avg hours, median hours)
    ("lead", "mql"): (5, Decimal(61) / 5, Decimal(3)),
    ("mql", "sql"): (1, Decimal(3), Decimal(3)),
    ("lead", "sql"): (2, Decimal(6), Decimal(6)),
    ("subscriber", "lead"): (0, None, None),  # everyone skipped subscriber
    ("sql", "opportunity"): (0, None, None),
}


def days(hours: Decimal | None) -> Decimal | None:
    return None if hours is None else (hours / 24).quantize(Decimal("0.0001"))


def test_time_in_stage_in_decimal_days_over_people_who_moved_on(engine):
    client, settings = engine
    db = settings.database
    store(client, db, [change(f"{p}@x.com", stage, NOW - hours * H) for p, changes in TIME_CASES.items()
                       for stage, hours in changes])
    # 365d holds every move (the latest 1 h ago, the earliest change 50 h ago)
    refresh_reports(client, db, only=("funnel_conversion",))
    rows = {(r[0], r[1]): r[2:] for r in query(
        client, f"SELECT from_stage, to_stage, moved_on, avg_days, median_days FROM {db}.funnel_conversion "
                f"WHERE period = '365d' AND source = 'all'")}
    for step, (moved, avg, median) in TIME_EXPECTED.items():
        assert rows[step] == (moved, days(avg), days(median)), step
    # one more lead of 1 h: six times, 1 1 2 3 6 49, whose median is the mean of the middle two, 2.5 h
    store(client, db, [change("e1@x.com", "lead", NOW - 10 * H), change("e1@x.com", "mql", NOW - 9 * H)])
    refresh_reports(client, db, only=("funnel_conversion",))
    median = query(client, f"SELECT moved_on, median_days FROM {db}.funnel_conversion WHERE period = '365d' "
                           f"AND source = 'all' AND from_stage = 'lead' AND to_stage = 'mql'")
    assert median == [(6, days(Decimal("2.5")))]


def page_view(person: str, day_offset: int, email: bool = True) -> TouchRow:
    at = noon(TODAY + timedelta(days=day_offset)) if day_offset else NOW - MIN
    return TouchRow(uuid.uuid4(), "page_view", at, at, at.date(), "", person, "domain", "web", "",
                    Decimal("0.25"), Decimal("0.25"), 0, person if email else "", "" if email else person, "", "/", "{}")


def test_visit_to_lead_rate_per_period(engine):
    client, settings = engine
    db = settings.database
    starts = period_starts(TODAY)
    # today: 4 distinct visitors (an email, three cookies, one cookie twice), 2 new leads;
    # 40 days ago: one more visitor and one more lead; 400 days ago: in no period. IP-only views count no one.
    views = [page_view("a@x.com", 0), page_view("c1", 0, email=False), page_view("c1", 0, email=False),
             page_view("c2", 0, email=False), page_view("c3", 0, email=False), page_view("", 0, email=False),
             page_view("b@x.com", -40), page_view("old@x.com", -400)]
    writer = ClickHouseWriter(client, db, "views")
    writer.start()
    writer.write(views)
    store(client, db, [change("a@x.com", "lead", NOW - MIN), change("n@x.com", "mql", NOW - MIN),
                       change("b@x.com", "lead", noon(TODAY - timedelta(days=40))),
                       change("old@x.com", "lead", noon(TODAY - timedelta(days=400)))])
    refresh_reports(client, db, only=("funnel_counts",))
    rows = {r[0]: r[1:] for r in query(
        client, f"SELECT period, reached, visitors, visit_to_lead_rate FROM {db}.funnel_counts "
                f"WHERE source = 'all' AND stage = 'lead'")}
    for p, start in starts.items():
        back = TODAY - timedelta(days=40) >= start
        leads, visitors = 2 + back, 4 + back
        assert rows[p] == (leads, visitors, (Decimal(leads) / visitors).quantize(Decimal("0.0001"))), p
    others = query(client, f"SELECT count() FROM {db}.funnel_counts WHERE stage != 'lead' "
                           f"AND (visitors IS NOT NULL OR visit_to_lead_rate IS NOT NULL)")
    assert others == [(0,)]


def test_every_metric_splits_by_the_source_of_the_first_change(engine):
    client, settings = engine
    db = settings.database
    # m1, m2: marketing (m2's later change says sales: the first change decides); s1: sales; n1: no source
    store(client, db, [
        change("m1@x.com", "lead", NOW - 5 * H, source="marketing"), change("m1@x.com", "mql", NOW - 3 * H),
        change("m2@x.com", "lead", NOW - 4 * H, source="marketing"),
        change("m2@x.com", "sql", NOW - 2 * H, source="sales"),
        change("s1@x.com", "lead", NOW - 6 * H, source="sales"),
        change("n1@x.com", "mql", NOW - 1 * H)])
    refresh_reports(client, db, only=("funnel_counts", "funnel_conversion"))
    counts = {(r[0], r[1]): r[2] for r in query(
        client, f"SELECT source, stage, reached FROM {db}.funnel_counts WHERE period = '365d'")}
    assert {s for s, _ in counts} == {"all", "marketing", "sales", ""}
    expected = {  # source: (lead, mql, sql)
        "all": (4, 3, 1), "marketing": (2, 2, 1), "sales": (1, 0, 0), "": (1, 1, 0)}
    for source, (lead, mql, sql) in expected.items():
        assert (counts[(source, "lead")], counts[(source, "mql")], counts[(source, "sql")]) == (lead, mql, sql)
    conversion = {(r[0], r[1], r[2]): r[3:] for r in query(
        client, f"SELECT source, from_stage, to_stage, entered, converted, conversion_rate, moved_on, avg_days "
                f"FROM {db}.funnel_conversion WHERE period = '365d'")}
    assert conversion[("marketing", "lead", "mql")] == (2, 2, Decimal("1.0000"), 2, days(Decimal(2)))  # 2 h, 2 h
    assert conversion[("sales", "lead", "mql")] == (1, 0, Decimal("0.0000"), 0, None)
    assert conversion[("all", "lead", "mql")] == (4, 3, Decimal("0.7500"), 2, days(Decimal(2)))
    assert conversion[("", "lead", "sql")] == (1, 0, Decimal("0.0000"), 0, None)  # n1 skipped lead: 0 days, not in
    assert conversion[("all", "lead", "sql")][:3] == (4, 1, Decimal("0.2500"))
