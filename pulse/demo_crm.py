"""The demo's CRM history (issue 15), consistent with the demo's touches: opportunities follow engagement.

An account's engagement here is what the Influence page measures, approximated from the touches the demo
posted: how many touches the account made on the days before an opportunity was created (the 90 days before
its created day, that day excluded). The more engaged target accounts get more opportunities; each one is
created after some of its account's touches; and the more engaged it was when created, the likelier it is
won (and the less likely lost) and the sooner it closes. So the Influence page's headline says what the
brief's example says, that the most engaged quarter closes faster and wins more often, from seeded data.
"""
from __future__ import annotations

import bisect
import random
from datetime import datetime, timedelta
from decimal import Decimal

# The CRM's sales stages with their probability, then Closed Won / Closed Lost (a Salesforce-like ladder).
STAGES = (("Prospecting", 10), ("Discovery", 25), ("Proposal", 50), ("Negotiation", 75))
# (accounts, opportunities each) from the most engaged target account down; then a few barely engaged ones,
# so the least engaged quarter of closed opportunities is a real one
LADDER = ((8, 3), (16, 2), (24, 1))
TAIL = 8
WINDOW_DAYS = 90


def account_of_touch(world, touch: dict) -> str | None:
    """The demo account a touch is at: its person's (email), else its IP's range (198.18.x.0/24 ...)."""
    if "email" in touch:
        return world.account_by_email.get(touch["email"])
    if "ip" in touch:
        _, second, third, _ = touch["ip"].split(".")
        return world.account_by_range.get((second, third))
    return None


def touch_days(world, touches: list[dict]) -> dict[str, list]:
    """account_id -> the sorted days (UTC dates) of its touches that earn minutes (identify events do not)."""
    days: dict[str, list] = {}
    for touch in touches:
        account = account_of_touch(world, touch)
        if account is not None and touch["type"] != "identify":
            days.setdefault(account, []).append(datetime.fromisoformat(touch["occurred_at"]).date())
    return {account: sorted(found) for account, found in days.items()}


def engagement_before(days: list, created: datetime) -> int:
    """Touches on the 90 days before the created day, that day excluded (as pre_opp_minutes counts days)."""
    day = created.date()
    return bisect.bisect_left(days, day) - bisect.bisect_left(days, day - timedelta(days=WINDOW_DAYS))


def recent(day, now: datetime) -> bool:
    """A touch day an opportunity may follow: within the last 27 days, two days ago or before."""
    return now.date() - timedelta(days=27) < day <= now.date() - timedelta(days=2)


def plan(world, days: dict[str, list], rnd: random.Random, now: datetime) -> list[tuple[str, datetime]]:
    """(account_id, created_at) of every opportunity: the most engaged target accounts get the most, each
    created a day or two after one of its account's recent touches (so some engagement precedes it); an
    account without recent touches gets one created at some time of the last 28 days."""
    targets = sorted((a.account_id for a in world.accounts if a.is_target),
                     key=lambda account: (-len(days.get(account, ())), account))
    counts, at = {}, 0
    for accounts, each in LADDER:
        counts.update({account: each for account in targets[at:at + accounts]})
        at += accounts
    counts.update({account: 1 for account in rnd.sample(targets[at + 100:], TAIL)})
    planned = []
    for account, count in counts.items():
        own = [d for d in days.get(account, ()) if recent(d, now)]
        for _ in range(count):
            if own:  # the next day or the one after, but at least 6 hours ago: after that day's touches
                created = datetime.combine(rnd.choice(own), now.timetz()) + timedelta(hours=rnd.uniform(26, 40))
                created = min(created, now - timedelta(hours=6))
            else:
                created = now - timedelta(days=rnd.uniform(2, 28))
            planned.append((account, created))
    return planned


def outcome(rnd: random.Random, share: float, renewal: bool) -> str:
    """won, lost or open; `share` is where the opportunity's engagement ranks among all (0 the least, 1 the
    most): won from 10 % to 70 % of the time, lost from 60 % to 10 %; renewals are mostly won."""
    if renewal:
        return rnd.choices(("won", "lost", "open"), (0.6, 0.2, 0.2))[0]
    won, lost = 0.1 + 0.6 * share, 0.6 - 0.5 * share
    return rnd.choices(("won", "lost", "open"), (won, lost, 1 - won - lost))[0]


def make_opportunities(world, rnd: random.Random, now: datetime, touches: list[dict]) -> list[dict]:
    """Every opportunity as the snapshots a CRM sends while it moves up the stages, then closes (won or
    lost) or stays open; every ninth a renewal. The engaged close in a small part of the time they had."""
    days = touch_days(world, touches)
    planned = plan(world, days, rnd, now)
    scores = [engagement_before(days.get(account, []), created) for account, created in planned]
    order = sorted(scores)
    snapshots = []
    for n, ((account_id, created), score) in enumerate(zip(planned, scores)):
        account = world.account_by_id[account_id]
        share = (bisect.bisect_left(order, score) + bisect.bisect_right(order, score)) / 2 / len(order)
        renewal = n % 9 == 8
        result = outcome(rnd, share, renewal)
        reached = rnd.randint(1, len(STAGES)) if result == "open" else len(STAGES)
        # the time to close, as a part of the time since creation: 5-35 % for the most engaged, 45-100 % least
        span = (now - created) * (0.05 + 0.4 * (1 - share) + rnd.uniform(0, 0.6 - 0.3 * share))
        closes = created + min(span, now - created)
        times = sorted(created + (closes - created) * rnd.random() for _ in range(reached - 1))
        base = {"opportunity_id": f"demo-opp-{n + 1:03d}", "account_id": account_id,
                "name": f"{account.name} · {'renewal' if renewal else 'platform'}",
                "owner": account.owner, "amount": str(Decimal(rnd.randrange(50, 800)) * 100),
                "created_at": created.isoformat(), "type": "opportunity",
                "opportunity_type": "renewal" if renewal else "new_business",
                "source": rnd.choice(("marketing", "marketing", "sales", "partner"))}
        expected = (now + timedelta(days=rnd.randint(10, 60))).date().isoformat()
        for (stage, probability), at in zip(STAGES, [created] + times):
            snapshots.append({**base, "stage": stage, "probability": probability, "is_closed": False,
                              "is_won": False, "close_date": expected, "occurred_at": at.isoformat()})
        if result != "open":
            snapshots.append({**base, "stage": "Closed Won" if result == "won" else "Closed Lost",
                              "probability": 100 if result == "won" else 0, "is_closed": True,
                              "is_won": result == "won", "close_date": closes.date().isoformat(),
                              "occurred_at": closes.isoformat()})
    return snapshots


def accounts_in_business(snapshots: list[dict]) -> frozenset[str]:
    """The accounts with a won or an open opportunity in this history (each one's latest snapshot): sales work
    them, so their decision can only be accepted (pulse/demo_sales.py), never rejected or not interested."""
    latest: dict[str, dict] = {}
    for item in sorted(snapshots, key=lambda s: s["occurred_at"]):
        latest[item["opportunity_id"]] = item
    return frozenset(o["account_id"] for o in latest.values() if o["is_won"] or not o["is_closed"])
