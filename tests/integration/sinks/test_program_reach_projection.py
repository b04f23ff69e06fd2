"""program_reach read from engagement_daily's projection (0051_program_reach_projection.sql), on the real
engine: the view's plan reads the projection, and its answer equals the same view read from the raw rows
and one computed here from each touch's latest version, through re-attribution, an erasure and merges."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

import msgspec

from pulse.support.waits import wait_until
from sinks.erasure import ErasureStore
from sinks.migrate import migrate
from tests.rollup_helpers import ACCOUNTS, RandomEngagement, random_touch, register

PROGRAMS = ("webinar", "ebook", "dinner")
TARGETS = ACCOUNTS[:5]                          # the others are no target (or not registered at all)
REACH = "SELECT * FROM {db}.program_reach ORDER BY program_id"
RAW = " SETTINGS optimize_use_projections = 0"  # the same view, every row of engagement_daily read


def write_with_programs(data: RandomEngagement, at: datetime, n: int) -> None:
    """random_touch names one program or none: these name one of three (a touch's program never changes)."""
    rows = [random_touch(data.rng, at, data.spread_days) for _ in range(n)]
    rows = [msgspec.structs.replace(r, program_id=data.rng.choice(PROGRAMS)) if r.program_id else r for r in rows]
    data.writer.write(rows)
    data.latest.update((r.event_id, r) for r in rows)


def expected(latest) -> dict[str, tuple[int, float | None]]:
    """program → (target accounts reached, focus %), from each touch's latest version."""
    successes = defaultdict(int)
    for row in latest:
        if row.program_id and row.type != "page_engagement":  # a heartbeat is no touch of its own
            successes[row.program_id, row.account_id] += row.success
    out = {}
    for program in {p for p, _ in successes}:
        mine = {a: n for (p, a), n in successes.items() if p == program and n > 0}
        total, on_targets = sum(mine.values()), sum(n for a, n in mine.items() if a in TARGETS)
        out[program] = (sum(1 for a in mine if a in TARGETS), round(100 * on_targets / total, 1) if total else None)
    return out


def reach(client, db: str, raw: bool = False) -> list[tuple]:
    return [tuple(r) for r in client.query(REACH.format(db=db) + (RAW if raw else "")).result_rows]


def check(client, db: str, latest) -> None:
    rows = client.query(REACH.format(db=db)).named_results()
    got = {r["program_id"]: (r["target_accounts_reached"], r["focus_pct"]) for r in rows}
    assert got == expected(latest)
    assert reach(client, db) == reach(client, db, raw=True)


def test_program_reach_reads_the_projection_and_stays_exact(engine):
    client, settings = engine
    db = settings.database
    register(client, db, TARGETS)
    data = RandomEngagement(client, db, seed=11, spread_days=60)
    now = datetime.now(timezone.utc)
    for n in range(4):  # several parts, and new versions moving touches between accounts and people
        write_with_programs(data, now, 300)
        data.round(now, 0, 80)
    plan = "\n".join(r[0] for r in client.query(f"EXPLAIN {REACH.format(db=db)}").result_rows)
    assert "ReadFromMergeTree (successes_by_program)" in plan
    check(client, db, data.latest.values())

    ErasureStore(client, db).erase({"bob@a.example"}, set(), [])  # a mutation: it rebuilds the projection
    left = [r for r in data.latest.values() if r.person != "bob@a.example"]
    assert expected(left) != expected(data.latest.values())      # bob's successes counted: the erasure shows
    check(client, db, left)

    client.command(f"OPTIMIZE TABLE {db}.engagement_daily FINAL")  # a merge combines rows: it rebuilds it too
    check(client, db, left)
    parts = projections(client, db)
    assert parts and all("successes_by_program" in p for (p,) in parts)


def test_a_store_from_before_gets_the_projection_for_its_stored_parts(engine):
    client, settings = engine
    db = settings.database
    register(client, db, TARGETS)
    data = RandomEngagement(client, db, seed=12, spread_days=60)
    client.command(f"ALTER TABLE {db}.engagement_daily DROP PROJECTION successes_by_program")
    client.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE version = 51 SETTINGS mutations_sync = 2")
    write_with_programs(data, datetime.now(timezone.utc), 400)
    assert not any(p for (p,) in projections(client, db))

    assert migrate(client, settings) == ["0051_program_reach_projection.sql"]  # materialized in the background
    wait_until(lambda: all("successes_by_program" in p for (p,) in projections(client, db)), 60,
               what="the projection written for the parts stored before it")
    check(client, db, data.latest.values())


def projections(client, db: str) -> list[tuple]:
    return client.query(f"SELECT projections FROM system.parts WHERE database = %(db)s "
                        f"AND table = 'engagement_daily' AND active", parameters={"db": db}).result_rows
