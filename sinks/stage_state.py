"""The stage tick's kept per-person window sums (issue 17; migrations 0038_person_state.sql, 0044, 0150).

`person_state` holds each (account, person)'s contribution to the rules of account_engagement as at the
day of the tick that wrote it, and whether the person is confirmed; `account_state` the sums per account.
A tick recomputes the people whose days changed since its last mark (and those a contacts import names)
from their own days; when the reporting day moved, it recomputes those whose 400 days of confirmation
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

_VALUES = ("m7", "m30", "m90", "mtd", "ytd", "m_prior28", "engaged", "over_20")
_NEW = ", ".join(f"n.{v}" for v in _VALUES)
_OLD = ", ".join(f"o.{v}" for v in _VALUES)
_ZEROS = ", ".join("0" for _ in _VALUES)
_INTO = ("INSERT INTO {db}.person_state_in (account_id, person_key, version, " + ", ".join(_VALUES) + ", "
         + ", ".join(f"o_{v}" for v in _VALUES) + ", confirmed) ")
_LATEST = ", ".join(f"argMax({v}, version) AS {v}" for v in (*_VALUES, "confirmed"))
# the version's own row: account_state's max(version) is the last write even when it changed nobody
_VERSION_ROW = f"SELECT '', toUInt128(0), %(version)s, {_ZEROS}, {_ZEROS}, 0"

# A rebuild of one slice of the accounts (hash of the account): everyone's values, nothing to take back.
REBUILD_SLICE = (
    _INTO + "SELECT account_id, person_key, %(version)s, {new}, {zeros}, n.confirmed "
    "FROM {db}.person_windows(today = %(today)s, slices = %(slices)s, slice = %(slice)s, batch = 0) AS n "
    "UNION ALL " + _VERSION_ROW)

# The people of one person_queue batch: their values now, with what they had (none: zeros); unchanged
# people are not written.
APPLY_BATCH = (
    _INTO + "SELECT q.account_id, q.person_key, %(version)s, {new}, {old}, n.confirmed "
    "FROM (SELECT account_id, person_key FROM {db}.person_queue WHERE batch = %(batch)s) AS q "
    "LEFT JOIN {db}.person_windows(today = %(today)s, slices = 1, slice = 0, batch = %(batch)s) AS n "
    "    ON n.account_id = q.account_id AND n.person_key = q.person_key "
    "LEFT JOIN (SELECT account_id, person_key, " + _LATEST + " "
    "           FROM {db}.person_state WHERE (account_id, person_key) IN "
    "               (SELECT account_id, person_key FROM {db}.person_queue WHERE batch = %(batch)s) "
    "           GROUP BY account_id, person_key) AS o "
    "    ON o.account_id = q.account_id AND o.person_key = q.person_key "
    "WHERE ({new}, n.confirmed) != ({old}, o.confirmed) "
    "UNION ALL " + _VERSION_ROW)

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


# The people with a day on a window's edge (not those recomputed whole: person_queue `batch`): their sums
# shifted by those days' minutes, claimed ones only for a confirmed person; engaged and over_20 follow.
SHIFT = (
    _INTO + "SELECT * FROM (SELECT d.account_id AS account_id, d.person_key AS person_key, %(version)s, "
    + ", ".join(f"o.{v} + d.u_{v} + if(o.confirmed = 1, d.c_{v}, 0) AS {v}" for v in _SUMS) + ", "
    "toUInt8(d.person_key != reinterpretAsUInt128(sipHash128('')) AND m90 > 0) AS engaged, "
    "toUInt8(d.person_key != reinterpretAsUInt128(sipHash128('')) AND m90 >= 20) AS over_20, "
    + ", ".join(f"o.{v} AS o_{v}" for v in _VALUES) + ", o.confirmed AS confirmed "
    "FROM (SELECT account_id, person_key, "
    + ", ".join(f"{_moved(v, 0)} AS u_{v}, {_moved(v, 1)} AS c_{v}" for v in _SUMS) + " "
    "      FROM (SELECT account_id, person_key, day, channel, argMax(minutes, version) AS minutes, "
    "                   argMax(claimed, version) AS claimed "
    "            FROM {db}.person_day_minutes WHERE day IN %(days)s GROUP BY account_id, person_key, day, channel) "
    "      WHERE (account_id, person_key) NOT IN "
    "          (SELECT account_id, person_key FROM {db}.person_queue WHERE batch = %(batch)s) "
    "      GROUP BY account_id, person_key) AS d "
    "INNER JOIN (SELECT account_id, person_key, " + _LATEST + " FROM {db}.person_state "
    "            WHERE (account_id, person_key) IN "
    "                (SELECT account_id, person_key FROM {db}.person_day_minutes WHERE day IN %(days)s) "
    "            GROUP BY account_id, person_key) AS o "
    "    ON o.account_id = d.account_id AND o.person_key = d.person_key) "
    "WHERE (" + ", ".join(_VALUES) + ") != (" + ", ".join(f"o_{v}" for v in _VALUES) + ")")

# People whose days changed (the tick's person_day_queue batch: sinks/day_state.py), and those with days
# on the given days: their windows gained or lost a day (read by account first: the accounts with rows
# on those days).
QUEUE_CHANGED = "SELECT account_id, person_key FROM {db}.person_day_queue WHERE batch = %(batch)s"
QUEUE_ON_DAYS = ("SELECT account_id, person_key FROM {db}.person_days "
                 "WHERE account_id IN (SELECT account_id FROM {db}.account_days_by_day WHERE day IN %(days)s) "
                 "  AND day IN %(days)s")


class PersonState:
    def __init__(self, client: Client, database: str):
        self.client, self.db = client, database

    def marked_version(self) -> int:
        """The state version the latest stage mark left (0: none kept, e.g. marks from before 0038)."""
        return self.client.query(f"SELECT argMax(state_version, marked_at) FROM {self.db}.stage_marks"
                                 ).result_rows[0][0] or 0

    def torn(self, marked: int) -> bool:
        """Whether the kept state is not the one the latest mark names: a write it does not name (a tick
        that died before its mark, or between the two tables), or none at all."""
        db = self.db
        written = self.client.query(f"SELECT max(version) FROM {db}.account_state").result_rows[0][0] or 0
        newer = self.client.query(f"SELECT count() FROM {db}.person_state WHERE version > %(v)s",
                                  parameters={"v": marked}).result_rows[0][0]
        return marked == 0 or written != marked or newer > 0

    def clear(self) -> None:
        for table in ("person_state", "account_state"):
            self.client.command(f"TRUNCATE TABLE {self.db}.{table}")

    def rebuild_slice(self, today: date, version: int, slices: int, index: int) -> None:
        self.client.command(REBUILD_SLICE.format(db=self.db, new=_NEW, zeros=_ZEROS), parameters={
            "version": version, "today": today, "slices": int(slices), "slice": int(index)})

    def update(self, batch: int, days: Sequence[date], today: date, version: int) -> None:
        """Recompute the people whose days person_day_queue `batch` holds and those with days on `days`
        (person_queue `batch` names them: the bench counts them there) from their own days."""
        db = self.db
        sources = [QUEUE_CHANGED] + ([QUEUE_ON_DAYS] if days else [])
        parameters = {"batch": batch, "days": list(days), "today": today, "version": version}
        self.client.command(
            f"INSERT INTO {db}.person_queue SELECT %(batch)s, account_id, person_key "
            f"FROM ({' UNION ALL '.join(sources).format(db=db)}) GROUP BY account_id, person_key",
            parameters=parameters)
        self.client.command(APPLY_BATCH.format(db=db, new=_NEW, old=_OLD), parameters=parameters)

    def shift(self, batch: int, days: Sequence[date], before: date, today: date, version: int) -> None:
        """Move the other people with days on `days` from reporting day `before` to `today` by those days'
        minutes (their confirmation cannot change: its 400 days' edges are recomputed whole by update)."""
        self.client.command(SHIFT.format(db=self.db), parameters={
            "batch": batch, "days": list(days), "before": before, "today": today, "version": version})
