"""Fold touch rows into signed engagement deltas: pure, so recovery and the live path share it."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Iterable

from schemas.rows import TouchRow

CHECKPOINT_DAY = date(1970, 1, 1)
# Stored, but not touches of their own: a heartbeat only extends its page view's engaged time.
NOT_TOUCHES = frozenset({"page_engagement"})


def fold(rows: Iterable[TouchRow]) -> dict[tuple, list]:
    """{(account_id, day, channel, program_id, person): [minutes, touches, successes, pv_base, pv_minutes]}

    A row that replaces an earlier attribution subtracts the old one and adds the new: signed rows,
    so re-attribution and re-scoring change sums without ever rewriting an aggregate.
    """
    out: dict[tuple, list] = {}
    zero = Decimal(0)
    for r in rows:
        kind = r.type
        if kind in NOT_TOUCHES:
            continue
        page_view = kind == "page_view"  # the daily cap applies to page views only
        if r.retracts:
            _add(out, (r.prev_account_id, r.day, r.channel, r.program_id, r.prev_person), -r.prev_minutes, -1,
                 -r.prev_success, -r.prev_base_minutes if page_view else zero, -r.prev_minutes if page_view else zero)
        _add(out, (r.account_id, r.day, r.channel, r.program_id, r.person), r.minutes, 1, r.success,
             r.base_minutes if page_view else zero, r.minutes if page_view else zero)
    # a retraction and its replacement on the same key cancel out: nothing to write
    return {k: v for k, v in out.items() if v[1] or any(v[i] for i in (0, 2, 3, 4))}


def _add(out: dict[tuple, list], key: tuple, minutes, touches: int, successes: int, pv_base, pv_minutes) -> None:
    acc = out.get(key)
    if acc is None:
        out[key] = [minutes, touches, successes, pv_base, pv_minutes]
    else:
        acc[0] += minutes
        acc[1] += touches
        acc[2] += successes
        acc[3] += pv_base
        acc[4] += pv_minutes


def engagement_rows(deltas: dict[tuple, list], writer: str, batch_seq: int) -> list[tuple]:
    """Rows of `engagement_daily`: the deltas plus this writer's checkpoint, for one atomic insert."""
    rows = [("touch", *key, *values, 0) for key, values in deltas.items()]
    rows.append(("checkpoint", "", CHECKPOINT_DAY, "", "", writer, Decimal(0), 0, 0, Decimal(0), Decimal(0), batch_seq))
    return rows
