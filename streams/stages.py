"""Engagement stage changes: detected by comparing the live stage with the last one recorded.

Each change gets a stable id (account and its n-th change), is published to the stage-changes topic
(for CRM sync and alerts) and then recorded. A replay or a re-score that leaves a stage where it was
produces no change, so nothing already published is published again; a crash between publish and
record re-publishes the same id, which consumers dedupe on.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import msgspec

from sinks.day_state import PersonDays
from sinks.rebuild_steps import Plan, RebuildSteps
from sinks.stage_marks import StageMark, epoch_ms, from_epoch_ms
from sinks.stage_state import PersonState
from sinks.store import Store
from streams import stage_rebuild, stage_repair

EVERY_SECONDS = 5.0


class StageChange(msgspec.Struct, frozen=True):
    change_id: str
    account_id: str
    stage_from: str
    stage_to: str
    changed_at: datetime
    minutes_90d: Decimal


encode = msgspec.json.Encoder().encode
COLUMNS = tuple(f.name for f in msgspec.structs.fields(StageChange))


def diff(current: dict[str, tuple[str, Decimal]], recorded: dict[str, tuple[str, int]],
         now: datetime) -> list[StageChange]:
    """Pure: {account: (stage, minutes)} vs {account: (last recorded stage, changes so far)}."""
    changes = []
    for account_id, (stage, minutes) in sorted(current.items()):
        last, n = recorded.get(account_id, ("unaware", 0))
        if stage != last:
            changes.append(StageChange(f"{account_id}:{n + 1}", account_id, last, stage, now, minutes))
    return changes


# Rows of engagement_daily per slice of an evaluation: bounds the memory of one evaluation step.
ROWS_PER_SLICE = 2_000_000
# An evaluation may use at most this share of the time: the next waits `duration / share` at least. A full
# one (every account) is spaced out; an incremental one costs what arrived since the last, which waiting
# longer only piles up, so it may take half the time: stage changes then follow their touches within seconds.
TIME_SHARE = 0.2
INCREMENTAL_SHARE = 0.5
MAX_INTERVAL_S = 60.0


def refresh(store: Store, now: datetime) -> float:
    """Evaluate account_engagement slice by slice into the snapshot; returns seconds until the next."""
    started = time.monotonic()
    _evaluate_all(store, now)
    store.snapshot_views(now)
    return _wait(time.monotonic() - started)


def _slices(store: Store) -> int:
    return max(1, store.engagement_rows() // ROWS_PER_SLICE + 1)


def _evaluate_all(store: Store, now: datetime) -> None:
    slices = _slices(store)
    for i in range(slices):
        store.snapshot_account_engagement(now, slices, i)


def _wait(took: float, share: float = TIME_SHARE) -> float:
    return min(MAX_INTERVAL_S, max(EVERY_SECONDS, took / share))


# Issue 17: incremental evaluation. person_day_changes (0040_person_day_minutes.sql) says which
# person-days changed since the last evaluation: their capped minutes are recomputed (account_daily adds
# the difference, sinks/day_state.py), their people's window sums too (sinks/stage_state.py), and their
# accounts re-decided; at a day boundary so are the people and accounts with rows on a day that entered
# or left a window, a slice of those accounts a tick, the accounts with changes first: a new day's move
# never holds a stage change back for longer than a tick. Changes are re-read over MARGIN: a change is
# stamped as its insert runs and seen once that insert commits (a batch's insert takes well under a
# second); recomputing a person-day or deciding an account twice is harmless, but every change of the last
# MARGIN is done again at each tick, so it is kept short.
MARGIN = timedelta(seconds=10)
# Days a window of account_engagement_eval (0100_views.sql) starts or ends at, before today:
# `day <= today`, 7 days (and the 28 before them up to day 34), 30, 90, and the 400 days of confirmation.
WINDOW_EDGES = (0, 7, 30, 35, 90, 400)
# Accounts a new day moves a tick (besides those with changes), a range of ids: the state is ordered by account,
# so a tick reads its part. On the 100M bench store (100k accounts), alone: ten ticks of 5.6-17 s, 93 s in all
# (one tick of 96 s before); 5,000 a tick took 2.4-20 s, 143 s in all; 2,000 spread by hash 10-13 s each.
ACCOUNTS_PER_DAY_MOVE = 10_000
# Longer without an evaluation (engagement_changes keeps a week): everything is evaluated again.
MAX_GAP_DAYS = 5
# A contacts import naming more people than this rebuilds every person's sums, slice by slice, instead of
# recomputing its people in one batch, which would hold them all at once (a first import of 1M contacts).
CONTACTS_TO_RECOMPUTE = 10_000


def window_days(before: date, today: date) -> set[date]:
    """Pure: the days whose accounts' numbers may change when the reporting day moves from `before` to
    `today` with no new touch: a day that entered or left a window, the month (year) to date that ended."""
    days = _edge_days(before, today, WINDOW_EDGES)
    for starts, same in ((before.replace(day=1), before.month == today.month and before.year == today.year),
                         (before.replace(month=1, day=1), before.year == today.year)):
        if not same:
            days.update(starts + timedelta(days=i) for i in range((before - starts).days + 1))
    return days


def accounts_per_move(days: int) -> int:
    """Pure: the accounts a tick moves to a new day when `days` (window_days) entered or left a window. The
    shift reads the moved accounts' person-days on those days: the first of a month adds the month that ended,
    New Year's day the year; fewer accounts a tick keep each tick's cost that of an ordinary day."""
    return max(1, ACCOUNTS_PER_DAY_MOVE * len(WINDOW_EDGES) // max(1, days))


def confirmation_days(before: date, today: date) -> set[date]:
    """Pure: the days that enter or leave the 400 days in which a signed touch confirms a person (0100_views.sql)
    when the reporting day moves from `before` to `today`: those people are recomputed whole."""
    return _edge_days(before, today, (0, 400))


def _edge_days(before: date, today: date, edges: tuple[int, ...]) -> set[date]:
    """Each day that became the reporting day after `before` up to `today`, less each of `edges` days."""
    days: set[date] = set()
    d = before + timedelta(days=1)
    while d <= today:
        days.update(d - timedelta(days=k) for k in edges)
        d += timedelta(days=1)
    return days


class Tick(NamedTuple):
    """What an evaluation returns. `at`: the stamp of its mark and of its snapshot rows (detect reads them by it),
    its state version as a moment: `now`, or 1 ms after the last tick's stamp when the clock reads earlier (a
    clock stepped back). The snapshot keeps each account's latest stamp: stamped by such a clock, a tick's rows
    lost to the last tick's, and the accounts it changed read as before until they changed again. `wait`:
    seconds until the next evaluation."""
    at: datetime
    wait: float


def evaluate(store: Store, now: datetime, margin: timedelta = MARGIN) -> Tick:
    """Recompute what changed and re-decide the accounts it may move, as at `now` (Tick). The first
    evaluation, one after a long gap, a change of the scoring settings, a contacts import, and one that finds
    the kept state torn recompute (or re-decide) everything and rebuild that state (streams/stage_rebuild.py),
    or finish such a rebuild that was stopped part-way; what a tick of changed accounts that died part-way left
    is repaired instead (streams/stage_repair.py). (`margin`: MARGIN but in tests that write nothing
    while it runs.) The dashboard's other snapshots are snapshot_views' (on a thread of their own: they read
    every account's 90 days)."""
    started = time.monotonic()
    read_at, today = store.stage_clock(now)
    mark = store.stage_mark()
    seen = store.seen_since(read_at - margin)  # before anything is read: what this tick takes in of the margin
    people, days = PersonState(store.client, store.database), PersonDays(store.client, store.database)
    marked = people.marked_version()
    torn = people.torn(marked) or days.torn(marked)
    stopped = stage_rebuild.unfinished(store, marked, today, MAX_GAP_DAYS) if torn else None
    if stopped is not None:
        plan = stopped[0]
        stage_rebuild.run(store, *stopped)
        return _marked(store, plan, started, "full", None)
    mended = torn and stage_repair.repairable(store, mark, marked)
    torn = torn and not mended
    version = max(epoch_ms(now), marked + 1 + int(mended))  # a repair writes the version below the tick's
    scopes, contacts = _unseen(store, mark, today, margin)
    with_contacts = 0 < contacts <= CONTACTS_TO_RECOMPUTE
    kind = _kind(scopes, torn, mark, today)
    plan = Plan(version, now, read_at, today, seen, "refold_all" in scopes or torn,
                _slices(store) if kind == "full" else 0)
    if kind != "full":  # before anything is written (a full tick notes its plan)
        store.note_tick_begun(version, today)
    pending = None
    with store.urgent() if kind == "changed" else nullcontext():  # the bulk kinds yield to the sink
        if mended and not plan.refold:
            stage_repair.repair(store, marked, mark, version - 1, epoch_ms(now) - 1)
        if not plan.refold:
            days.update(epoch_ms(now), epoch_ms(mark.read_until - margin), version, with_contacts)
            store.note_account_days(mark.read_until - margin)
        if kind == "full":
            stage_rebuild.run(store, plan)
        elif kind == "day":
            remain = _move_day(store, people, now, mark.day_from, mark.read_until - margin, today, version)
            pending = (mark.day_from, remain) if remain else None
        else:
            _decide_changed(store, people, now, mark.read_until - margin, today, version, with_contacts)
    return _marked(store, plan, started, kind, pending)


def _marked(store: Store, plan: Plan, started: float, kind: str, pending: tuple[date, int] | None) -> Tick:
    """The tick's mark, stamped with its state version as a moment (Tick)."""
    took = time.monotonic() - started
    stamp = from_epoch_ms(plan.version)
    store.set_stage_mark(stamp, plan.read_until, plan.today, took, kind, plan.version, plan.seen, pending)
    return Tick(stamp, _wait(took, TIME_SHARE if kind == "full" else INCREMENTAL_SHARE))


def _kind(scopes: set[str], torn: bool, mark: StageMark | None, today: date) -> str:
    """'full': everything evaluated again; 'day': a slice of a new day's move; 'changed': the changed accounts."""
    if scopes & {"refold_all", "evaluate_all"} or torn:
        return "full"
    return "day" if today != mark.today or mark.day_from != mark.today else "changed"


def _unseen(store: Store, mark: StageMark | None, today: date, margin: timedelta) -> tuple[set[str], int]:
    """The kinds of change to take in since `mark` (less `margin`), and how many contacts were written: a re-fold
    stamp or a contacts import that the marking tick had already seen is not done again (0047_stage_mark_seen)."""
    if mark is None or not 0 <= (today - mark.today).days <= MAX_GAP_DAYS:
        return {"refold_all"}, 0
    if mark.day_from != mark.today and today != mark.today:  # a day boundary before the last one's move ended
        return {"evaluate_all"}, 0
    since = mark.read_until - margin
    now_seen = store.seen_since(since)
    scopes = store.change_scopes(since) if now_seen.refolds > mark.refolds_seen else set()
    contacts = now_seen.contacts - mark.contacts_seen
    if contacts > CONTACTS_TO_RECOMPUTE:
        scopes.add("evaluate_all")
    return scopes, contacts


def _decide_changed(store: Store, people: PersonState, now: datetime, since: datetime, today: date, version: int,
                    with_contacts: bool) -> None:
    """On the day of the last tick, every account at it: the people whose days changed (the batch
    PersonDays.update queued) moved by the differences, or recomputed after a contacts import
    (`with_contacts`), and the accounts changed since `since` decided."""
    batch = epoch_ms(now)
    people.update(batch, [], today, version, whole=with_contacts)
    if store.queue_stage_accounts(batch, now, since):
        store.snapshot_stage_batch(now, batch, version)


def _move_day(store: Store, people: PersonState, now: datetime, day_from: date, since: datetime, today: date,
              version: int) -> int:
    """A new reporting day, a slice of the accounts a tick: the accounts with changes and the next
    accounts_per_move with rows on a day that entered or left a window, as far as not moved yet, moved from
    `day_from` to `today` (day_moves, sinks/stage_marks.py). Every person whose days changed is recomputed
    (the accounts they are in are at today now), as are the moved accounts' people whose confirmation the
    new day may change; their other people are shifted by the days on a window's edge. The accounts changed
    and those moved are decided. Returns how many accounts remain to move."""
    days = sorted(window_days(day_from, today))
    batch = epoch_ms(now)
    pending = store.queue_day_moves(batch, today, since, days, accounts_per_move(len(days)))
    people.update(batch, sorted(confirmation_days(day_from, today)), today, version, whole=True)
    people.shift(batch, days, day_from, today, version)
    if store.queue_stage_accounts(batch, now, since):
        store.snapshot_stage_batch(now, batch, version)
    return pending


def snapshot_views(store: Store, now: datetime) -> None:
    """The dashboard's other snapshots; those account_daily answers from it unless it may hold only part of the
    accounts: cleared, or being rebuilt by a full tick begun after the latest mark. A tick of changed accounts under
    way leaves every account in it, some moved by that tick already: a snapshot between two ticks. Under load such a
    tick runs most of the time, and reading the views over every touch instead took about 100 s and 6 GB of the
    engine at 100M stored touches (BENCHMARKS.md, 2026-12-07)."""
    marked = PersonState(store.client, store.database).marked_version()
    rebuilding = RebuildSteps(store.client, store.database).latest_after(marked) is not None
    store.snapshot_views(now, rollup_in_step=PersonDays(store.client, store.database).whole(marked) and not rebuilding)


def detect(store: Store, at: datetime) -> list[StageChange]:
    """Compare each account's stage in the evaluation stamped `at` (Tick.at) with the last one recorded (at the
    normal priority, as the tick of changed accounts before it: a stage change waits for both)."""
    with store.urgent():
        current = {a: (s, m) for a, s, m in store.evaluated_stages(at)}
        recorded = {a: (s, n) for a, s, n in store.recorded_stages(at)}
    return diff(current, recorded, at)


def record(store: Store, changes: list[StageChange]) -> None:
    with store.urgent():
        store.record_stage_changes(COLUMNS, [[getattr(c, k) for k in COLUMNS] for c in changes])
