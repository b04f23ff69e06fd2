"""A new reporting day moves the accounts a slice a tick (streams/stages._move_day, 0050_day_moves.sql), so
that on a large store its tick never holds stage changes back: between slices each account is exact as at
the day it is at, an account with a change is moved (and decided) at the next tick whatever its slice, a
tick that died before its mark moved nothing, and once every slice is moved the kept state, the snapshot
and the recorded stages equal a full recomputation."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
import pytest

from sinks.stage_marks import LATEST_MARK, epoch_ms
from sinks.stage_state import PersonState
from sinks.store import Store
from streams import stages
from tests.rollup_helpers import (  # noqa: F401 (zoned: a fixture)
    ACCOUNTS, TZ, RandomEngagement, account_days, evaluated, fresh_people, fresh_sums, kept_people, kept_sums,
    random_touch, register, snapshot, three_hours_ago, zoned)


def decided_at(client, db: str, now: datetime) -> dict:
    """The accounts a tick decided, with what it decided (evaluated()'s columns)."""
    return {r[1]: tuple(r[1:]) for r in client.query(
        f"SELECT * FROM {db}.account_engagement_snapshot "
        f"WHERE evaluated_at = fromUnixTimestamp64Milli(%(ms)s, 'UTC')", parameters={"ms": epoch_ms(now)}).result_rows}


def moved_to(client, db: str, today) -> set[str]:
    """The accounts moved to `today` by ticks that marked."""
    return {r[0] for r in client.query(
        f"SELECT account_id FROM {db}.day_moves WHERE today = %(t)s AND batch IN "
        f"(SELECT toUInt64(toUnixTimestamp64Milli(marked_at)) FROM {db}.stage_marks)",
        parameters={"t": today}).result_rows}


def on_edge_days(client, db: str, before, today) -> set[str]:
    """The accounts with rows on a day that enters or leaves a window: those the new day moves."""
    return {r[0] for r in client.query(
        f"SELECT DISTINCT account_id FROM {db}.account_days_by_day WHERE day IN %(days)s AND account_id != ''",
        parameters={"days": sorted(stages.window_days(before, today))}).result_rows}


def a_touch(data: RandomEngagement, account: str, at: datetime):
    row = random_touch(data.rng, at, 0)
    return msgspec.structs.replace(row, account_id=account, type="meeting", channel="meeting", person="ann@a.example",
                                   minutes=Decimal(45), base_minutes=Decimal(45), occurred_at=at, received_at=at,
                                   day=at.astimezone(ZoneInfo(TZ)).date())


def only(sums: dict, accounts: set[str], inside: bool = True) -> dict:
    return {a: v for a, v in sums.items() if (a in accounts) == inside}


def evaluated_once(zoned, monkeypatch, seed: int) -> tuple:
    """300 touches over 100 days, three hours ago, their first evaluation, and a new day two accounts a tick."""
    client, db = zoned
    store = Store(client, db)
    register(client, db)
    monkeypatch.setattr(stages, "ACCOUNTS_PER_DAY_MOVE", 2)
    start = three_hours_ago()
    data = RandomEngagement(client, db, seed=seed, spread_days=100)
    data.round(start, 300, 0)
    stages.evaluate(store, start, margin=timedelta(0))
    stages.record(store, stages.detect(store, start))
    return client, db, store, start, data


def test_a_new_day_moves_the_accounts_slice_by_slice(zoned, monkeypatch):
    client, db, store, start, data = evaluated_once(zoned, monkeypatch, seed=21)
    before = store.stage_mark().today
    now, ticks, touched = start + timedelta(days=1), 0, None
    while True:
        stages.evaluate(store, now, margin=timedelta(0))
        stages.record(store, stages.detect(store, now))
        ticks += 1
        mark = store.stage_mark()
        moved = moved_to(client, db, mark.today)
        assert mark.today == before + timedelta(days=1), (ticks, mark)
        # each account as at its day, and what the tick decided as a full evaluation decides it
        kept, full = kept_sums(client, db), {r[0]: tuple(r) for r in evaluated(client, db, now)}
        assert only(kept, moved) == only(fresh_sums(client, db, mark.today), moved), ticks
        assert only(kept, moved, False) == only(fresh_sums(client, db, before), moved, False), ticks
        decided = decided_at(client, db, now)
        assert decided == {a: full[a] for a in decided}, ticks
        if touched:
            assert touched in moved and touched in decided, (ticks, touched)
            touched = None
        if mark.day_from == mark.today:
            break
        pending = sorted(on_edge_days(client, db, before, mark.today) - moved)
        assert mark.day_from == before and mark.day_pending == len(pending) > 0, (ticks, mark, pending)
        if ticks == 1:
            assert set(pending) & set(ACCOUNTS), "the first tick moved every account: make the slices smaller"
            # a tick that died after noting its moves and before writing anything or marking: moved nothing
            client.insert(f"{db}.day_moves", [[mark.today, epoch_ms(now) + 1, a] for a in pending],
                          column_names=("today", "batch", "account_id"))
            # a change for an account its slice has not reached: moved (and decided) at the next tick
            touched = max(set(pending) & set(ACCOUNTS))
            data.writer.write([a_touch(data, touched, now)])
        now += timedelta(minutes=1)
    assert ticks > 2, ticks
    assert kept_sums(client, db) == fresh_sums(client, db)
    assert kept_people(client, db) == fresh_people(client, db)
    assert account_days(client, db, f"{db}.account_daily") == account_days(
        client, db, f"{db}.engagement_person_daily")
    full = evaluated(client, db, now)
    assert snapshot(client, db) == [tuple(r) for r in full]
    recorded = dict((a, s) for a, s, _ in store.recorded_stages())
    assert {r[0]: recorded.get(r[0], "unaware") for r in full} == {r[0]: r[11] for r in full}


def test_a_day_boundary_before_the_last_move_ended_evaluates_everything(zoned, monkeypatch):
    """Two days in a row with slices still pending: the accounts would be at three days; every account is
    evaluated again instead, and the state is exact."""
    client, db, store, start, data = evaluated_once(zoned, monkeypatch, seed=22)
    stages.evaluate(store, start + timedelta(days=1), margin=timedelta(0))
    assert store.stage_mark().day_from != store.stage_mark().today
    later = start + timedelta(days=2)
    stages.evaluate(store, later, margin=timedelta(0))
    mark = store.stage_mark()
    assert mark.day_from == mark.today and client.query(
        f"SELECT argMax(kind, {LATEST_MARK}) FROM {db}.stage_marks").result_rows[0][0] == "full"
    assert kept_sums(client, db) == fresh_sums(client, db)
    assert snapshot(client, db) == [tuple(r) for r in evaluated(client, db, later)]


class Died(Exception):
    """The worker died in the middle of a tick."""


def test_a_tick_that_died_half_way_through_a_new_days_move_is_repaired(zoned, monkeypatch):
    """A tick that died after moving its slice of a new day's move, before its mark: its accounts count as not
    moved, so the next tick recomputes the people it wrote as at the day before for those, and as at the new day
    for the accounts ticks that marked had moved; the move then goes on, slice by slice, with no rebuild, each
    account exact as at its day, and ends equal to a full recomputation."""
    client, db, store, start, data = evaluated_once(zoned, monkeypatch, seed=27)
    before = store.stage_mark().today
    now = start + timedelta(days=1)
    stages.evaluate(store, now, margin=timedelta(0))
    assert store.stage_mark().day_from == before != store.stage_mark().today
    data.writer.write([a_touch(data, ACCOUNTS[0], now)])
    now += timedelta(minutes=1)
    original = Store.queue_stage_accounts

    def dying(*args, **kwargs):
        raise Died

    monkeypatch.setattr(Store, "queue_stage_accounts", dying)
    with pytest.raises(Died):
        stages.evaluate(store, now, margin=timedelta(0))
    monkeypatch.setattr(Store, "queue_stage_accounts", original)
    marked = PersonState(client, db).marked_version()
    assert PersonState(client, db).written_after(marked), "the dead tick wrote no people: nothing to repair"
    kinds = []
    while store.stage_mark().day_from != store.stage_mark().today:
        now += timedelta(minutes=1)
        stages.evaluate(store, now, margin=timedelta(0))
        kinds.append(client.query(f"SELECT argMax(kind, {LATEST_MARK}) FROM {db}.stage_marks").result_rows[0][0])
        mark = store.stage_mark()
        moved, kept = moved_to(client, db, mark.today), kept_sums(client, db)
        assert only(kept, moved) == only(fresh_sums(client, db, mark.today), moved), kinds
        assert only(kept, moved, False) == only(fresh_sums(client, db, before), moved, False), kinds
    assert kinds and set(kinds) == {"day"}, kinds
    assert kept_sums(client, db) == fresh_sums(client, db)
    assert kept_people(client, db) == fresh_people(client, db)
    assert account_days(client, db, f"{db}.account_daily") == account_days(
        client, db, f"{db}.engagement_person_daily")
    assert snapshot(client, db) == [tuple(r) for r in evaluated(client, db, now)]
