"""Engagement stage changes: detected by comparing the live stage with the last one recorded.

Each change gets a stable id (account and its n-th change), is published to the stage-changes topic
(for CRM sync and alerts) and then recorded. A replay or a re-score that leaves a stage where it was
produces no change, so nothing already published is published again; a crash between publish and
record re-publishes the same id, which consumers dedupe on.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from sinks.writer import ClickHouseWriter

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


def detect(writer: ClickHouseWriter, now: datetime) -> list[StageChange]:
    db = writer.database
    current = {a: (s, m) for a, s, m in writer.client.query(
        f"SELECT account_id, stage, minutes_90d FROM {db}.account_engagement").result_rows}
    recorded = {a: (s, n) for a, s, n in writer.client.query(
        f"SELECT account_id, argMax(stage_to, toUInt64OrZero(splitByChar(':', change_id)[-1])), uniqExact(change_id) "
        f"FROM {db}.stage_changes GROUP BY account_id").result_rows}
    return diff(current, recorded, now)


def record(writer: ClickHouseWriter, changes: list[StageChange]) -> None:
    writer.client.insert(f"{writer.database}.stage_changes",
                         [[getattr(c, k) for k in COLUMNS] for c in changes], column_names=COLUMNS)
