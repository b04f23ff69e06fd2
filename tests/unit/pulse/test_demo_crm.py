"""The demo's CRM history: every snapshot passes the contract, the story is consistent (opportunities at
target accounts, created within the touches' 30 days and after some of their account's touches, closed on
or after their creation, never in the future), and it follows engagement as the Influence page measures it:
the most engaged quarter of closed opportunities wins more often and closes faster than the least engaged."""
from __future__ import annotations

import functools
import ipaddress
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from pulse.demo import make_history, make_world
from pulse.demo_crm import make_opportunities, recent
from schemas.validate import Accepted, validate

NOW = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)


@functools.cache
def generate(seed: int):
    """What `pulse demo` posts, as run() makes it: the touches, then the opportunities' latest snapshots."""
    world = make_world(seed)
    touches = make_history(world, random.Random(seed + 1), NOW)
    snapshots = make_opportunities(world, random.Random(seed + 2), NOW, touches)
    latest = {}
    for item in sorted(snapshots, key=lambda s: s["occurred_at"]):
        latest[item["opportunity_id"]] = item
    return world, touches, snapshots, latest


def touch_days_by_account(world, touches) -> dict[str, list[date]]:
    """Resolved here on its own (an email's contact, else the IP's range), as the worker resolves them."""
    by_email = {c.email: c.account_id for c in world.contacts}
    ranges = [(ipaddress.ip_network(a.ip_ranges[0]), a.account_id) for a in world.accounts]
    days: dict[str, list[date]] = {}
    for t in touches:
        if t["type"] == "identify":
            continue
        account = by_email.get(t.get("email")) or next(
            (a for net, a in ranges if "ip" in t and ipaddress.ip_address(t["ip"]) in net), None)
        if account:
            days.setdefault(account, []).append(datetime.fromisoformat(t["occurred_at"]).date())
    return days


def pre_opp_touches(days: list[date], created: datetime) -> int:
    """Touches on the 90 days before the created day, that day excluded (engagement_influence's window)."""
    day = created.date()
    return sum(day - timedelta(days=90) <= d < day for d in days)


def test_demo_opportunities_validate_and_tell_a_consistent_story():
    world, touches, snapshots, latest = generate(7)
    for item in snapshots:
        assert isinstance(validate(item, now=NOW, max_age=timedelta(days=60), currency="USD"), Accepted), item
    targets = {a.account_id for a in world.accounts if a.is_target}
    days = touch_days_by_account(world, touches)
    outcomes = Counter()
    for item in latest.values():
        created = datetime.fromisoformat(item["created_at"])
        assert NOW - timedelta(days=30) < created < NOW and item["account_id"] in targets
        if any(recent(d, NOW) for d in days.get(item["account_id"], ())):  # after some of its account's touches
            assert pre_opp_touches(days[item["account_id"]], created) > 0, item
        if item["is_closed"]:
            assert created.date() <= date.fromisoformat(item["close_date"]) <= NOW.date()
        outcomes["won" if item["is_won"] else "lost" if item["is_closed"] else "open"] += 1
    assert all(outcomes[k] >= 5 for k in ("won", "lost", "open")), outcomes
    assert {s["opportunity_type"] for s in latest.values()} == {"new_business", "renewal"}


def test_more_engaged_accounts_get_more_opportunities():
    world, touches, _, latest = generate(7)
    days = touch_days_by_account(world, touches)
    per_account = Counter(item["account_id"] for item in latest.values())
    fewest_of_three = min(len(days.get(a, ())) for a, n in per_account.items() if n == 3)
    most_of_one = max(len(days.get(a, ())) for a, n in per_account.items() if n == 1)
    assert fewest_of_three > most_of_one


@pytest.mark.parametrize("seed", [7, 8, 11])
def test_the_most_engaged_quarter_wins_more_often_and_closes_faster(seed):
    """Quartiles as engagement_influence makes them: closed opportunities ordered by pre-opportunity
    engagement, then id; q4 the most engaged quarter. Deterministic for a seed (run() uses these)."""
    world, touches, _, latest = generate(seed)
    days = touch_days_by_account(world, touches)
    closed = sorted((pre_opp_touches(days.get(o["account_id"], []), datetime.fromisoformat(o["created_at"])),
                     o["opportunity_id"], o) for o in latest.values() if o["is_closed"])
    assert len(closed) >= 40
    quarter = len(closed) // 4
    q1, q4 = [o for *_, o in closed[:quarter]], [o for *_, o in closed[-quarter:]]

    def win_rate(opps):
        return sum(o["is_won"] for o in opps) / len(opps)

    def cycle(opps):
        won = [o for o in opps if o["is_won"]]
        return sum((date.fromisoformat(o["close_date"]) - datetime.fromisoformat(o["created_at"]).date()).days
                   for o in won) / len(won)

    assert win_rate(q4) >= 2 * win_rate(q1) > 0
    assert cycle(q4) < cycle(q1) * 0.75
