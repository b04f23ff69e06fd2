"""Fold touch rows into signed engagement deltas: pure, so recovery and the live path share it."""
from __future__ import annotations

from collections import defaultdict
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
    out: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0, 0, Decimal(0), Decimal(0)])

    def add(account_id, person, minutes, base, r: TouchRow, sign: int) -> None:
        acc = out[(account_id, r.day, r.channel, r.program_id, person)]
        acc[0] += minutes * sign
        acc[1] += sign
        acc[2] += r.success * sign
        if r.type == "page_view":  # the daily cap applies to page views only
            acc[3] += base * sign
            acc[4] += minutes * sign

    for r in rows:
        if r.type in NOT_TOUCHES:
            continue
        if r.retracts:
            add(r.prev_account_id, r.prev_person, r.prev_minutes, r.prev_base_minutes, r, -1)
        add(r.account_id, r.person, r.minutes, r.base_minutes, r, 1)
    # a retraction and its replacement on the same key cancel out: nothing to write
    return {k: v for k, v in out.items() if v[1] or any(v[i] for i in (0, 2, 3, 4))}


def engagement_rows(deltas: dict[tuple, list], writer: str, batch_seq: int) -> list[list]:
    """Columns of `engagement_daily`: the deltas plus this writer's checkpoint, for one atomic insert."""
    rows = [("touch", *key, *values, 0) for key, values in deltas.items()]
    rows.append(("checkpoint", "", CHECKPOINT_DAY, "", "", writer, Decimal(0), 0, 0, Decimal(0), Decimal(0), batch_seq))
    return [list(column) for column in zip(*rows)]
