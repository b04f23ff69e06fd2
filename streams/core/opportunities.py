"""The rules of an opportunity's history, in Python: the same rules the views apply in SQL
(sinks/migrations/0400_revenue_views.sql), so each can be checked against the other. Pure.

State = the snapshot with the latest occurred_at, ties broken by the larger event_id: the order the
snapshots arrived in never matters. Stage visits: a new visit starts at each snapshot whose stage
differs from the one before it (in that order); it ends when the next visit begins.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from schemas.rows import OpportunityRow
from streams.core.records import latest_by, once as _once, record_order as _order


@dataclass(frozen=True)
class StageVisit:
    opportunity_id: str
    stage: str
    entered_at: datetime
    left_at: datetime | None  # None while it is the current stage


def current_state(snapshots: Iterable[OpportunityRow]) -> dict[str, OpportunityRow]:
    """opportunity_id -> its latest snapshot."""
    return latest_by(snapshots, lambda row: row.opportunity_id)


def stage_visits(snapshots: Iterable[OpportunityRow]) -> list[StageVisit]:
    """Every stage visit of every opportunity, in order."""
    by_opportunity: dict[str, list[OpportunityRow]] = {}
    for row in _once(snapshots):
        by_opportunity.setdefault(row.opportunity_id, []).append(row)
    visits: list[StageVisit] = []
    for opportunity_id, rows in sorted(by_opportunity.items()):
        starts = []
        for row in sorted(rows, key=_order):
            if not starts or starts[-1].stage != row.stage:
                starts.append(row)
        for index, row in enumerate(starts):
            left = starts[index + 1].occurred_at if index + 1 < len(starts) else None
            visits.append(StageVisit(opportunity_id, row.stage, row.occurred_at, left))
    return visits
