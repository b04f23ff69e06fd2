"""What the rules of every CRM record share (opportunity snapshots, lifecycle changes, account statuses):
each event id once, and one order for "the latest". Pure."""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

R = TypeVar("R")


def record_order(row) -> tuple:
    """(occurred_at to the millisecond, event_id as text): the views' order. To the millisecond, as the
    tables store occurred_at (DateTime64(3)): closer is a tie, and the larger event_id wins it."""
    at = row.occurred_at
    return at.replace(microsecond=at.microsecond // 1000 * 1000), str(row.event_id)


def once(rows: Iterable[R]) -> list[R]:
    """Each event id once, first version kept (as the writer does)."""
    seen: dict = {}
    for row in rows:
        seen.setdefault(row.event_id, row)
    return list(seen.values())


def latest_by(rows: Iterable[R], key: Callable[[R], str]) -> dict[str, R]:
    """key -> the latest record of that key (by `record_order`), whatever the arrival order."""
    state: dict[str, R] = {}
    for row in once(rows):
        held = state.get(key(row))
        if held is None or record_order(row) > record_order(held):
            state[key(row)] = row
    return state
