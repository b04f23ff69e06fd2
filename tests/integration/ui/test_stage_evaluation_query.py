"""Data health's stage evaluations (ui/queries_stages.py) on the real engine, against marks written as the
worker writes them (Store.set_stage_mark): the latest one, the count, median and longest of the last hour,
the most accounts decided, the longest gap between two starts, an hour-old mark left out, and no row at all
when none ran."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sinks.rebuild_steps import CLEARED, Plan, RebuildSteps
from sinks.stage_marks import Seen, epoch_ms
from sinks.store import Store
from ui.queries_stages import STAGE_EVALUATIONS, STAGE_REBUILD, since_ms

NOW = datetime.now(timezone.utc).replace(microsecond=0)
S = timedelta(seconds=1)


def rows(client, db: str) -> list[tuple]:
    return client.query(re.sub(r"\bFROM ([a-z_]+)", rf"FROM {db}.\1", STAGE_EVALUATIONS),
                        parameters=since_ms(3600, NOW.timestamp())).result_rows


def test_the_last_hour_of_stage_evaluations(engine):
    client, settings = engine
    db = settings.database
    store = Store(client, db)
    assert rows(client, db) == []  # the page shows its empty state, not a row of zeros
    # (seconds ago, took seconds, kind); no account snapshot was taken at these moments: 0 decided
    for ago, took, kind in ((4000, 90.0, "full"), (300, 40.0, "full"), (230, 2.5, "changed"), (200, 1.5, "day"),
                            (20, 3.0, "changed")):
        at = NOW - ago * S
        store.set_stage_mark(at, at, at.date(), took, kind)
    [(last_at, last_took, decided, kind, count, median, longest, most_decided, gap, pending)] = rows(client, db)
    assert (last_at.replace(tzinfo=timezone.utc), last_took, decided, kind, pending) == (
        NOW - 20 * S, 3000, 0, "changed", 0)
    # the 4,000 s old one is out of the hour: 40, 2.5, 1.5, 3 s; the longest gap is 200 s -> 20 s ago
    assert (count, median, longest, most_decided, gap) == (4, 2750, 40000, 0, 180000)
    # a new day's pass that left accounts to move: the page says how many
    at = NOW - 10 * S
    store.set_stage_mark(at, at, at.date(), 1.0, "day", day_pending=(at.date() - timedelta(days=1), 41_200))
    assert rows(client, db)[0][3::6] == ("day", 41_200)


def test_the_bench_reads_the_ticks_across_midnight_by_kind(engine):
    """pulse/bench/day_boundary.py's query, on the same marks: only those inside the section, by kind."""
    from pulse.bench.day_boundary import TICKS_BY_KIND, ticks_by_kind
    from sinks.stage_marks import epoch_ms

    client, settings = engine
    db = settings.database
    store = Store(client, db)
    for ago, took, kind in ((400, 90.0, "full"), (230, 2.5, "changed"), (200, 16.9, "day"), (150, 5.6, "day"),
                            (20, 3.0, "changed")):
        at = NOW - ago * S
        store.set_stage_mark(at, at, at.date(), took, kind)
    result = client.query(re.sub(r"\bFROM ([a-z_]+)", rf"FROM {db}.\1", TICKS_BY_KIND),
                          parameters={"since_ms": epoch_ms(NOW - 300 * S), "until_ms": epoch_ms(NOW - 150 * S)})
    assert ticks_by_kind(result.result_rows) == {"changed": {"ticks": 1, "longest_s": 2.5, "total_s": 2.5},
                                   "day": {"ticks": 2, "longest_s": 16.9, "total_s": 22.5}}


def test_a_full_evaluation_under_way_and_how_far_it_got(engine):
    """STAGE_REBUILD: no row before any full evaluation; a begun one's slices done per step; none once its mark
    (or a later one) is written; the latest begun when an older one was left behind."""
    client, settings = engine
    db = settings.database
    store, steps = Store(client, db), RebuildSteps(client, db)

    def under_way() -> list[tuple]:
        return client.query(re.sub(r"\bFROM ([a-z_]+)", rf"FROM {db}.\1", STAGE_REBUILD)).result_rows

    assert under_way() == []
    at = NOW - 600 * S
    store.set_stage_mark(at, at, at.date(), 1.0, "changed", epoch_ms(at))
    plan = Plan(epoch_ms(NOW - 300 * S), NOW - 300 * S, NOW - 300 * S, NOW.date(), Seen(0, 0), True, 5)
    steps.begin(plan)
    for step, done in (("days", 5), ("people", 2)):
        steps.note(plan, step, CLEARED)
        for i in range(done):
            steps.note(plan, step, i)
    [(begun, last, slices, refold, days_done, people_done, decide_done)] = under_way()
    assert (slices, refold, days_done, people_done, decide_done) == (5, 1, 5, 2, 0) and begun <= last
    later = Plan(plan.version + 1000, NOW, NOW, NOW.date(), Seen(0, 0), False, 3)
    steps.begin(later)
    steps.note(later, "people", 0)
    assert under_way()[0][2:] == (3, 0, 0, 1, 0)
    store.set_stage_mark(NOW, NOW, NOW.date(), 60.0, "full", later.version)
    assert under_way() == []
