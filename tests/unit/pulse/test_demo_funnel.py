"""The demo's lifecycle history (pulse/demo_funnel.py): every change passes the contract, the people are
those of the demo's most engaged target accounts, each history climbs the funnel in time (a skipped mql,
a move back to lead at the end at most), and the funnel narrows from leads to a few customers."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

from pulse.demo import make_world
from pulse.demo_funnel import make_lifecycle
from schemas.validate import Accepted, validate

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other")


def test_demo_lifecycle_is_valid_consistent_and_narrows():
    world = make_world(7)
    changes = make_lifecycle(world, random.Random(10), NOW)
    results = [validate(c, now=NOW, max_age=timedelta(days=390), stages=STAGES) for c in changes]
    assert all(isinstance(r, Accepted) for r in results)
    heads = sorted((a for a in world.accounts if a.is_target), key=lambda a: -world.weights[world.accounts.index(a)])
    engaged = {c.email for a in heads[:60] for c in world.people[a.account_id]}
    people: dict[str, list] = {}
    for r in results:
        people.setdefault(r.event.email, []).append(r.event)
    assert set(people) <= engaged and len(people) > 50
    for email, history in people.items():
        times = [e.occurred_at for e in history]
        assert times == sorted(times) and times[-1] < NOW, email
        ranks = [STAGES.index(e.stage) for e in history]
        climbing = ranks[:-1] if history[-1].stage == "lead" and len(ranks) > 2 else ranks  # a move back ends it
        assert climbing == sorted(climbing) and len(set(climbing)) == len(climbing), email
    reached = Counter(max(STAGES.index(e.stage) for e in h) for h in people.values())
    at_least = [sum(n for rank, n in reached.items() if rank >= s) for s in range(1, 6)]
    assert at_least == sorted(at_least, reverse=True) and at_least[-1] >= 2  # leads ... a few customers
    assert {e.source for h in people.values() for e in h if e.source} == {"marketing", "sales", "partner"}
