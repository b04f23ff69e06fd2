"""Incremental stage evaluation (streams/stages.evaluate) against a full recomputation on the same data,
after every step of a random history: new touches, touches moved between accounts and people or
re-scored (retract and re-add), a contacts import, a newly registered account, hours and days passing
with and without touches (day boundaries of the reporting time zone, decay), a gap longer than the
changes are kept, an erasure (rows deleted, no view fires). The snapshot, the account-day rollup and the
recorded stages never drift."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
import pytest

from pulse.bench.rollups import people_shifted
from sinks.erasure import PERSON_DAY_TABLES, ErasureStore
from sinks.day_state import PersonDays
from sinks.migrate import load_migrations
from sinks.rebuild_steps import RebuildSteps
from sinks import stage_state
from sinks.stage_state import PersonState
from sinks.store import Store
from streams import stages
from tests.rollup_helpers import (  # noqa: F401 (zoned: a fixture)
    ACCOUNTS, CONTACTS, KINDS, TZ, RandomEngagement, account_days, add_contacts, evaluated, fresh_people,
    fresh_person_days, fresh_sums, kept_people, kept_person_days, kept_sums, mark_of, people_without_state,
    random_touch, register, snapshot, three_hours_ago, zoned)

# (hours after the start, new touches, moved touches)
STEPS = [(0, 300, 0), (1, 60, 30), (2, 0, 40), (9, 40, 10), (24, 0, 0), (25, 50, 20), (48, 0, 0), (49, 0, 30),
         (24 * 8, 0, 0), (24 * 9, 30, 10), (24 * 30, 0, 0), (24 * 31, 30, 5), (24 * 32, 0, 0), (24 * 33, 0, 0),
         (24 * 34, 0, 2), (24 * 35, 0, 0)]



# Accounts touched only before the run, each on days that leave a window as the run's days pass:
# (account, days before the start, kind, person, minutes)
QUIET = [("quiet-surge", 1, "email_open", "p@q.example", "12"), ("quiet-surge", 33, "email_open", "p@q.example", "30"),
         ("quiet-confirm", 398, "email_open", "zed@q.example", "1"), ("quiet-confirm", 2, "page_view", "zed@q.example", "15"),
         ("quiet-7", 6, "email_open", "p@q.example", "10"), ("quiet-30", 29, "meeting", "p@q.example", "20"),
         ("quiet-90", 89, "meeting", "a@q.example", "80"), ("quiet-90", 88, "meeting", "b@q.example", "25"),
         ("quiet-mtd", 0, "email_open", "p@q.example", "3"), ("quiet-reengaged", 70, "email_open", "p@q.example", "1"),
         ("quiet-reengaged", 5, "email_open", "p@q.example", "1")]


def quiet_accounts(data: RandomEngagement, start: datetime) -> list[str]:
    rows = []
    for account, days, kind, person, minutes in QUIET:
        at = start - timedelta(days=days)
        row = random_touch(data.rng, at, 0)
        rows.append(msgspec.structs.replace(row, account_id=account, type=kind, channel=KINDS[kind], person=person,
                                            email=person, minutes=Decimal(minutes), base_minutes=Decimal(minutes),
                                            occurred_at=at, received_at=at, day=at.astimezone(ZoneInfo(TZ)).date()))
    data.writer.write(rows)
    return sorted({q[0] for q in QUIET})


CLAIMED = "claimed@a.example"
# a contact imported at step 3 whose first touch (step 5) is a page view under the email typed in: it counts
FIRST_CLAIMED = "first@a.example"


def claimed_page_view(data: RandomEngagement, at: datetime, person: str = CLAIMED):
    row = random_touch(data.rng, at, 0)
    return msgspec.structs.replace(row, account_id=ACCOUNTS[0], type="page_view", channel="web", person=person,
                                   email=person, minutes=Decimal(15), base_minutes=Decimal(15), occurred_at=at,
                                   received_at=at, day=at.astimezone(ZoneInfo(TZ)).date())


def email_open(data: RandomEngagement, at: datetime, person: str):
    """A signed touch of `person` (it confirms them, and with them their claimed minutes)."""
    return msgspec.structs.replace(claimed_page_view(data, at, person), type="email_open", channel="email",
                                   minutes=Decimal(3), base_minutes=Decimal(3))


def erase(client, db: str, person: str) -> None:
    """sinks/erasure.py's step for the aggregates: the person's rows deleted (no view fires), their
    accounts, days and hashed keys named to the stage evaluator."""
    eraser = ErasureStore(client, db)
    p = {"people": [person]}
    days, people = eraser._account_days(p), eraser._people(p)
    assert days and people
    client.command(f"ALTER TABLE {db}.engagement_daily DELETE WHERE person = %(p)s", parameters={"p": person},
                   settings={"mutations_sync": 2})
    for table in PERSON_DAY_TABLES:
        client.command(f"ALTER TABLE {db}.{table} DELETE WHERE person = %(p)s", parameters={"p": person},
                       settings={"mutations_sync": 2})
    eraser._mark_changed(days, people)


def test_incremental_equals_full_recomputation(zoned):
    client, db = zoned
    store = Store(client, db)
    register(client, db)
    start = datetime.now(timezone.utc).replace(hour=0, minute=30, second=0, microsecond=0)  # 16:30 or 17:30 local
    data = RandomEngagement(client, db, seed=7, spread_days=100)
    register(client, db, quiet_accounts(data, start))
    queued, marks, shifted = [], [], []
    for n, (hours, new, moves) in enumerate(STEPS):
        now = start + timedelta(hours=hours)
        if new or moves:
            data.round(now, new, moves)
        if n == 1:  # only a claimed email's page views: they count once a contacts import confirms it
            data.writer.write([claimed_page_view(data, now - timedelta(hours=2))])
        if n == 3:
            unconfirmed = evaluated(client, db, now)
            add_contacts(client, db, CONTACTS + [CLAIMED, FIRST_CLAIMED])
            assert evaluated(client, db, now) != unconfirmed
        if n == 5:
            register(client, db, ["acct-late"])
            data.writer.write([claimed_page_view(data, now - timedelta(minutes=5), FIRST_CLAIMED)])
        if n == 7:
            erase(client, db, "bob@a.example")
        stages.evaluate(store, now, margin=timedelta(0))  # nothing is written while it runs
        stages.record(store, stages.detect(store, now))
        queued.append(client.query(f"SELECT count() FROM {db}.stage_queue WHERE batch = %(b)s",
                                   parameters={"b": int(now.timestamp() * 1000)}).result_rows[0][0])
        shifted.append(people_shifted(client, db, now))
        full = evaluated(client, db, now)
        marks.append(mark_of(client, db, now) + (len(full),))
        assert snapshot(client, db) == [tuple(r) for r in full], (n, hours)
        assert account_days(client, db, f"{db}.account_daily") == account_days(
            client, db, f"{db}.engagement_person_daily"), (n, hours)
        assert kept_person_days(client, db) == fresh_person_days(client, db), (n, hours)
        assert kept_sums(client, db) == fresh_sums(client, db), (n, hours)
        assert kept_people(client, db) == fresh_people(client, db), (n, hours)
        recorded = dict((a, s) for a, s, _ in store.recorded_stages())
        assert {r[0]: recorded.get(r[0], "unaware") for r in full} == {r[0]: r[11] for r in full}, (n, hours)
    # after the first (everything), evaluations were incremental: some decided a few of the accounts
    assert queued[0] == 0 and any(0 < q < len(full) for q in queued[1:]), queued
    # each mark says why it ran and how many accounts it decided (Data health, the bench): the first and
    # each gap of more than MAX_GAP_DAYS decided every account; the contacts import (3) only the accounts
    # of the people it confirmed, besides those with new touches
    kinds = [m[0] for m in marks]
    assert all(decided == snapshotted for _, decided, _, snapshotted, _ in marks), marks
    assert all(decided == accounts for kind, decided, _, _, accounts in marks if kind == "full"), marks
    assert [n for n, kind in enumerate(kinds) if kind == "full"] == [0, 8, 10], kinds  # 8 and 10: gaps of days
    # 24 h: no touch, the same local day (16:30 after 01:30): nothing to decide; 48 h: a new local day
    assert marks[4][:2] == ("changed", 0) and kinds[6] == "day", marks
    # at a day boundary most people with a day on a window's edge are shifted, not recomputed
    assert all(shifted[n] > 0 for n, kind in enumerate(kinds) if kind == "day"), (kinds, shifted)
    # and after new touches on the same day, most of their people are moved by the differences
    assert all(shifted[n] > 0 for n, kind in enumerate(kinds) if kind == "changed" and STEPS[n][1]), (kinds, shifted)
    assert any(0 < m[1] < m[4] for m in marks if m[0] == "changed"), marks


# Half a tick or half a rebuild, as if the process died there (`v`: a version after the latest mark's):
TORN = {
    # a person's new values written to person_state only
    "person_state": "INSERT INTO {db}.person_state SELECT account_id, person_key, {v}, m7 + 50, m30 + 50, m90 + 50, "
                    "mtd, ytd, m_prior28, 1, 1, confirmed FROM {db}.person_state FINAL WHERE m90 > 0 LIMIT 1",
    # a person-day's new minutes written to person_day_minutes only (account_daily not told)
    "person_day_minutes": "INSERT INTO {db}.person_day_minutes SELECT account_id, person_key, day, channel, {v}, "
                          "minutes + 50, touches + 1, claimed FROM {db}.person_day_minutes FINAL WHERE minutes > 0 LIMIT 1",
    # a rebuild cleared the account-day rollup and died before writing anything
    "account_daily cleared": "TRUNCATE TABLE {db}.account_daily",
}


def history(zoned, seed: int) -> tuple:
    """200 touches over 40 days, three hours ago, not evaluated yet."""
    client, db = zoned
    store = Store(client, db)
    register(client, db)
    start = three_hours_ago()
    data = RandomEngagement(client, db, seed=seed, spread_days=40)
    data.round(start, 200, 0)
    return client, db, store, start, data


def first_tick(zoned, seed: int) -> tuple:
    """history() and the first evaluation of it (everything)."""
    client, db, store, start, data = history(zoned, seed)
    stages.evaluate(store, start, margin=timedelta(0))
    return client, db, store, start, data


def assert_exact(client, db: str, at) -> None:
    """The kept state after the evaluation at `at`: its snapshot is the full evaluation's, the kept person-days
    and people's sums are what a recomputation gives, and account_daily is the raw person-days' sum."""
    assert snapshot(client, db) == [tuple(r) for r in evaluated(client, db, at)]
    assert kept_person_days(client, db) == fresh_person_days(client, db)
    assert kept_sums(client, db) == fresh_sums(client, db)
    assert account_days(client, db, f"{db}.account_daily") == account_days(client, db, f"{db}.engagement_person_daily")
    assert people_without_state(client, db) == set()


@pytest.mark.parametrize("torn", sorted(TORN))
def test_a_torn_write_of_the_kept_state_is_rebuilt(zoned, torn):
    """A tick that died after writing its people or person-days but before its mark (or between two
    tables), or a rebuild that died after clearing, leaves a state no mark names: the next evaluation
    finds it, rebuilds, and stays equal to the full one."""
    client, db, store, start, data = first_tick(zoned, seed=11)
    marked = client.query(f"SELECT max(state_version) FROM {db}.stage_marks").result_rows[0][0]
    client.command(TORN[torn].format(db=db, v=marked + 5))
    later = start + timedelta(hours=1)
    data.round(later, 20, 5)
    stages.evaluate(store, later, margin=timedelta(0))
    assert mark_of(client, db, later)[0] == "full"
    assert_exact(client, db, later)


class Stopped(Exception):
    """The worker stopped part-way through a full tick (the stop deadline of SIGTERM, or SIGKILL)."""


# Where a full tick stops: after writing this slice of this step, before noting it (the slice cut short).
STOPS = {"re-fold": ("days", 2), "people": ("people", 1), "decide": ("decide", 3)}
SLICE_WRITES = {"days": (PersonDays, "rebuild_slice", 2), "people": (PersonState, "rebuild_slice", 3),
                "decide": (Store, "queue_account_slice", 3)}  # (class, method, the slice's position in its args)


def written_slices(monkeypatch) -> dict[str, list[int]]:
    """The slices each step of a full tick writes from now on, as they are written."""
    written: dict[str, list[int]] = {step: [] for step in SLICE_WRITES}
    for step, (cls, method, at) in SLICE_WRITES.items():
        def recording(self, *args, step=step, original=getattr(cls, method), at=at):
            written[step].append(args[at])
            return original(self, *args)
        monkeypatch.setattr(cls, method, recording)
    return written


def stop_full_tick(store: Store, monkeypatch, now: datetime, step: str, at: int) -> int:
    """The first tick, at `now`, stopped after writing slice `at` of `step`; returns its slices."""
    note = RebuildSteps.note

    def stopping(self, plan, name, slice_):
        if (name, slice_) == (step, at):
            raise Stopped
        note(self, plan, name, slice_)

    monkeypatch.setattr(RebuildSteps, "note", stopping)
    with pytest.raises(Stopped):
        stages.evaluate(store, now, margin=timedelta(0))
    monkeypatch.setattr(RebuildSteps, "note", note)
    assert store.client.query(f"SELECT count() FROM {store.database}.stage_marks").result_rows[0][0] == 0
    return store.client.query(f"SELECT any(slices) FROM {store.database}.stage_rebuild_steps").result_rows[0][0]


@pytest.mark.parametrize("stop", sorted(STOPS))
def test_a_full_tick_stopped_part_way_is_resumed_where_it_stopped(zoned, monkeypatch, stop):
    """A full tick stopped after writing a slice but before noting it is finished by the next tick (touches
    landed meanwhile): only the slices not noted are written, the one cut short again (its rows deleted first: a
    second copy of them doubled the account sums), the rebuild is marked as the one begun, and the tick after
    takes in what landed since it began. At 100M a stop restarted a ten-minute rebuild from its first slice."""
    client, db, store, start, data = history(zoned, seed=17)
    monkeypatch.setattr(stages, "ROWS_PER_SLICE", 50)
    step, at = STOPS[stop]
    slices = stop_full_tick(store, monkeypatch, start, step, at)
    assert slices > max(a for _, a in STOPS.values())
    data.round(start + timedelta(minutes=20), 40, 10)
    written = written_slices(monkeypatch)
    tick = stages.evaluate(store, start + timedelta(minutes=30), margin=timedelta(0))
    order = list(SLICE_WRITES)
    assert written == {s: [] if order.index(s) < order.index(step) else list(range(at if s == step else 0, slices))
                       for s in order}
    assert tick.at == start and mark_of(client, db, start)[0] == "full"
    last = start + timedelta(hours=1)
    stages.evaluate(store, last, margin=timedelta(0))
    assert mark_of(client, db, last)[0] == "changed"
    assert_exact(client, db, last)


def test_a_stopped_full_tick_older_than_the_changes_kept_is_begun_again(zoned, monkeypatch):
    """Resumed after more days than the changes are kept, a stopped rebuild would be followed by another: a
    new one is begun instead, from its first slice, and is exact."""
    client, db, store, start, data = history(zoned, seed=19)
    monkeypatch.setattr(stages, "ROWS_PER_SLICE", 50)
    stop_full_tick(store, monkeypatch, start, "people", 1)
    later = start + timedelta(days=stages.MAX_GAP_DAYS + 1)
    data.round(later - timedelta(hours=1), 20, 0)
    written = written_slices(monkeypatch)
    tick = stages.evaluate(store, later, margin=timedelta(0))
    assert tick.at == later and written["days"][0] == 0 and written["people"][0] == 0
    assert_exact(client, db, later)


def stop_at(monkeypatch, client, name: str) -> None:
    """The tick dies as it would run `name`: a statement of sinks/stage_state.py or a method of Store."""
    if hasattr(Store, name):
        def stopped(*args, **kwargs):
            raise Stopped
        monkeypatch.setattr(Store, name, stopped)
        return
    monkeypatch.setattr(stage_state, name, f"-- stop at {name}")
    command = client.command

    def stopping(sql, *args, **kwargs):
        if sql.startswith("-- stop at"):
            raise Stopped
        return command(sql, *args, **kwargs)

    monkeypatch.setattr(client, "command", stopping)


# Where a tick of changed accounts (or a new day's) dies: (hours after the first tick it runs at, what stops it,
# the materialized view detached meanwhile: one insert feeds two tables block by block, and a block cut short
# can reach one of them only).
DIED = {"after its person-days": (1, "KEEP_BEFORE", None),
        "between its people's two writes": (1, "MOVE_CHANGED", None),
        "before its decisions": (1, "queue_stage_accounts", None),
        "with person-days the account days never saw": (1, "KEEP_BEFORE", "account_daily_mv"),
        "with people the account sums never saw": (1, "queue_stage_accounts", "account_state_mv"),
        "moving a new day": (24, "queue_stage_accounts", None)}


def snapshot_sources(monkeypatch) -> list[bool]:
    """Whether each snapshot round from now on read account_daily (True) or the views over every touch."""
    sources: list[bool] = []
    monkeypatch.setattr(Store, "snapshot_views", lambda self, now, rollup_in_step=False: sources.append(rollup_in_step))
    return sources


def test_the_snapshots_read_the_rollup_while_a_tick_of_changed_accounts_is_part_way(zoned, monkeypatch):
    """Under load a tick of changed accounts runs most of the time. Part-way (its person-days written, no mark) it
    leaves every account in account_daily, some moved already, so the dashboard's snapshot round reads it there: it
    read the views over every touch instead, about 100 s and 6 GB of the engine at 100M. A full tick part-way (the
    rollup cleared, written again slice by slice) still sends the round to the views."""
    client, db, store, start, data = first_tick(zoned, seed=29)
    dying = start + timedelta(hours=1)
    data.round(dying - timedelta(minutes=30), 40, 10)
    stop_at(monkeypatch, client, "KEEP_BEFORE")
    with pytest.raises(Stopped):
        stages.evaluate(store, dying, margin=timedelta(0))
    monkeypatch.undo()
    marked = PersonState(client, db).marked_version()
    assert PersonDays(client, db).torn(marked)  # what sent the round to the views before
    sources = snapshot_sources(monkeypatch)
    stages.snapshot_views(store, dying)
    monkeypatch.undo()
    client.command(f"INSERT INTO {db}.engagement_changes SELECT 'refold_all', '', toDate(0), now64(3, 'UTC')")
    monkeypatch.setattr(stages, "ROWS_PER_SLICE", 50)
    note = RebuildSteps.note

    def stopping(self, plan, name, slice_):
        if (name, slice_) == ("days", 1):
            raise Stopped
        note(self, plan, name, slice_)

    monkeypatch.setattr(RebuildSteps, "note", stopping)
    with pytest.raises(Stopped):
        stages.evaluate(store, dying + timedelta(minutes=10), margin=timedelta(0))
    recorded = snapshot_sources(monkeypatch)
    stages.snapshot_views(store, dying + timedelta(minutes=10))
    assert sources + recorded == [True, False]


@pytest.mark.parametrize("died", sorted(DIED))
def test_a_tick_that_died_part_way_is_repaired_not_rebuilt(zoned, monkeypatch, died):
    """A tick that died part-way left writes no mark names. It had noted its version as it began, so the next
    tick repairs what it left (the sums it wrote set to their kept parts, its people recomputed) and takes in
    every change since the last mark: a tick of its own kind, not a rebuild (at 100M, twenty minutes), and
    exact. Without the repair the same tick drifts; a write nobody noted still means a rebuild (TORN above)."""
    client, db, store, start, data = first_tick(zoned, seed=23)
    hours, stop, detached = DIED[died]
    dying = start + timedelta(hours=hours)
    data.round(dying - timedelta(minutes=30), 40, 10)
    if detached:
        client.command(f"DETACH TABLE {db}.{detached}")
    stop_at(monkeypatch, client, stop)
    with pytest.raises(Stopped):
        stages.evaluate(store, dying, margin=timedelta(0))
    monkeypatch.undo()
    if detached:
        client.command(f"ATTACH TABLE {db}.{detached}")
    marked = PersonState(client, db).marked_version()
    assert PersonState(client, db).torn(marked) or PersonDays(client, db).torn(marked)
    data.round(dying + timedelta(minutes=20), 30, 5)
    after = dying + timedelta(minutes=30)
    stages.evaluate(store, after, margin=timedelta(0))
    assert mark_of(client, db, after)[0] == ("day" if hours >= 24 else "changed")
    assert_exact(client, db, after)
    last = after + timedelta(hours=1)
    data.round(last - timedelta(minutes=10), 20, 5)
    stages.evaluate(store, last, margin=timedelta(0))
    assert mark_of(client, db, last)[0] == "changed"
    assert_exact(client, db, last)


def test_a_tick_at_a_moment_already_ticked_changes_nothing(zoned):
    """A clock set back to the moment of an earlier tick would name its batch again, and the earlier tick's
    differences would be taken twice: that tick refuses to run, and the next one is exact."""
    client, db, store, start, data = first_tick(zoned, seed=5)
    later = start + timedelta(hours=1)
    data.round(later, 30, 5)
    stages.evaluate(store, later, margin=timedelta(0))
    kept = account_days(client, db, f"{db}.account_daily")
    data.round(later, 30, 5)
    with pytest.raises(RuntimeError, match="already ran"):
        stages.evaluate(store, later, margin=timedelta(0))
    assert account_days(client, db, f"{db}.account_daily") == kept
    last = later + timedelta(hours=1)
    stages.evaluate(store, last, margin=timedelta(0))
    assert mark_of(client, db, last)[0] == "changed"
    assert_exact(client, db, last)


def test_a_large_contacts_import_rebuilds_slice_by_slice(zoned, monkeypatch):
    """An import naming more people than CONTACTS_TO_RECOMPUTE (a first import of the CRM's contacts)
    rebuilds every person's sums rather than recomputing its people in one batch; a small one does not."""
    client, db = zoned
    store = Store(client, db)
    register(client, db)
    monkeypatch.setattr(stages, "CONTACTS_TO_RECOMPUTE", 1)
    start = three_hours_ago()
    data = RandomEngagement(client, db, seed=3, spread_days=40)
    data.round(start, 200, 0)
    data.writer.write([claimed_page_view(data, start - timedelta(hours=1))])
    stages.evaluate(store, start, margin=timedelta(0))
    kinds = []
    for hours, contacts in ((1, [CLAIMED]), (2, CONTACTS + ["nobody@a.example"])):
        now = start + timedelta(hours=hours)
        add_contacts(client, db, contacts)
        stages.evaluate(store, now, margin=timedelta(0))
        kinds.append(mark_of(client, db, now)[0])
        assert snapshot(client, db) == [tuple(r) for r in evaluated(client, db, now)]
        assert kept_sums(client, db) == fresh_sums(client, db)
    assert kinds == ["changed", "full"]


# A step of a tick that recomputes people whole, and the hours after the first tick that tick runs at: the
# whole tick ("full") rebuilds everyone; a new reporting day's ("day") recomputes the changed people.
WHOLE_STEPS = {"full": (PersonState, "clear", 0), "day": (PersonState, "update", 24)}


@pytest.mark.parametrize("kind", sorted(WHOLE_STEPS))
def test_touches_that_land_while_a_tick_recomputes_people_are_counted_once(zoned, monkeypatch, kind):
    """Touches stored after a tick recomputed the person-days but before it recomputed people (the story of the
    dashboard tests, whose first tick rebuilt while the touches arrived): the people's sums are computed from the
    person-days that tick kept, not from the raw ones, so the next tick adds those touches once. Counted from the
    raw person-days, they were in the people's sums already and the next tick added them again."""
    client, db, store, start, data = history(zoned, seed=13)
    target, step, hours = WHOLE_STEPS[kind]
    tick = start + timedelta(hours=hours)
    if hours:
        stages.evaluate(store, start, margin=timedelta(0))
    original = getattr(target, step)

    def landing_first(*args, **kwargs):
        monkeypatch.setattr(target, step, original)
        data.round(tick, 60, 0)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, step, landing_first)
    stages.evaluate(store, tick, margin=timedelta(0))
    assert getattr(target, step) is original and mark_of(client, db, tick)[0] == kind
    later = tick + timedelta(hours=1)
    stages.evaluate(store, later, margin=timedelta(0))
    assert mark_of(client, db, later)[0] == "changed"
    assert_exact(client, db, later)


# A new email's touches, tick by tick (hours after the first tick): claimed page views wait for a confirmation.
NEW_PEOPLE = {"new@b.example": ((1, "page_view"), (2, "email_open")),
              "together@b.example": ((1, "page_view"), (1, "email_open"))}


def test_a_new_person_moves_by_differences_and_a_later_confirmation_counts_their_earlier_days(zoned):
    """A person with no kept state is new: a tick moves them by their changed person-days alone (all they have)
    instead of searching every kept person-day for them. That holds only if a person whose claimed minutes wait
    for a confirmation is kept too, at zero: a signed touch a tick later recomputes them whole and counts the
    page view of the tick before. Kept only when non-zero, they were taken for new then and it was lost."""
    client, db, store, start, data = first_tick(zoned, seed=17)
    for hours in (1, 2):
        now = start + timedelta(hours=hours)
        data.writer.write([(claimed_page_view if kind == "page_view" else email_open)(data, now, person)
                           for person, touches in NEW_PEOPLE.items() for at, kind in touches if at == hours])
        stages.evaluate(store, now, margin=timedelta(0))
        assert mark_of(client, db, now)[0] == "changed"
        assert_exact(client, db, now)
    counted = {r[0] for r in client.query(f"SELECT account_id FROM {db}.person_state FINAL WHERE m7 >= 18 AND "
                                          f"confirmed = 1").result_rows}
    assert ACCOUNTS[0] in counted


def test_a_store_kept_before_every_person_had_a_state_is_rebuilt_once_migrated(zoned, settings):
    """A store kept by the ticks before 0053 lacks the zero states of people whose claimed minutes wait (the
    test above): its migration empties the people's state, so the next tick rebuilds everyone, and the page
    view of such a person counts once a signed touch confirms them."""
    client, db, store, start, data = first_tick(zoned, seed=19)
    person, now = "waiting@b.example", start + timedelta(hours=1)
    data.writer.write([claimed_page_view(data, now, person)])
    stages.evaluate(store, now, margin=timedelta(0))
    client.command(f"ALTER TABLE {db}.person_state DELETE WHERE person_key = reinterpretAsUInt128(sipHash128(%(p)s))",
                   parameters={"p": person}, settings={"mutations_sync": 2})
    assert people_without_state(client, db)  # as the ticks before left it
    upgrade = next(m for m in load_migrations(settings) if m.name == "0053_person_state_for_everyone.sql")
    for statement in upgrade.statements():
        client.command(statement)
    later = start + timedelta(hours=2)
    data.writer.write([email_open(data, later, person)])
    stages.evaluate(store, later, margin=timedelta(0))
    assert mark_of(client, db, later)[0] == "full"
    assert_exact(client, db, later)


def test_a_clock_set_back_between_ticks_is_neither_a_torn_state_nor_hidden_behind_the_last_tick(zoned):
    """A tick whose clock reads earlier than the last one's (a clock stepped back) still writes a newer version
    of the kept state, and stamps its mark and snapshot rows 1 ms after the last tick's: the next tick finds the
    state its mark names and moves by its changes, not a rebuild, and the accounts it changed read as it decided
    them. (Stamped with its own clock, its rows lost to the last tick's in the snapshot, which keeps each
    account's latest stamp: those accounts read as the tick before left them until they changed again.)"""
    client, db, store, start, data = first_tick(zoned, seed=23)
    stamps = [start]
    for minutes in (60, 30, 120):  # the second tick's clock is half an hour behind the first's
        now = start + timedelta(minutes=minutes)
        data.round(now, 20, 3)
        tick = stages.evaluate(store, now, margin=timedelta(0))
        assert tick.at == max(now, stamps[-1] + timedelta(milliseconds=1)), minutes
        stamps.append(tick.at)
        assert mark_of(client, db, tick.at)[0] == "changed", minutes
        assert_exact(client, db, now)
