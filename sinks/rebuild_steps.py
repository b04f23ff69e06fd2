"""How far a full stage tick got (issue 17; migration 0055_stage_rebuild_steps.sql): its plan, and each step
and slice it finished, so that a worker stopped or killed part-way resumes the same rebuild at its next start
(streams/stage_rebuild.py) instead of starting it over."""
from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from clickhouse_connect.driver.client import Client

from sinks.stage_marks import Seen, epoch_ms, utc

_SYNC = {"mutations_sync": 2}

CLEARED = -1  # a step's `slice` once its tables are cleared, before its first slice

_PLAN_COLUMNS = "version, started_at, read_until, today, refolds_seen, contacts_seen, refold, slices"


class Plan(NamedTuple):
    """What a full tick does: its state version, moment, what its mark will say it read and saw, the reporting
    day it rebuilds the people at, whether it re-folds the person-days first, and in how many slices."""
    version: int
    started_at: datetime
    read_until: datetime
    today: date
    seen: Seen
    refold: bool
    slices: int


class RebuildSteps:
    def __init__(self, client: Client, database: str):
        self.client, self.db = client, database

    def begin(self, plan: Plan) -> None:
        self.note(plan, "plan", CLEARED)

    def note(self, plan: Plan, step: str, slice_: int) -> None:
        self.client.command(
            f"INSERT INTO {self.db}.stage_rebuild_steps ({_PLAN_COLUMNS}, step, slice) "
            "SELECT %(version)s, fromUnixTimestamp64Milli(%(started)s, 'UTC'), "
            "fromUnixTimestamp64Milli(%(until)s, 'UTC'), %(today)s, %(refolds)s, %(contacts)s, %(refold)s, "
            "%(slices)s, %(step)s, %(slice)s",
            parameters={"version": plan.version, "started": epoch_ms(plan.started_at),
                        "until": epoch_ms(plan.read_until), "today": plan.today, "refolds": plan.seen.refolds,
                        "contacts": plan.seen.contacts, "refold": int(plan.refold), "slices": plan.slices,
                        "step": step, "slice": int(slice_)})

    def latest_after(self, marked: int) -> tuple[Plan, set[tuple[str, int]]] | None:
        """The latest full tick begun after state version `marked` (the latest mark's), and the steps it
        finished as (step, slice); None when none was begun since."""
        rows = self.client.query(
            f"SELECT {_PLAN_COLUMNS}, groupArray((step, slice)) FROM {self.db}.stage_rebuild_steps "
            f"WHERE version = (SELECT max(version) FROM {self.db}.stage_rebuild_steps) AND version > %(marked)s "
            f"GROUP BY {_PLAN_COLUMNS}", parameters={"marked": int(marked)}).result_rows
        if not rows:
            return None
        version, started, until, today, refolds, contacts, refold, slices, steps = rows[0]
        plan = Plan(int(version), utc(started), utc(until), today, Seen(int(refolds), int(contacts)), bool(refold),
                    int(slices))
        return plan, {(step, int(s)) for step, s in steps}

    def delete_slice(self, tables: tuple[str, ...], slices: int, index: int) -> None:
        """The rows of one slice of the accounts in `tables` (a slice cut short: written in part, perhaps to one
        of the two tables a write feeds), deleted before it is written again; its version rows (account '')
        are left. A synchronous mutation, skipped where nothing matches (it rewrites every part it touches)."""
        where = "account_id != '' AND modulo(cityHash64(account_id), %(slices)s) = %(slice)s"
        parameters = {"slices": int(slices), "slice": int(index)}
        for table in tables:
            if self.client.query(f"SELECT count() FROM {self.db}.{table} WHERE {where}",
                                 parameters=parameters).result_rows[0][0]:
                self.client.command(f"ALTER TABLE {self.db}.{table} DELETE WHERE {where}", parameters=parameters,
                                    settings=_SYNC)
