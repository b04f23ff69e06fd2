"""The dashboard statements that read the rollups (ui/queries.py ACCOUNT_DAILY, ACCOUNT_TRENDS from
account_daily; FRESHNESS from touch_arrivals) answer what the statements before them answered
(pulse/bench/rollups.py BEFORE) once the stage evaluator has run, on random touches with moves."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pulse.bench.rollups import BEFORE
from sinks.client import engine_reader_client
from sinks.store import ROLLUP_SNAPSHOTS, SNAPSHOTS, Store
from streams import stages
from tests.rollup_helpers import ACCOUNTS, RandomEngagement, register
from ui import queries


def test_rollup_statements_answer_as_before(engine):
    client, settings = engine
    register(client, settings.database)
    reader = engine_reader_client(settings)
    reader.database = settings.database
    data = RandomEngagement(client, settings.database, seed=11, spread_days=120)
    now = datetime.now(timezone.utc)
    for tick in range(3):  # a full evaluation, then two of what changed (each tick at its own moment)
        data.round(now, new=300, moves=50)
        stages.evaluate(Store(client, settings.database), now + timedelta(seconds=tick))
        for account in ACCOUNTS:
            for name, params in (("ACCOUNT_DAILY", {"account": account}), ("ACCOUNT_TRENDS", {"accounts": [account]}),
                                 ("FRESHNESS", {})):
                before = reader.query(BEFORE[name], parameters=params).result_rows
                after = reader.query(getattr(queries, name), parameters=params).result_rows
                if name == "ACCOUNT_TRENDS":  # a day whose touches all moved away: a zero row in either, or none
                    before, after = nonzero(before, 2), nonzero(after, 2)
                assert sorted(after) == sorted(before), (name, account)
    assert reader.query(queries.ACCOUNT_DAILY, parameters={"account": ACCOUNTS[0]}).result_rows


def nonzero(rows: list[tuple], value: int) -> list[tuple]:
    """Rows whose `value` column is not 0 (a key whose touches all moved away keeps a zero row in either)."""
    return sorted(r for r in rows if r[value] != 0)


def snapshot_of(client, db: str, view: str, at: datetime) -> list[tuple]:
    return sorted(r[1:] for r in client.query(f"SELECT * FROM {db}.{view}_snapshot WHERE evaluated_at = %(at)s",
                                              parameters={"at": at}).result_rows)


def test_snapshots_from_the_rollup_answer_as_the_views(engine):
    """channel_awareness and target_channel_daily from account_daily (0042) equal the views over every
    person-day, after touches with moves; while account_daily is being rebuilt the snapshot thread
    reads the views (a cleared rollup would show no awareness at all)."""
    client, settings = engine
    db = settings.database
    register(client, db, ACCOUNTS)
    data = RandomEngagement(client, db, seed=5, spread_days=80)
    now = datetime.now(timezone.utc).replace(microsecond=0)  # (snapshots keep milliseconds)
    store = Store(client, db)
    for tick in range(3):  # a full evaluation, then two of what changed (each tick at its own moment)
        data.round(now, new=300, moves=50)
        stages.evaluate(store, now + timedelta(seconds=tick))
        for view, value in (("channel_awareness", 1), ("target_channel_daily", 2)):
            exact = client.query(f"SELECT * FROM {db}.{view}").result_rows
            assert nonzero(client.query(f"SELECT * FROM {db}.{view}_rollup").result_rows, value) == nonzero(exact, value)
            assert nonzero(exact, value), view
    kinds = [r[0] for r in client.query(f"SELECT kind FROM {db}.stage_marks ORDER BY marked_at").result_rows]
    assert kinds == ["full", "changed", "changed"]
    at = now + timedelta(seconds=3)
    stages.snapshot_views(store, at)
    assert snapshot_of(client, db, "channel_awareness", at) == sorted(
        client.query(f"SELECT * FROM {db}.channel_awareness").result_rows)
    client.command(f"TRUNCATE TABLE {db}.account_daily")  # as a rebuild does first
    later = at + timedelta(seconds=1)
    stages.snapshot_views(store, later)
    assert snapshot_of(client, db, "channel_awareness", later) == sorted(
        client.query(f"SELECT * FROM {db}.channel_awareness").result_rows)


def test_snapshots_taken_with_the_clock_set_back_are_the_ones_the_dashboard_reads(engine):
    """The dashboard reads each snapshot's latest stamp (ui/queries.py): one taken with the clock stepped back
    is stamped after the last one, not at its own clock, which showed the snapshot before the step until the
    clock caught up."""
    client, settings = engine
    db = settings.database
    register(client, db, ACCOUNTS)
    data, store = RandomEngagement(client, db, seed=8, spread_days=30), Store(client, db)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for at in (now, now - timedelta(minutes=30)):  # the second clock reads half an hour earlier
        data.round(now, new=200, moves=20)
        stages.evaluate(store, at)
        stages.snapshot_views(store, at)
        for view in SNAPSHOTS:
            latest = client.query(f"SELECT * EXCEPT evaluated_at FROM {db}.{view}_snapshot "
                                  f"WHERE evaluated_at = (SELECT max(evaluated_at) FROM {db}.{view}_snapshot)")
            source = client.query(f"SELECT * FROM {db}.{ROLLUP_SNAPSHOTS.get(view, view)}")
            assert sorted(latest.result_rows) == sorted(source.result_rows), (view, at)
    awareness = client.query(f"SELECT * FROM {db}.channel_awareness").result_rows
    assert nonzero(awareness, 1)
