"""The lifecycle rules (issue 16), drawn as timelines: the current stage is the latest change whatever
the arrival order (ties: the larger event_id; duplicates once); a stage is reached with any later one
(skips), moving back un-reaches nothing, `other` reaches nothing; a renamed order follows the setting."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from schemas.rows import LifecycleRow
from streams.core.lifecycle import current_stages, first_entered, funnel_order

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
ORDER = funnel_order(("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other"))


def change(stage: str, hour: int, n: int, email: str = "ana@acme.example") -> LifecycleRow:
    at = T0 + timedelta(hours=hour)
    return LifecycleRow(uuid.UUID(int=n), email, "", stage, at, at, "", "", "", "{}")


def h(hour: int) -> datetime:
    return T0 + timedelta(hours=hour)


# timeline (hour: stage)                      current    first reached
CASES = {
    "straight through": ([(0, "lead"), (1, "mql"), (2, "sql")], "sql",
                         {"subscriber": 0, "lead": 0, "mql": 1, "sql": 2}),
    "lead jumps to sql": ([(0, "lead"), (5, "sql")], "sql", {"subscriber": 0, "lead": 0, "mql": 5, "sql": 5}),
    "straight to customer": ([(3, "customer")], "customer",
                             {s: 3 for s in ("subscriber", "lead", "mql", "sql", "opportunity", "customer")}),
    "customer marked lead again": ([(0, "lead"), (2, "customer"), (4, "lead")], "lead",
                                   {"subscriber": 0, "lead": 0, "mql": 2, "sql": 2, "opportunity": 2, "customer": 2}),
    "other only": ([(1, "other")], "other", {}),
    "other after mql": ([(0, "mql"), (1, "other")], "other", {"subscriber": 0, "lead": 0, "mql": 0}),
    "a stage renamed away": ([(0, "lead"), (1, "hot")], "hot", {"subscriber": 0, "lead": 0}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_arrival_order_gives_the_same_state(name):
    timeline, current, reached = CASES[name]
    rows = [change(stage, hour, n + 1) for n, (hour, stage) in enumerate(timeline)]
    for arrival in itertools.permutations(rows + rows[:1]):  # one change delivered twice
        assert current_stages(arrival)["ana@acme.example"].stage == current
        assert first_entered(arrival, ORDER).get("ana@acme.example", {}) == {s: h(v) for s, v in reached.items()}


def test_a_tie_goes_to_the_larger_event_id():
    rows = [change("mql", 1, 0xF0), change("sql", 1, 0x0F)]
    assert current_stages(rows)["ana@acme.example"].stage == "mql"
    assert current_stages(reversed(rows))["ana@acme.example"].stage == "mql"
    assert first_entered(rows, ORDER)["ana@acme.example"]["sql"] == h(1)


def test_a_reordered_setting_is_the_order():
    order = funnel_order(("visitor", "other", "lead", "won"))
    assert order == ("visitor", "lead", "won")
    rows = [change("won", 2, 1), change("visitor", 0, 2)]
    assert first_entered(rows, order)["ana@acme.example"] == {"visitor": h(0), "lead": h(2), "won": h(2)}
    assert first_entered([change("mql", 0, 3)], order) == {}  # not a stage of this order
