"""Fold touch rows into signed engagement deltas: pure, so recovery and the live path share it."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Iterable

from schemas.rows import TouchRow

CHECKPOINT_DAY = date(1970, 1, 1)


def fold(rows: Iterable[TouchRow], sign: int = 1) -> dict[tuple, list]:
    """{(account_id, day, channel, program_id, person): [minutes, touches, successes]}"""
    out: dict[tuple, list] = defaultdict(lambda: [Decimal(0), 0, 0])
    for r in rows:
        acc = out[(r.account_id, r.day, r.channel, r.program_id, r.person)]
        acc[0] += r.minutes * sign
        acc[1] += sign
        acc[2] += r.success * sign
    return out


def engagement_rows(deltas: dict[tuple, list], writer: str, batch_seq: int) -> list[list]:
    """Rows for `engagement_daily`: the deltas plus this writer's checkpoint, for one atomic insert."""
    rows = [["touch", *key, minutes, touches, successes, 0] for key, (minutes, touches, successes) in deltas.items()]
    rows.append(["checkpoint", "", CHECKPOINT_DAY, "", "", writer, Decimal(0), 0, 0, batch_seq])
    return rows
