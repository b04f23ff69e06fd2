"""The stage tick's kept per-person window sums (issue 17; migrations 0038_person_state.sql, 0044, 0150).

`person_state` holds each (account, person)'s contribution to the rules of account_engagement as at the
reporting day of its account, and whether the person is confirmed; `account_state` the sums per account. An
account is at the day of the tick that wrote it, or while a new day moves the accounts slice by slice
(0050_day_moves.sql), at the day before until its slice (or a change of its own) moves it.
A tick moves the people whose days changed since its last mark by the differences of those person-days
(sinks/day_state.py keeps them per tick; a new person's are all their days), and recomputes from their own
days only those kept before whose confirmation the change may move, and those a contacts import names;
when the reporting day moved, it recomputes the changed people and those whose 400 days of confirmation
gained or lost a day, and shifts the others with a day on a window's edge by that day's minutes. Each
write carries the new values with the old ones, and account_state adds the difference. A rebuild (the
first tick, a large contacts import, a change of the caps, a torn write) computes everyone again.

Every write is versioned, with a row for account '' that carries only the version, so the account sums
always show the last version written: a tick that died between the two tables (or before its mark)
leaves a version its mark does not name, and `torn` finds it.
"""
from __future__ import annotations

from datetime import date
from typing import Sequence

from clickhouse_connect.driver.client import Client

from sinks.stage_marks import LATEST_MARK, MOVED

_VALUES = ("m7", "m30", "m90", "mtd", "ytd", "m_prior28", "engaged", "over_20")
_NEW = ", ".join(f"n.{v}" for v in _VALUES)
_OLD = ", ".join(f"o.{v}" for v in _VALUES)
_ZEROS = ", ".join("0" for _ in _VALUES)
_INTO = ("INSERT INTO {db}.person_state_in (account_id, person_key, version, " + ", ".join(_VALUES) + ", "
         + ", ".join(f"o_{v}" for v in _VALUES) + ", confirmed) ")
_LATEST = ", ".join(f"argMax({v}, version) AS {v}" for v in (*_VALUES, "confirmed"))
# the version's own row: account_state's max(version) is the last write even when it changed nobody
_VERSION_ROW = f"SELECT '', toUInt128(0), %(version)s, {_ZEROS}, {_ZEROS}, 0"


def _kept(people: str, columns: str = "account_id, person_key") -> str:
    """The kept state (person_state's latest version) of the (account, person) pairs `people` selects."""
    return (f"SELECT {columns}, {_LATEST} FROM {{db}}.person_state WHERE (account_id, person_key) IN ({people}) "
            "GROUP BY account_id, person_key")


# A person with no kept state (their old state `o`, LEFT JOINed, missing): a new one (see FRESH).
_UNKEPT = "o.account_id = ''"

# A rebuild of one slice of the accounts (hash of the account): everyone's values, nothing to take back.
REBUILD_SLICE = (
    _INTO + "SELECT account_id, person_key, %(version)s, {new}, {zeros}, n.confirmed "
    "FROM {db}.person_windows(today = %(today)s, slices = %(slices)s, slice = %(slice)s, batch = 0) AS n "
    "UNION ALL " + _VERSION_ROW)

# The people of one person_queue batch: their values now, with what they had (none: zeros); unchanged
# people are not written, but new ones are (see FRESH).
APPLY_BATCH = (
    _INTO + "SELECT q.account_id, q.person_key, %(version)s, {new}, {old}, n.confirmed "
    "FROM (SELECT account_id, person_key FROM {db}.person_queue WHERE batch = %(batch)s) AS q "
    "LEFT JOIN {db}.person_windows(today = %(today)s, slices = 1, slice = 0, batch = %(batch)s) AS n "
    "    ON n.account_id = q.account_id AND n.person_key = q.person_key "
    "LEFT JOIN ({before}) AS o ON o.account_id = q.account_id AND o.person_key = q.person_key "
    "WHERE " + _UNKEPT + " OR ({new}, n.confirmed) != ({old}, o.confirmed) "
    "UNION ALL " + _VERSION_ROW)

# What the people of person_queue `batch` had (a tick that moves people by differences read it already)
_QUEUED_BEFORE = _kept("SELECT account_id, person_key FROM {db}.person_queue WHERE batch = %(batch)s")

# Which days each window of person_windows (0150_stage_tick_views.sql) holds as at a reporting day `t`.
_WINDOWS = {"m7": "day > {t} - 7", "m30": "day > {t} - 30", "m90": "day > {t} - 90",
            "mtd": "day >= toStartOfMonth({t})", "ytd": "day >= toStartOfYear({t})",
            "m_prior28": "day BETWEEN {t} - 34 AND {t} - 7"}
_SUMS = list(_WINDOWS)


def _moved(window: str, claimed: int) -> str:
    """What the reporting day's move from `before` to `today` adds to a window's minutes of one kind."""
    def inside(t: str) -> str:
        return f"claimed = {claimed} AND day > {t} - 400 AND day <= {t} AND {_WINDOWS[window].format(t=t)}"
    return f"sumIf(minutes, {inside('toDate(%(today)s)')}) - sumIf(minutes, {inside('toDate(%(before)s)')})"


def _changed(window: str, claimed: int) -> str:
    """What a tick's changed person-days (person_day_batch) add to a window's minutes of one kind."""
    t = "toDate(%(today)s)"
    return (f"sumIf(minutes - o_minutes, claimed = {claimed} AND day > {t} - 400 AND day <= {t} "
            f"AND {_WINDOWS[window].format(t=t)})")


def _move(differences: str, join: str, old: str, confirmed: str = "o.confirmed") -> str:
    """People's sums moved by `differences` (per person: u_<sum> of minutes that always count, c_<sum> of
    claimed ones, which count only for a confirmed person) from their old state `old` (`join`ed to them);
    engaged and over_20 follow. A person with no old state (a LEFT `join`: new) has no other days, so their
    claimed minutes count as soon as `confirmed`, and they are written even at zero (see FRESH); others left
    as they were are not written."""
    return (
        _INTO + "SELECT account_id, person_key, version, " + ", ".join(_VALUES) + ", "
        + ", ".join(f"o_{v}" for v in _VALUES) + ", confirmed "
        "FROM (SELECT d.account_id AS account_id, d.person_key AS person_key, %(version)s AS version, "
        f"{_UNKEPT} AS fresh, {confirmed} AS confirmed, o.confirmed AS was, "
        + ", ".join(f"o.{v} + d.u_{v} + if(was = 1 OR (fresh AND confirmed = 1), d.c_{v}, 0) AS {v}"
                    for v in _SUMS) + ", "
        "toUInt8(d.person_key != reinterpretAsUInt128(sipHash128('')) AND m90 > 0) AS engaged, "
        "toUInt8(d.person_key != reinterpretAsUInt128(sipHash128('')) AND m90 >= 20) AS over_20, "
        + ", ".join(f"o.{v} AS o_{v}" for v in _VALUES) + " "
        f"FROM ({differences}) AS d {join} ({old}) AS o "
        "    ON o.account_id = d.account_id AND o.person_key = d.person_key) "
        "WHERE fresh OR (" + ", ".join(_VALUES) + ", confirmed) != (" + ", ".join(f"o_{v}" for v in _VALUES)
        + ", was)")


_NOT_WHOLE = ("(account_id, person_key) NOT IN "
              "(SELECT account_id, person_key FROM {db}.person_queue WHERE batch = %(batch)s)")

_MOVING = "account_id IN (SELECT account_id FROM {db}.day_moves WHERE batch = %(batch)s)"

# The people of the accounts a tick moves to a new day (day_moves `batch`) with a day on a window's edge
# (not those recomputed whole: person_queue `batch`): their sums shifted by those days' minutes.
SHIFT = _move(
    "SELECT account_id, person_key, "
    + ", ".join(f"{_moved(v, 0)} AS u_{v}, {_moved(v, 1)} AS c_{v}" for v in _SUMS) + " "
    "FROM (SELECT account_id, person_key, day, channel, argMax(minutes, version) AS minutes, "
    "             argMax(claimed, version) AS claimed "
    "      FROM {db}.person_day_minutes WHERE day IN %(days)s AND " + _MOVING + " "
    "      GROUP BY account_id, person_key, day, channel) "
    "WHERE " + _NOT_WHOLE + " GROUP BY account_id, person_key",
    "INNER JOIN",
    _kept("SELECT account_id, person_key FROM {db}.person_day_minutes WHERE day IN %(days)s AND " + _MOVING))

# The people whose person-days a tick changed (person_day_batch, sinks/day_state.py), as they were
# (none kept: zeros, not confirmed).
KEEP_BEFORE = "INSERT INTO {db}.person_state_before " + _kept(
    "SELECT account_id, person_key FROM {db}.person_day_batch WHERE batch = %(batch)s",
    columns="%(batch)s, account_id, person_key")
_BEFORE = "SELECT * FROM {db}.person_state_before WHERE batch = %(batch)s"


def _signed(b: str = "") -> str:
    """A changed person-day (of person_day_batch `b`) with a signed touch in the 400 days: it confirms its person."""
    return (f"{b}claimed = 0 AND {b}touches != 0 AND {b}day > toDate(%(today)s) - 400 "
            f"AND {b}day <= toDate(%(today)s)")


# FRESH: every person with a kept person-day has a kept state, even of zeros (a rebuild writes everyone, a
# tick every new person), so a person with none (a new one) has no days but the tick's changed ones: their
# differences are their whole sums, and their confirmation is the batch's own (a signed touch, or a contact).
# Recomputing them from every kept person-day, as before, searched every part of person_day_minutes for
# each; at 100M touches a tick of 1,000 new people's touches spent about 0.7 s there (BENCHMARKS.md).
_CONTACT = ("person_key IN (SELECT person_key FROM {db}.contact_keys WHERE person_key IN "
            "(SELECT person_key FROM {db}.person_day_batch WHERE batch = %(batch)s))")

# Of those, recomputed whole: the people kept before whose confirmation the change may move, and with it
# their claimed minutes: a person-day that lost every touch (moved away, erased), or an email not confirmed
# that now has a signed touch or is a contact. The others move by their differences (MOVE_CHANGED); a
# cookie's confirmation moves no minutes (it has no claimed ones): a signed touch confirms it there.
QUEUE_WHOLE = (
    "SELECT b.account_id, b.person_key FROM {db}.person_day_batch AS b "
    "LEFT JOIN (" + _BEFORE + ") AS o ON o.account_id = b.account_id AND o.person_key = b.person_key "
    "WHERE b.batch = %(batch)s "
    "  AND ((b.touches = 0 AND b.o_touches != 0) "
    "       OR (b.named = 1 AND NOT (" + _UNKEPT + ") AND o.confirmed = 0 "
    "           AND (" + _signed("b.") + " OR b." + _CONTACT + ")))")

MOVE_CHANGED = _move(
    "SELECT account_id, person_key, max(toUInt8(" + _signed() + ")) AS signed, max(" + _CONTACT + ") AS contact, "
    + ", ".join(f"{_changed(v, 0)} AS u_{v}, {_changed(v, 1)} AS c_{v}" for v in _SUMS) + " "
    "FROM {db}.person_day_batch WHERE batch = %(batch)s AND " + _NOT_WHOLE + " GROUP BY account_id, person_key",
    "LEFT JOIN", _BEFORE,
    confirmed=f"if({_UNKEPT}, greatest(d.signed, d.contact), greatest(o.confirmed, d.signed))")

# People whose days changed (the tick's person_day_queue batch: sinks/day_state.py), and those of the
# accounts the tick moves to a new day (its day_moves batch, sinks/stage_marks.py) with days on the given
# days: their windows gained or lost a day.
QUEUE_CHANGED = "SELECT account_id, person_key FROM {db}.person_day_queue WHERE batch = %(batch)s"
QUEUE_ON_DAYS = ("SELECT account_id, person_key FROM {db}.person_days "
                 "WHERE account_id IN (SELECT account_id FROM {db}.day_moves WHERE batch = %(batch)s) "
                 "  AND day IN %(days)s")


# After a tick that died part-way (sinks/stage_marks.py, stage_ticks_begun): the people it wrote, and those whose
# kept person-days it changed (their sums may not have followed), recomputed whole from their kept person-days as
# at the accounts' reporting day; first, each account it wrote to either table set to the sum of its people's
# kept states (one insert feeds both tables block by block: a cut-short one may have reached only one of them).
TORN_PEOPLE = ("SELECT account_id, person_key FROM {db}.person_state WHERE version > %(marked)s AND account_id != '' "
               "UNION DISTINCT SELECT account_id, person_key FROM {db}.person_day_minutes WHERE version > %(marked)s")
_TORN_ACCOUNTS = ("SELECT account_id FROM {db}.person_state WHERE version > %(marked)s AND account_id != '' "
                  "UNION DISTINCT SELECT account_id FROM {db}.account_state WHERE account_id != '' "
                  "GROUP BY account_id HAVING max(version) > %(marked)s")
_SUMMED = ", ".join(f"sum({v}) AS {v}" for v in _VALUES)
REPAIR_SUMS = (
    "INSERT INTO {db}.account_state (account_id, " + ", ".join(_VALUES) + ", version) "
    "SELECT t.account_id, " + ", ".join(f"toInt64(k.{v}) - s.{v}" if v in ("engaged", "over_20") else f"k.{v} - s.{v}"
                                         for v in _VALUES) + ", %(version)s "
    "FROM (" + _TORN_ACCOUNTS + ") AS t "
    "LEFT JOIN (SELECT account_id, " + _SUMMED + " FROM {db}.person_state FINAL "
    "           WHERE account_id IN (" + _TORN_ACCOUNTS + ") GROUP BY account_id) AS k USING (account_id) "
    "LEFT JOIN (SELECT account_id, " + _SUMMED + " FROM {db}.account_state "
    "           WHERE account_id IN (" + _TORN_ACCOUNTS + ") GROUP BY account_id) AS s USING (account_id)")


class PersonState:
    TABLES = ("person_state", "account_state")

    def __init__(self, client: Client, database: str):
        self.client, self.db = client, database

    def marked_version(self) -> int:
        """The state version the latest stage mark left (0: none kept, e.g. marks from before 0038)."""
        return self.client.query(f"SELECT argMax(state_version, {LATEST_MARK}) FROM {self.db}.stage_marks"
                                 ).result_rows[0][0] or 0

    def torn(self, marked: int) -> bool:
        """Whether the kept state is not the one the latest mark names: a write it does not name (a tick
        that died before its mark, or between the two tables), or none at all."""
        written, newer = self._written(marked)
        return marked == 0 or written != marked or newer > 0

    def written_after(self, version: int) -> bool:
        """Whether anything of a version after `version` is kept: a tick begun after it wrote."""
        written, newer = self._written(version)
        return written > version or newer > 0

    def _written(self, version: int) -> tuple[int, int]:
        """The last version written (account_state's latest) and the kept people of versions after `version`."""
        db = self.db
        written = self.client.query(f"SELECT max(version) FROM {db}.account_state").result_rows[0][0] or 0
        newer = self.client.query(f"SELECT count() FROM {db}.person_state WHERE version > %(v)s",
                                  parameters={"v": version}).result_rows[0][0]
        return written, newer

    def repair_after(self, marked: int, batch: int, version: int, today: date, day_from: date) -> None:
        """The people's state made whole again after a tick that died part-way writing versions above `marked`
        (TORN_PEOPLE, REPAIR_SUMS), each recomputed as at its account's reporting day: `today` once a new day's
        move moved it (by a tick that marked), else `day_from` (the same day when no move is pending). Queued as
        person_queue `batch` and the one below."""
        db = self.db
        self.client.command(REPAIR_SUMS.format(db=db), parameters={"marked": marked, "version": version})
        moved = f"account_id IN ({MOVED.format(db=db)})"
        groups = [(batch, today, "1")] if day_from == today else [
            (batch, today, moved), (batch - 1, day_from, f"NOT {moved}")]
        for queue, _, which in groups:
            self.client.command(f"INSERT INTO {db}.person_queue SELECT %(batch)s, account_id, person_key "
                                f"FROM ({TORN_PEOPLE.format(db=db)}) WHERE {which} GROUP BY account_id, person_key",
                                parameters={"marked": marked, "batch": queue, "today": today})
        for queue, day, _ in groups:
            self.client.command(APPLY_BATCH.format(db=db, new=_NEW, old=_OLD, before=_QUEUED_BEFORE.format(db=db)),
                                parameters={"batch": queue, "today": day, "version": version})

    def clear(self) -> None:
        for table in self.TABLES:
            self.client.command(f"TRUNCATE TABLE {self.db}.{table}")

    def rebuild_slice(self, today: date, version: int, slices: int, index: int) -> None:
        self.client.command(REBUILD_SLICE.format(db=self.db, new=_NEW, zeros=_ZEROS), parameters={
            "version": version, "today": today, "slices": int(slices), "slice": int(index)})

    def update(self, batch: int, days: Sequence[date], today: date, version: int, whole: bool = False) -> None:
        """The people whose days person_day_queue `batch` holds, and those of the accounts day_moves `batch`
        moves to a new day with days on `days`: recomputed from their own days when `days` or `whole` (a new
        reporting day, a contacts import), else moved by the differences of their changed person-days, only
        those whose confirmation may move recomputed. person_queue `batch` names the people recomputed (the
        bench counts them there)."""
        db = self.db
        parameters = {"batch": batch, "days": list(days), "today": today, "version": version}
        whole = whole or bool(days)
        if whole:
            sources = [QUEUE_CHANGED] + ([QUEUE_ON_DAYS] if days else [])
        else:
            self.client.command(KEEP_BEFORE.format(db=db), parameters=parameters)
            sources = [QUEUE_WHOLE]
        self.client.command(
            f"INSERT INTO {db}.person_queue SELECT %(batch)s, account_id, person_key "
            f"FROM ({' UNION ALL '.join(sources).format(db=db)}) GROUP BY account_id, person_key",
            parameters=parameters)
        before = (_QUEUED_BEFORE if whole else _BEFORE).format(db=db)
        self.client.command(APPLY_BATCH.format(db=db, new=_NEW, old=_OLD, before=before), parameters=parameters)
        if not whole:
            self.client.command(MOVE_CHANGED.format(db=db), parameters=parameters)

    def shift(self, batch: int, days: Sequence[date], before: date, today: date, version: int) -> None:
        """Move the other people of the accounts day_moves `batch` names with days on `days` from reporting
        day `before` to `today` by those days' minutes (their confirmation cannot change: its 400 days' edges
        are recomputed whole by update)."""
        self.client.command(SHIFT.format(db=self.db), parameters={
            "batch": batch, "days": list(days), "before": before, "today": today, "version": version})
