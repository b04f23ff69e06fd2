"""Engagement stage changes: detected by comparing the live stage with the last one recorded.

Each change gets a stable id (account and its n-th change), is published to the stage-changes topic
(for CRM sync and alerts) and then recorded. A replay or a re-score that leaves a stage where it was
produces no change, so nothing already published is published again; a crash between publish and
record re-publishes the same id, which consumers dedupe on.
"""
from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal

import msgspec

from sinks.store import Store

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
# An evaluation may use at most this share of the time: the next waits `duration / share` at least.
TIME_SHARE = 0.2
MAX_INTERVAL_S = 60.0


def refresh(store: Store, now: datetime) -> float:
    """Evaluate account_engagement slice by slice into the snapshot; returns seconds until the next."""
    started = time.monotonic()
    slices = max(1, store.engagement_rows() // ROWS_PER_SLICE + 1)
    for i in range(slices):
        store.snapshot_account_engagement(now, slices, i)
    store.snapshot_views(now)
    took = time.monotonic() - started
    return min(MAX_INTERVAL_S, max(EVERY_SECONDS, took / TIME_SHARE))


def detect(store: Store, now: datetime) -> list[StageChange]:
    """Compare each account's stage in the snapshot taken at `now` with the last one recorded."""
    current = {a: (s, m) for a, s, m in store.evaluated_stages(now)}
    recorded = {a: (s, n) for a, s, n in store.recorded_stages()}
    return diff(current, recorded, now)


def record(store: Store, changes: list[StageChange]) -> None:
    store.record_stage_changes(COLUMNS, [[getattr(c, k) for k in COLUMNS] for c in changes])
