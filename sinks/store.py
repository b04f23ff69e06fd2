"""Every query the worker and the CLI run against ClickHouse, by name (the dashboard's are in ui/queries.py).

`streams/` decides what to read and write; this module knows how: table names, columns, the SQL.
A Store is one session (client) on one database; the sink thread, the stage evaluator and the
health timer each have their own.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Iterator, Sequence

from clickhouse_connect.driver.client import Client

from schemas.registry import ACCOUNT_COLUMNS, CONTACT_COLUMNS, AccountRecord, ContactRecord
from schemas.rows import TOUCH_COLUMNS, TouchRow
from sinks.alerts_sql import LATEST_DELIVERIES, MOMENTS
from sinks.funnel_state_sql import REPAIR_FUNNEL_PEOPLE
from sinks.opportunity_state_sql import REPAIR_LATEST, REPAIR_STAGE_POINTS
from sinks.stage_marks import EVALUATION, StageMarks, epoch_ms, moment_literal
from sinks.touch_copies_sql import REPAIR_TOUCH_COPIES
from sinks.traffic_sql import BEHAVIOUR_VERDICTS, DAYS_FROM, GROUPS_STORED, STORED_PER_DAY

IDENTITY_COLUMNS = ("anonymous_id", "email", "identified_at")
# Views the dashboard refreshes every few seconds, snapshotted with account_engagement (0010_snapshots.sql).
SNAPSHOTS = ("channel_awareness", "program_reach", "target_channel_daily", "account_coverage")
# The same answers from account_daily (0042_rollup_snapshot_views.sql), while it is in step
ROLLUP_SNAPSHOTS = {"channel_awareness": "channel_awareness_rollup", "target_channel_daily": "target_channel_daily_rollup"}
# The registry's contacts in pages by their key (the table is ordered by email): each page is a range read.
CONTACTS_PAGE = "SELECT {columns} FROM {db}.contacts FINAL WHERE email > %(after)s ORDER BY email LIMIT {page}"
CONTACTS_PAGE_ROWS = 100_000
_EMAIL = CONTACT_COLUMNS.index("email")


class Store(StageMarks):
    def __init__(self, client: Client, database: str):
        self.client = client
        self.database = database

    # -------------------------------------------------------------------------------- registry
    def accounts(self) -> list[AccountRecord]:
        rows = self.client.query(f"SELECT {', '.join(ACCOUNT_COLUMNS)} FROM {self.database}.accounts FINAL").result_rows
        return [_account(row) for row in rows]

    def contacts(self) -> Iterator[ContactRecord]:
        """Every contact, a page at a time in email order: a million contacts never sit in memory as rows too."""
        page = CONTACTS_PAGE.format(columns=", ".join(CONTACT_COLUMNS), db=self.database, page=CONTACTS_PAGE_ROWS)
        after = ""
        while True:
            rows = self.client.query(page, parameters={"after": after}).result_rows
            yield from (ContactRecord(**dict(zip(CONTACT_COLUMNS, row))) for row in rows)
            if len(rows) < CONTACTS_PAGE_ROWS:
                return
            after = rows[-1][_EMAIL]

    def store_records(self, table: str, columns: tuple[str, ...], records: Sequence, now: datetime) -> None:
        """Accounts, contacts, programs, spend or goals as the registry topic gave them, stamped `updated_at`."""
        self.client.insert(f"{self.database}.{table}", [[getattr(r, c) for c in columns] + [now] for r in records],
                           column_names=columns + ("updated_at",))

    # ------------------------------------------------------------------------------ identities
    def identity_links(self) -> list[tuple[str, str, datetime]]:
        """Each cookie's latest identified person: (anonymous_id, email, identified_at)."""
        return self.client.query(
            f"SELECT anonymous_id, argMax(email, identified_at), max(identified_at) "
            f"FROM {self.database}.identities GROUP BY anonymous_id").result_rows

    def identity_links_since(self, since: datetime) -> list[tuple[str, str, datetime]]:
        """Identity links stored since `since`, by any worker of a shared store."""
        return self.client.query(
            f"SELECT anonymous_id, email, identified_at FROM {self.database}.identities "
            f"WHERE stored_at >= fromUnixTimestamp64Milli(%(ms)s, 'UTC')",
            parameters={"ms": epoch_ms(since)}).result_rows

    def store_identity_links(self, rows: list[list]) -> None:
        self.client.insert(f"{self.database}.identities", rows, column_names=IDENTITY_COLUMNS)

    # ---------------------------------------------------------------------- stored touches
    def anonymous_touches(self, cookies: Sequence[str]) -> list[TouchRow]:
        """The stored (latest) version of every anonymous touch of these cookies, read by cookie."""
        result = self.client.query(
            f"SELECT {', '.join(TOUCH_COLUMNS)} FROM {self.database}.anonymous_touches "
            "WHERE anonymous_id IN %(c)s ORDER BY version DESC LIMIT 1 BY event_id", parameters={"c": sorted(cookies)})
        return [TouchRow(*r) for r in result.result_rows]

    def stored_event_ids(self, table: str, ids: Sequence) -> list:
        """Which of these ids a CRM-record table (opportunity_snapshots, lifecycle_changes,
        account_statuses: sinks/crm_records.py names them) already holds."""
        return [r[0] for r in self.client.query(
            f"SELECT DISTINCT event_id FROM {self.database}.{table} WHERE event_id IN %(ids)s",
            parameters={"ids": list(ids)}).result_rows]

    def repair_opportunity_state(self) -> None:
        """The opportunity state tables brought up to opportunity_snapshots after a crash
        (sinks/opportunity_state_sql.py)."""
        self.client.command(REPAIR_STAGE_POINTS.format(db=self.database))
        self.client.command(REPAIR_LATEST.format(db=self.database))

    def repair_funnel_people(self, writer_id: str) -> None:
        """The per-person funnel state brought up to the lifecycle changes this writer stored last, which a
        crash between a change's insert and its view's part could have left out (sinks/funnel_state_sql.py)."""
        self.client.command(REPAIR_FUNNEL_PEOPLE.format(db=self.database), parameters={"writer": writer_id})

    def repair_touch_copies(self, writer_id: str) -> None:
        """The kept copies of touch versions (program successes, sales touches, page views) brought up to
        the touches this writer stored last, which a crash between the touches part and the copies'
        parts could have left out (sinks/touch_copies_sql.py)."""
        newest = self.client.query(f"SELECT max(batch_seq) FROM {self.database}.touches WHERE writer = %(w)s",
                                   parameters={"w": writer_id}).result_rows[0][0]
        if not newest:
            return  # this writer never stored a touch
        # batch_seq is wall-clock microseconds: the hour before the newest batch holds the killed one
        bound = {"writer": writer_id, "since": max(0, newest - 3_600_000_000)}
        for sql in REPAIR_TOUCH_COPIES:
            self.client.command(sql.format(db=self.database), parameters=bound)

    def touch_months(self, where: str, parameters: dict) -> list[tuple[int, int]]:
        """(YYYYMM, count) of the stored touch versions matching `where`, by the table's partition."""
        return self.client.query(f"SELECT toYYYYMM(occurred_at) AS month, count() FROM {self.database}.touches "
                                 f"WHERE {where} GROUP BY month ORDER BY month", parameters=parameters).result_rows

    # ------------------------------------------------------------------------- scoring settings
    def scoring_setting(self, key: str) -> str:
        """The latest value stored for `key` ('' when none)."""
        rows = self.client.query(f"SELECT argMax(value, updated_at) FROM {self.database}.scoring_settings "
                                 "WHERE key = %(k)s", parameters={"k": key}).result_rows
        return rows[0][0] if rows else ""

    def store_scoring_settings(self, values: dict[str, str], now: datetime) -> None:
        self.client.insert(f"{self.database}.scoring_settings", [[k, v, now] for k, v in values.items()],
                           column_names=("key", "value", "updated_at"))

    # --------------------------------------------------------------------------------- stages
    def engagement_rows(self) -> int:
        return self.client.query(f"SELECT count() FROM {self.database}.engagement_daily").result_rows[0][0]

    def snapshot_account_engagement(self, now: datetime, slices: int, index: int, batch: int = 0) -> None:
        """One slice of account_engagement as at `now` (accounts by hash; only stage_queue's `batch` unless 0)
        into its snapshot, stamped `now`."""
        self.client.command(
            f"INSERT INTO {self.database}.account_engagement_snapshot "
            f"SELECT fromUnixTimestamp64Milli(%(ms)s, 'UTC'), * "
            f"FROM {self.database}.account_engagement_eval(slices = {int(slices)}, slice = {int(index)}, "
            f"batch = {int(batch)}, at = '{moment_literal(now)}')",
            parameters={"ms": epoch_ms(now)})

    def snapshot_stage_batch(self, now: datetime, batch: int, stamp_ms: int) -> None:
        """account_engagement of stage_queue's `batch` as at `now` into its snapshot, stamped `stamp_ms` (the
        tick's state version in ms, streams/stages.Tick): the tick's formula (account_engagement_tick,
        0150_stage_tick_views.sql), which reads less of each account's history than the full one."""
        self.client.command(
            f"INSERT INTO {self.database}.account_engagement_snapshot "
            f"SELECT fromUnixTimestamp64Milli(%(ms)s, 'UTC'), * FROM {self.database}.account_engagement_tick("
            f"batch = {int(batch)}, at = '{moment_literal(now)}')", parameters={"ms": int(stamp_ms)})

    def snapshot_views(self, now: datetime, rollup_in_step: bool = False) -> None:
        """The dashboard's snapshots of SNAPSHOTS, some from account_daily when `rollup_in_step`; each stamped
        `now`, or 1 ms after its latest when the clock reads earlier: the dashboard reads the latest stamp, so
        with the clock stepped back it showed the last snapshot before the step until the clock caught up."""
        for view in SNAPSHOTS:
            source = ROLLUP_SNAPSHOTS.get(view, view) if rollup_in_step else view
            snapshot = f"{self.database}.{view}_snapshot"
            self.client.command(f"INSERT INTO {snapshot} SELECT (SELECT greatest(fromUnixTimestamp64Milli(%(ms)s, "
                                f"'UTC'), max(evaluated_at) + toIntervalMillisecond(1)) FROM {snapshot}), * "
                                f"FROM {self.database}.{source}", parameters={"ms": epoch_ms(now)})

    def evaluated_stages(self, now: datetime) -> list[tuple]:
        """(account_id, stage, minutes_90d) of the evaluation taken at `now`."""
        return self.client.query(f"SELECT account_id, stage, minutes_90d FROM {EVALUATION.format(db=self.database)}",
                                 parameters={"ms": epoch_ms(now)}).result_rows

    def recorded_stages(self, evaluated_at: datetime | None = None) -> list[tuple]:
        """(account_id, last recorded stage, changes so far), from the account_stage view; only the accounts
        of the evaluation taken at `evaluated_at` if given, found by stage_changes' key: a tick reads what it
        decided, not every account (0.20-0.27 s for 100k accounts against 0.03-0.06 s for a tick's 5,000)."""
        if evaluated_at is None:
            return self.client.query(f"SELECT account_id, stage, changes FROM {self.database}.account_stage").result_rows
        return self.client.query(
            f"SELECT account_id, stage, changes FROM {self.database}.account_stage "
            f"WHERE account_id IN (SELECT account_id FROM {EVALUATION.format(db=self.database)})",
            parameters={"ms": epoch_ms(evaluated_at)}).result_rows

    def record_stage_changes(self, columns: tuple[str, ...], rows: list[list]) -> None:
        self.client.insert(f"{self.database}.stage_changes", rows, column_names=columns)

    # -------------------------------------------------------------------------------- traffic
    def behaviour_verdicts(self, since, max_views: int, scanner_seconds: float) -> list[tuple]:
        """(event_id, traffic, reason) of the stored touches from reporting day `since` on whose behaviour
        verdict changed (reason '' = no behaviour rule holds any more); sinks/traffic_sql.py."""
        return self._verdicts(DAYS_FROM, {"since": since}, max_views, scanner_seconds)

    def behaviour_verdicts_stored(self, since: datetime, part: tuple[date, date, int, int], max_views: int,
                                  scanner_seconds: float) -> list[tuple]:
        """As behaviour_verdicts, over the groups the rules judge (a cookie's day, an email's day of a
        campaign...) that took a touch or a version since `since` (the store's clock), of the `part` (first day,
        last day, slices, slice): slice `slice` of `slices` of those groups, by number (1, 0: all)."""
        first, last, slices, index = part
        return self._verdicts(GROUPS_STORED, {"stored_ms": epoch_ms(since), "first": first, "last": last,
                                              "slices": int(slices), "slice": int(index)}, max_views, scanner_seconds)

    def traffic_stored_per_day(self, since: datetime) -> list[tuple[date, int]]:
        """(day, touches the rules judge stored since `since`), by day."""
        return self.client.query(STORED_PER_DAY.format(db=self.database),
                                 parameters={"stored_ms": epoch_ms(since)}).result_rows

    def traffic_mark(self) -> datetime | None:
        """The moment the latest finished behaviour pass began (traffic_marks, 0049), None before any."""
        row = self.client.query(f"SELECT toUnixTimestamp64Milli(max(judged_to)), count() "
                                f"FROM {self.database}.traffic_marks").result_rows[0]
        return datetime.fromtimestamp(row[0] / 1000, timezone.utc) if row[1] else None

    def set_traffic_mark(self, judged_to: datetime) -> None:
        self.client.insert(f"{self.database}.traffic_marks", [[datetime.now(timezone.utc), judged_to]],
                           column_names=("marked_at", "judged_to"))

    def _verdicts(self, groups: str, parameters: dict, max_views: int, scanner_seconds: float) -> list[tuple]:
        query = BEHAVIOUR_VERDICTS.replace("{groups}", groups).format(db=self.database)
        return self.client.query(query, parameters={
            **parameters, "max_views": int(max_views), "scanner_ms": round(scanner_seconds * 1000),
            "scanner_label": f"{scanner_seconds:g}s"}).result_rows

    # --------------------------------------------------------------------------------- alerts
    def alert_moments(self, kind: str, since: datetime, first_touch_s: int) -> list[tuple]:
        """(kind, change_id, account_id, account_name, owner, tier, is_target, at, detail) of one alert kind
        since `since` (sinks/alerts_sql.py)."""
        return self.client.query(MOMENTS[kind].format(db=self.database), parameters={
            "since_ms": epoch_ms(since), "first_touch_s": int(first_touch_s)}).result_rows

    def latest_alert_deliveries(self, change_ids: Sequence[str]) -> list[tuple]:
        """(rule, change_id, status, attempts, next_at) of the latest recorded attempt of each."""
        return self.client.query(LATEST_DELIVERIES.format(db=self.database),
                                 parameters={"ids": list(change_ids)}).result_rows

    def record_alert_deliveries(self, columns: tuple[str, ...], rows: list[list]) -> None:
        self.client.insert(f"{self.database}.alert_deliveries", rows, column_names=columns)

    # ------------------------------------------------------------------------------ operations
    def applied_migrations(self) -> set[int]:
        return {r[0] for r in self.client.query(f"SELECT version FROM {self.database}.schema_migrations").result_rows}

    def dead_letters_by_source(self) -> list[tuple[str, int]]:
        return self.client.query(f"SELECT source, count() FROM {self.database}.rejected_events FINAL "
                                 "GROUP BY source ORDER BY source").result_rows


def _account(row) -> AccountRecord:
    values = dict(zip(ACCOUNT_COLUMNS, row))
    values["domains"], values["ip_ranges"] = tuple(values["domains"]), tuple(values["ip_ranges"])
    values["is_target"] = bool(values["is_target"])
    return AccountRecord(**values)
