"""The stage tick's kept capped person-days and the account-day rollup on them (issue 17; migrations 0040, 0150).

`person_day_minutes` holds each (account, person, day, channel)'s minutes with the daily caps applied, as
the tick last computed them; `account_daily` their sum per account, day and channel. A tick recomputes the
person-days an insert touched since its last mark (person_day_changes) from person_days, writes the new
values with the old ones, and account_daily adds the difference: its cost follows the changed person-days,
not the size of the busiest account's day. A rebuild (the first tick, a change of the caps, a torn write)
computes every person-day again, slice by slice.

As in sinks/stage_state.py every write is versioned, with a row for account '' that carries only the
version, so `torn` finds a tick that died between the two tables, or before its mark, or a rebuild that
died after clearing.
"""
from __future__ import annotations

from clickhouse_connect.driver.client import Client

# the version's own row: account_daily's version for account '' is the last write even when it changed nothing
_VERSION_ROW = "SELECT '', toUInt128(0), toDate(0), '', %(version)s, 0, 0, 0, 0, 0"

# One slice of the accounts (by hash): every person-day's values, nothing to take back.
REBUILD_SLICE = (
    "INSERT INTO {db}.person_day_in "
    "SELECT account_id, person_key, day, channel, %(version)s, minutes, touches, 0, 0, claimed "
    "FROM {db}.person_day_values(batch = 0, slices = %(slices)s, slice = %(slice)s) "
    "UNION ALL " + _VERSION_ROW)

QUEUE_CHANGED = (
    "INSERT INTO {db}.person_day_queue SELECT %(batch)s, account_id, person_key, day FROM {db}.person_day_changes "
    "WHERE changed_at >= fromUnixTimestamp64Milli(%(since)s, 'UTC') GROUP BY account_id, person_key, day")

# The person-days of the people a contacts import names (0041_contact_changes.sql): their claimed minutes
# may count now. By the second column of person_days' key, so this reads the whole person_key column
# (about 3 s per 100M rows), once per tick after an import rather than every person's history.
QUEUE_CONTACTS = (
    "INSERT INTO {db}.person_day_queue SELECT %(batch)s, account_id, person_key, day FROM {db}.person_days "
    "WHERE person_key IN (SELECT person_key FROM {db}.contact_changes "
    "                     WHERE changed_at >= fromUnixTimestamp64Milli(%(since)s, 'UTC')) "
    "GROUP BY account_id, person_key, day")

# The kept values of one queue batch's person-days on `days`. Each key costs an index search in every part
# it may be in: today's traffic (from yesterday on) is looked up in this month's partition only, apart from
# the few late touches, which may be in any.
_KEPT = ("SELECT account_id, person_key, day, channel, minutes, touches, claimed, version "
         "FROM {{db}}.person_day_minutes WHERE {days} AND (account_id, person_key, day) IN "
         "    (SELECT account_id, person_key, day FROM {{db}}.person_day_queue WHERE batch = %(batch)s AND {days})")

# The person-days of one queue batch: their values now against the kept ones (either may be missing: a
# new person-day, or one whose rows an erasure deleted); only changed ones are kept (person_day_batch, 0046:
# the people's step reads them too), then written.
STAGE_BATCH = (
    "INSERT INTO {db}.person_day_batch "
    "    (batch, account_id, person_key, day, channel, minutes, touches, o_minutes, o_touches, claimed, named) "
    "SELECT %(batch)s, account_id, person_key, day, channel, n.minutes, n.touches, o.minutes, o.touches, "
    "       if(n.touches != 0, n.claimed, o.claimed), if(n.touches != 0, n.named, 1) "
    "FROM (SELECT account_id, person_key, day, channel, minutes, touches, claimed, named "
    "      FROM {db}.person_day_values(batch = %(batch)s, slices = 1, slice = 0)) AS n "
    "FULL OUTER JOIN "
    "     (SELECT account_id, person_key, day, channel, argMax(minutes, version) AS minutes, "
    "             argMax(touches, version) AS touches, argMax(claimed, version) AS claimed "
    "      FROM (" + _KEPT.format(days="day >= today() - 1") + " UNION ALL " + _KEPT.format(days="day < today() - 1") + ") "
    "      GROUP BY account_id, person_key, day, channel) AS o "
    "USING (account_id, person_key, day, channel) "
    "WHERE (n.minutes, n.touches) != (o.minutes, o.touches)")
APPLY_BATCH = (
    "INSERT INTO {db}.person_day_in "
    "SELECT account_id, person_key, day, channel, %(version)s, minutes, touches, o_minutes, o_touches, claimed "
    "FROM {db}.person_day_batch WHERE batch = %(batch)s "
    "UNION ALL " + _VERSION_ROW)


# After a tick that died part-way (sinks/stage_marks.py, stage_ticks_begun): each (account, day, channel) it wrote
# to either table, set to the sum of its kept person-days. One insert feeds both tables block by block, so a cut-short
# one may have reached person_day_minutes and not account_daily, or the other way; the kept person-days themselves
# are each a fold of its raw touches as the tick read them (the next tick folds them again from there).
_TORN_KEYS = ("SELECT account_id, day, channel FROM {db}.person_day_minutes WHERE version > %(marked)s "
              "UNION DISTINCT SELECT account_id, day, channel FROM {db}.account_daily WHERE account_id != '' "
              "GROUP BY account_id, day, channel HAVING max(version) > %(marked)s")
REPAIR_SUMS = (
    "INSERT INTO {db}.account_daily (account_id, day, channel, minutes, touches, version) "
    "SELECT t.account_id, t.day, t.channel, k.minutes - s.minutes, k.touches - s.touches, %(version)s "
    "FROM (" + _TORN_KEYS + ") AS t "
    "LEFT JOIN (SELECT account_id, day, channel, sum(minutes) AS minutes, sum(touches) AS touches "
    "           FROM {db}.person_day_minutes FINAL WHERE (account_id, day, channel) IN (" + _TORN_KEYS + ") "
    "           GROUP BY account_id, day, channel) AS k USING (account_id, day, channel) "
    "LEFT JOIN (SELECT account_id, day, channel, sum(minutes) AS minutes, sum(touches) AS touches "
    "           FROM {db}.account_daily WHERE (account_id, day, channel) IN (" + _TORN_KEYS + ") "
    "           GROUP BY account_id, day, channel) AS s USING (account_id, day, channel) "
    "WHERE k.minutes != s.minutes OR k.touches != s.touches")


class PersonDays:
    TABLES = ("person_day_minutes", "account_daily")

    def __init__(self, client: Client, database: str):
        self.client, self.db = client, database

    def torn(self, marked: int) -> bool:
        """Whether the kept person-days are not the ones the latest mark names (see the module's note)."""
        written, newer = self._written(marked)
        return marked == 0 or written != marked or newer > 0

    def written_after(self, version: int) -> bool:
        """Whether anything of a version after `version` is kept: a tick begun after it wrote."""
        written, newer = self._written(version)
        return written > version or newer > 0

    def whole(self, marked: int) -> bool:
        """Whether account_daily holds every account as the latest mark (`marked`) left it, or moved further by a
        tick of changed accounts under way (or dead part-way: the next repairs it): not cleared since, as a full
        tick clears it before it writes it again slice by slice."""
        return marked > 0 and self._last_written() >= marked

    def _written(self, version: int) -> tuple[int, int]:
        """The last version written (account_daily's version row) and the kept person-days of versions after
        `version`."""
        newer = self.client.query(f"SELECT count() FROM {self.db}.person_day_minutes WHERE version > %(v)s",
                                  parameters={"v": version}).result_rows[0][0]
        return self._last_written(), newer

    def _last_written(self) -> int:
        return self.client.query(f"SELECT max(version) FROM {self.db}.account_daily WHERE account_id = ''"
                                 ).result_rows[0][0] or 0

    def repair_after(self, marked: int, version: int) -> None:
        """account_daily made the sum of the kept person-days again where a tick that died part-way wrote
        versions above `marked` (REPAIR_SUMS)."""
        self.client.command(REPAIR_SUMS.format(db=self.db), parameters={"marked": marked, "version": version})

    def clear(self) -> None:
        for table in self.TABLES:
            self.client.command(f"TRUNCATE TABLE {self.db}.{table}")

    def rebuild_slice(self, version: int, slices: int, index: int) -> None:
        self.client.command(REBUILD_SLICE.format(db=self.db), parameters={
            "version": version, "slices": int(slices), "slice": int(index)})

    def update(self, batch: int, since_ms: int, version: int, with_contacts: bool) -> int:
        """Recompute the person-days changed since `since_ms`, and `with_contacts` those of the people a
        contacts import named since then (queued as person_day_queue `batch`, which the people's update and
        the accounts' queue then read); returns how many."""
        parameters = {"batch": batch, "since": since_ms, "version": version}
        if self.client.query(f"SELECT count() FROM {self.db}.person_day_batch WHERE batch = %(batch)s",
                             parameters=parameters).result_rows[0][0]:
            # its differences would be taken twice (a clock set back to a moment a tick already had)
            raise RuntimeError(f"stage tick {batch} already ran: the next tick, at a later moment, does its work")
        self.client.command(QUEUE_CHANGED.format(db=self.db), parameters=parameters)
        if with_contacts:
            self.client.command(QUEUE_CONTACTS.format(db=self.db), parameters=parameters)
        for sql in (STAGE_BATCH, APPLY_BATCH):
            self.client.command(sql.format(db=self.db), parameters=parameters)
        return self.client.query(f"SELECT count() FROM {self.db}.person_day_queue WHERE batch = %(batch)s",
                                 parameters=parameters).result_rows[0][0]
