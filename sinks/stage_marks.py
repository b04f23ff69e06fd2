"""What the incremental stage evaluation (issue 17, streams/stages.py) keeps about itself in ClickHouse: the
mark of each evaluation, what it saw of the margin, and the queue of accounts the next one decides."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from typing import Iterator, NamedTuple, Sequence

from clickhouse_connect.driver.client import Client


def utc(at: datetime) -> datetime:
    """`at` with its zone: ClickHouse returns DateTime64(3, 'UTC') values without one (the UTC wall time), which
    Python would read in the process's local zone (the stage evaluator's marks, hours off on a host not in UTC)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def epoch_ms(at: datetime) -> int:
    """Milliseconds since the epoch: how versions, batches and fromUnixTimestamp64Milli parameters are written."""
    return int(utc(at).timestamp() * 1000)


def from_epoch_ms(ms: int) -> datetime:
    """The moment of `ms` (a state version as a tick's stamp, streams/stages.Tick)."""
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)


def moment_literal(at: datetime) -> str:
    """A moment as a DateTime64(3, 'UTC') literal (a view's parameter)."""
    return utc(at).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


class Seen(NamedTuple):
    """What a stage evaluation saw of the margin the next one reads again (0047_stage_mark_seen.sql)."""
    refolds: int
    contacts: int


class StageMark(NamedTuple):
    read_until: datetime
    today: date
    refolds_seen: int
    contacts_seen: int
    day_from: date  # the day of the accounts a new day has not moved yet (0050_day_moves.sql); today: none
    day_pending: int


# The accounts a tick has changes for: stamped since `since`, or with person-days in its person_day_queue batch.
_CHANGED_ACCOUNTS = (
    "SELECT account_id FROM {db}.engagement_changes WHERE scope = 'account' "
    "AND changed_at >= fromUnixTimestamp64Milli(%(since)s, 'UTC') "
    "UNION DISTINCT SELECT account_id FROM {db}.person_day_queue WHERE batch = %(batch)s")

# The accounts already moved to `today`: by ticks that marked (one that died before its mark moved nothing).
MOVED = ("SELECT account_id FROM {db}.day_moves WHERE today = %(today)s AND batch IN "
          "(SELECT toUInt64(toUnixTimestamp64Milli(marked_at)) FROM {db}.stage_marks WHERE today = %(today)s)")

# The accounts with rows on `days` that are not moved to `today` yet.
_PENDING = ("SELECT DISTINCT account_id FROM {db}.account_days_by_day WHERE day IN %(days)s AND account_id NOT IN ("
            + MOVED + ")")

# Which mark is the latest: the one with the newest state version (each tick's is above the last one's, whatever
# its clock says), then the latest moment (marks from before versions, 0038). By the moment alone, a clock set
# back made a tick's mark read as older than the one before it, and the state it left as torn: a rebuild.
LATEST_MARK = "(state_version, marked_at)"

# The snapshot rows of the evaluation taken at a moment (`ms`, in epoch milliseconds): what a tick decided.
EVALUATION = "{db}.account_engagement_snapshot WHERE evaluated_at = fromUnixTimestamp64Milli(%(ms)s, 'UTC')"


class StageMarks:
    """The stage evaluation's part of a Store (sinks/store.py): its session and database."""

    client: Client
    database: str

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Queries inside run at the engine's normal priority where this session yields to scoring and storing
        (os_thread_priority, streams/worker.evaluator_client): a tick of a few changed accounts is what a stage
        change waits for, and beside a busy sink a yielding one took 22-66 s for work of under 1 s alone."""
        niced = self.client.get_client_setting("os_thread_priority")
        if niced in (None, "0"):
            yield
            return
        self.client.set_client_setting("os_thread_priority", 0)
        try:
            yield
        finally:
            self.client.set_client_setting("os_thread_priority", niced)

    def stage_clock(self, now: datetime) -> tuple[datetime, date]:
        """The engine's clock (engagement_changes is stamped by it) and the reporting day of `now`."""
        row = self.client.query(f"SELECT now64(3, 'UTC'), day FROM {self.database}.reporting_day("
                                f"at = '{moment_literal(now)}')").result_rows[0]
        return row[0], row[1]

    def stage_mark(self) -> StageMark | None:
        """The latest evaluation's mark, None when there was none."""
        latest = ", ".join(f"argMax({c}, {LATEST_MARK})" for c in StageMark._fields)
        row = self.client.query(f"SELECT {latest}, count() FROM {self.database}.stage_marks").result_rows[0]
        return StageMark(*row[:-1]) if row[-1] else None

    def note_tick_begun(self, version: int, today: date) -> None:
        """An incremental tick begins, writing versions up to `version` (0056_stage_ticks_begun.sql)."""
        self.client.command(f"INSERT INTO {self.database}.stage_ticks_begun (version, today) "
                            "SELECT %(version)s, %(today)s", parameters={"version": int(version), "today": today})

    def tick_begun_after(self, marked: int) -> int:
        """The highest version an incremental tick begun after state version `marked` writes (0: none began)."""
        row = self.client.query(f"SELECT max(version) FROM {self.database}.stage_ticks_begun WHERE version > %(marked)s",
                                parameters={"marked": int(marked)}).result_rows[0]
        return row[0] or 0

    def set_stage_mark(self, now: datetime, read_until: datetime, today: date, took_s: float, kind: str,
                       state_version: int = 0, seen: Seen = Seen(0, 0), day_pending: tuple[date, int] | None = None
                       ) -> None:
        """The mark of the evaluation taken at `now`, with how long it took, how many accounts it decided,
        the version of the kept person state it left (sinks/stage_state.py), what it had `seen` (0047) and
        what a new day's move of the accounts left pending (`day_pending`: the day they are at, and how many;
        None: none)."""
        db = self.database
        day_from, pending = day_pending or (today, 0)
        self.client.command(
            f"INSERT INTO {db}.stage_marks (marked_at, read_until, today, took_ms, decided, kind, state_version, "
            f"refolds_seen, contacts_seen, day_from, day_pending) "
            f"SELECT fromUnixTimestamp64Milli(%(ms)s, 'UTC'), fromUnixTimestamp64Milli(%(until)s, 'UTC'), %(today)s, "
            f"%(took)s, (SELECT count() FROM {EVALUATION.format(db=db)}), %(kind)s, %(version)s, "
            f"%(refolds)s, %(contacts)s, %(day_from)s, %(pending)s",
            parameters={"ms": epoch_ms(now), "until": epoch_ms(read_until), "today": today,
                        "took": round(took_s * 1000), "kind": kind, "version": int(state_version),
                        "refolds": seen.refolds, "contacts": seen.contacts, "day_from": day_from,
                        "pending": int(pending)})

    def seen_since(self, since: datetime) -> Seen:
        """The re-fold stamps and the contacts written from `since` on, as far as they are visible now."""
        db, ms = self.database, {"ms": epoch_ms(since)}
        row = self.client.query(
            f"SELECT (SELECT count() FROM {db}.engagement_changes WHERE scope IN ('refold_all', 'evaluate_all') "
            f"        AND changed_at >= fromUnixTimestamp64Milli(%(ms)s, 'UTC')), "
            f"       (SELECT count() FROM {db}.contact_changes "
            f"        WHERE changed_at >= fromUnixTimestamp64Milli(%(ms)s, 'UTC'))",
            parameters=ms).result_rows[0]
        return Seen(int(row[0]), int(row[1]))

    def change_scopes(self, since: datetime) -> set[str]:
        """Kinds of change stamped since `since`: account, evaluate_all, refold_all (0030_rollups.sql;
        evaluate_all was a contacts import's until 0041_contact_changes.sql, and its stamps live a week)."""
        return {r[0] for r in self.client.query(
            f"SELECT DISTINCT scope FROM {self.database}.engagement_changes "
            f"WHERE changed_at >= fromUnixTimestamp64Milli(%(ms)s, 'UTC')",
            parameters={"ms": epoch_ms(since)}).result_rows}

    def note_account_days(self, since: datetime | None) -> None:
        """account_days_by_day told the (account, day) pairs changed since `since`; None: every pair
        account_daily holds (after a rebuild of it)."""
        db = self.database
        if since is None:
            self.client.command(f"INSERT INTO {db}.account_days_by_day SELECT DISTINCT day, account_id "
                                f"FROM {db}.account_daily WHERE account_id != ''")
        else:
            self.client.command(
                f"INSERT INTO {db}.account_days_by_day SELECT DISTINCT day, account_id FROM {db}.engagement_changes "
                "WHERE scope = 'account' AND changed_at >= fromUnixTimestamp64Milli(%(since)s, 'UTC') "
                "AND day != toDate(0)", parameters={"since": epoch_ms(since)})

    def queue_day_moves(self, batch: int, today: date, since: datetime, days: Sequence[date], accounts: int) -> int:
        """Note (day_moves `batch`) the accounts a tick moves to `today`, of those not moved yet: the accounts it
        has changes for (_CHANGED_ACCOUNTS), and the first `accounts` (by id: a range of the state, which is
        ordered by account) with rows on `days`; returns how many of those remain."""
        db, pending = self.database, _PENDING.format(db=self.database)
        parameters = {"batch": int(batch), "today": today, "since": epoch_ms(since), "days": list(days)}
        self.client.command(
            f"INSERT INTO {db}.day_moves SELECT %(today)s, %(batch)s, account_id "
            f"FROM ({_CHANGED_ACCOUNTS.format(db=db)} "
            f"      UNION DISTINCT SELECT account_id FROM ({pending} ORDER BY account_id LIMIT {int(accounts)})) "
            f"WHERE account_id NOT IN ({MOVED.format(db=db)}) GROUP BY account_id", parameters=parameters)
        return self.client.query(f"SELECT count() FROM ({pending}) WHERE account_id NOT IN "
                                 f"(SELECT account_id FROM {db}.day_moves WHERE batch = %(batch)s)",
                                 parameters=parameters).result_rows[0][0]

    def queue_stage_accounts(self, batch: int, now: datetime, since: datetime) -> int:
        """Queue (stage_queue `batch`) the accounts changed since `since` and those of person_day_queue
        `batch` (PersonDays.update): _CHANGED_ACCOUNTS, and those day_moves `batch` moved; returns how many."""
        db = self.database
        self.client.command(
            f"INSERT INTO {db}.stage_queue SELECT %(batch)s, account_id, fromUnixTimestamp64Milli(%(ms)s, 'UTC') "
            f"FROM ({_CHANGED_ACCOUNTS.format(db=db)} "
            f"      UNION DISTINCT SELECT account_id FROM {db}.day_moves WHERE batch = %(batch)s) "
            f"GROUP BY account_id",
            parameters={"batch": int(batch), "ms": epoch_ms(now), "since": epoch_ms(since)})
        return self.client.query(f"SELECT count() FROM {db}.stage_queue WHERE batch = %(batch)s",
                                 parameters={"batch": int(batch)}).result_rows[0][0]

    def queue_account_slice(self, batch: int, now: datetime, slices: int, index: int) -> int:
        """Queue (stage_queue `batch`) every registered account of one slice (by hash); returns how many."""
        self.client.command(
            f"INSERT INTO {self.database}.stage_queue SELECT %(batch)s, account_id, "
            f"fromUnixTimestamp64Milli(%(ms)s, 'UTC') FROM {self.database}.accounts FINAL "
            f"WHERE modulo(cityHash64(account_id), {int(slices)}) = {int(index)}",
            parameters={"batch": int(batch), "ms": epoch_ms(now)})
        return self.client.query(f"SELECT count() FROM {self.database}.stage_queue WHERE batch = %(batch)s",
                                 parameters={"batch": int(batch)}).result_rows[0][0]
