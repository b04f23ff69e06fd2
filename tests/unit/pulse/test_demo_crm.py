"""The demo's CRM history: every snapshot passes the contract, and the story is consistent (opportunities at
target accounts, created within the touches' 30 days, closed on or after their creation, never in the future)."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from pulse.demo import make_opportunities, make_world
from schemas.validate import Accepted, validate


def test_demo_opportunities_validate_and_tell_a_consistent_story():
    now = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)
    world = make_world(7)
    snapshots = make_opportunities(world, random.Random(9), now)
    for item in snapshots:
        assert isinstance(validate(item, now=now, max_age=timedelta(days=60), currency="USD"), Accepted), item
    latest = {}
    for item in sorted(snapshots, key=lambda s: s["occurred_at"]):
        latest[item["opportunity_id"]] = item
    targets = {a.account_id for a in world.accounts if a.is_target}
    outcomes = {"won": 0, "lost": 0, "open": 0}
    for item in latest.values():
        created = datetime.fromisoformat(item["created_at"])
        assert now - timedelta(days=30) < created < now and item["account_id"] in targets
        if item["is_closed"]:
            assert created.date() <= date.fromisoformat(item["close_date"]) <= now.date()
        outcomes["won" if item["is_won"] else "lost" if item["is_closed"] else "open"] += 1
    assert all(n >= 3 for n in outcomes.values()), outcomes
    assert {s["opportunity_type"] for s in latest.values()} == {"new_business", "renewal"}
