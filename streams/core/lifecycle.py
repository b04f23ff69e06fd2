"""The rules of a person's lifecycle history, in Python: the same rules the funnel views apply in SQL
(sinks/migrations/0500_funnel_views.sql), so each can be checked against the other. Pure.

Current stage = that of the change with the latest occurred_at, ties broken by the larger event_id: the
order the changes arrived in never matters. Reaching a stage = reaching it or any later stage of the
order (`order`: PULSE_LIFECYCLE_STAGES without `other`), so a skipped stage is entered with the next
stage reached, and moving back un-reaches nothing: a stage's entered_at is the earliest change to it or
to any later stage. `other`, and any stage no longer in the order, reaches nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from schemas.rows import LifecycleRow
from streams.core.records import latest_by, once, record_order


def funnel_order(stages: Iterable[str]) -> tuple[str, ...]:
    """PULSE_LIFECYCLE_STAGES without `other`, which stands outside the order."""
    return tuple(s for s in stages if s != "other")


def current_stages(changes: Iterable[LifecycleRow]) -> dict[str, LifecycleRow]:
    """email -> the person's latest change (its stage is the current stage)."""
    return latest_by(changes, lambda row: row.email)


def first_entered(changes: Iterable[LifecycleRow], order: tuple[str, ...]) -> dict[str, dict[str, datetime]]:
    """email -> {stage: when first reached}, for every stage of `order` each person reached."""
    earliest: dict[str, dict[int, datetime]] = {}  # email -> rank -> earliest change at that rank
    for row in once(changes):
        if row.stage not in order:
            continue
        rank = order.index(row.stage)
        held = earliest.setdefault(row.email, {})
        at = record_order(row)[0]
        if rank not in held or at < held[rank]:
            held[rank] = at
    result: dict[str, dict[str, datetime]] = {}
    for email, ranks in earliest.items():
        reached: dict[str, datetime] = {}
        for position, stage in enumerate(order):
            later = [at for rank, at in ranks.items() if rank >= position]
            if later:
                reached[stage] = min(later)
        result[email] = reached
    return result
