"""The latest-snapshot rule and stage visits, drawn as timelines: whatever order the snapshots
arrive in, the state is the latest by occurred_at (ties: the larger event_id), and an older snapshot
arriving late only fills in the history."""
from __future__ import annotations

import itertools
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from schemas.rows import OpportunityRow
from streams.core.opportunities import current_state, stage_visits

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def snap(hour: int, stage: str, id_: int, opp: str = "o") -> OpportunityRow:
    at = T0 + timedelta(hours=hour)
    return OpportunityRow(uuid.UUID(int=id_), opp, "acme", at, at, stage, 0, 0, Decimal(hour), "USD", T0,
                          date(2026, 12, 1), "", "", "", "new_business", "", None, "{}")


CASES = {
    # case: (snapshots as (hour, stage, event id), the state's (hour, stage), visits as (stage, in, out))
    "in order": ([(0, "A", 1), (1, "B", 2), (2, "C", 3)], (2, "C"), [("A", 0, 1), ("B", 1, 2), ("C", 2, None)]),
    "same stage twice": ([(0, "A", 1), (1, "A", 2), (3, "B", 3)], (3, "B"), [("A", 0, 3), ("B", 3, None)]),
    "back to an earlier stage": ([(0, "A", 1), (1, "B", 2), (2, "A", 3)], (2, "A"),
                                 [("A", 0, 1), ("B", 1, 2), ("A", 2, None)]),
    "a tie: the larger id wins": ([(0, "A", 1), (5, "B", 7), (5, "C", 9)], (5, "C"),
                                  [("A", 0, 5), ("B", 5, 5), ("C", 5, None)]),
    "a tie, larger id sent first": ([(5, "C", 9), (5, "B", 7)], (5, "C"), [("B", 5, 5), ("C", 5, None)]),
    "one snapshot": ([(4, "A", 1)], (4, "A"), [("A", 4, None)]),
}


@pytest.mark.parametrize("case", CASES)
def test_any_arrival_order_gives_the_same_state_and_history(case):
    timeline, (hour, stage), visits = CASES[case]
    snapshots = [snap(h, s, i) for h, s, i in timeline]
    want = [(s, T0 + timedelta(hours=a), None if b is None else T0 + timedelta(hours=b)) for s, a, b in visits]
    for arrival in itertools.permutations(snapshots):
        state = current_state(arrival)["o"]
        assert (state.amount, state.stage) == (Decimal(hour), stage)
        assert [(v.stage, v.entered_at, v.left_at) for v in stage_visits(arrival)] == want


def test_a_re_sent_snapshot_counts_once_and_opportunities_stay_apart():
    a, b = snap(0, "A", 1), snap(1, "B", 2, opp="p")
    assert set(current_state([a, a, b, b])) == {"o", "p"}
    assert [(v.opportunity_id, v.stage) for v in stage_visits([b, a, a])] == [("o", "A"), ("p", "B")]
