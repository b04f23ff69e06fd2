"""The demo's backfilled touches: a steady baseline per account, and a few accounts surging.

Surging (README, "What the numbers mean") is 10+ minutes in the last 7 days and at least twice the weekly
average of the 28 days before. The first demo showed nearly every active account surging: it drew 30 days of
touches uniformly at random, so the 28 days before the last 7 reached back past the history (a baseline short by
a sixth); a few touches a week at random gave many accounts a lucky week, and one meeting or webinar attendance
in it (15 to 120 minutes against a usual week of a few) doubled it; and its live stream (about 20 touches a
second against 120 a day of history) made every touched account surge within minutes. So here: six whole
weeks; each account's touches in the same number every week (its share of the day's volume); the webinar's
attendances on the webinar's day; a few chosen accounts with a burst in their last days; any other account
that the draw left surging by chance calmed (its heaviest recent touches moved into the weeks before, until
its last 7 days are under 1.5 of its usual week or under 10 minutes); and a live stream at about the history's
pace (pulse/demo.py).
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, time, timedelta
from decimal import Decimal

import msgspec

from pulse.demo_crm import account_of_touch
from schemas.events import Event
from streams.core.weights import Weights, minutes_for

DAYS = 42            # six weeks: the last 7 days and the 28 before them, whole, and a week before those
PER_DAY = 600        # touches a day over every account (the Zipf weights share them)
WEBINAR_DAYS_AGO = 16
SURGES = 6           # accounts whose last days hold a burst: what the Alerts page calls surging
CALM = Decimal("1.5")  # a calmed account's last 7 days stay under this many of its usual weeks
BURST = Decimal("2.5")  # a surging account's last 7 days hold at least this many of its usual weeks


def _count(rnd: random.Random, expected: float) -> int:
    """A whole number of touches with this expectation (the fraction decides by chance)."""
    return int(expected) + (rnd.random() < expected % 1)


def surging_accounts(world, rnd: random.Random) -> list:
    """A few target accounts of the engaged middle (ranks 4 to 60 by weight): not the very top, whose week is
    already large, and not the tail, which would not reach 10 minutes."""
    ranked = sorted((a for a in world.accounts if a.is_target), key=lambda a: -world.weights[world.accounts.index(a)])
    return rnd.sample(ranked[3:60], SURGES)


def make_history(world, rnd: random.Random, now: datetime, make_touch, days: int = DAYS,
                 per_day: int = PER_DAY) -> tuple[list[dict], list[str]]:
    """(touches, the surging accounts' ids): `days` days of touches before now, each account's in the same number
    every 7 days (`make_touch(world, rnd, at, account)` makes one), then the surging accounts' bursts."""
    total = sum(world.weights)
    webinar = datetime.combine((now - timedelta(days=WEBINAR_DAYS_AGO)).date(), time(16), now.tzinfo)

    def touch(at: datetime, account) -> dict:
        made = make_touch(world, rnd, at, account)
        if made["type"] == "event_attendance":  # a webinar is attended on its day, not spread over the weeks
            made["occurred_at"] = (webinar + timedelta(minutes=rnd.uniform(-30, 60))).isoformat()
        return made

    touches = []
    for account, weight in zip(world.accounts, world.weights):
        for start in range(0, days, 7):
            span = min(7, days - start)
            for _ in range(_count(rnd, per_day * span * weight / total)):
                touches.append(touch(now - timedelta(days=start + rnd.uniform(0, span), minutes=1), account))
    surging = surging_accounts(world, rnd)
    by_account = minutes_by_account(world, touches)
    calm(by_account, rnd, now, {a.account_id for a in surging})
    for account in surging:
        burst(world, touches, by_account.get(account.account_id, []), rnd, now, lambda at, a=account: touch(at, a))
    return touches, [a.account_id for a in surging]


def burst(world, touches: list[dict], touched: list, rnd: random.Random, now: datetime, make_touch) -> None:
    """Touches of one account (`touched`: its (minutes, touch) so far) in its last 5 days, until its last 7 days
    hold 20+ minutes and BURST of its usual week: a surge that an hour of the live stream does not make ordinary."""
    last7, prior = window_sums(touched, now)
    while last7 < 20 or last7 * 4 < BURST * prior:
        touch = make_touch(now - timedelta(days=rnd.uniform(0, 5), minutes=1))
        touches.append(touch)
        touched += [item for found in minutes_by_account(world, [touch]).values() for item in found]
        last7, prior = window_sums(touched, now)


def minutes_by_account(world, touches: list[dict]) -> dict[str, list[tuple[Decimal, dict]]]:
    """account_id -> (minutes, touch) of its touches, weighed as the worker weighs them by default (weights and
    buying roles; the daily caps, which only lower a day, left out)."""
    weights, roles = Weights(), {c.email: c.role for c in world.contacts}
    found = defaultdict(list)
    for touch in touches:
        account = account_of_touch(world, touch)
        if account is not None and touch["type"] != "identify":
            event = msgspec.convert(touch, Event, strict=False)
            found[account].append((minutes_for(event, weights, roles.get(touch.get("email"), "unknown")), touch))
    return found


def window_sums(touched: list[tuple[Decimal, dict]], now: datetime) -> tuple[Decimal, Decimal]:
    """(minutes of the last 7 days, of the 28 days before), by UTC day as the view counts by reporting day."""
    last7 = prior = Decimal(0)
    for minutes, touch in touched:
        age = (now.date() - datetime.fromisoformat(touch["occurred_at"]).date()).days
        last7 += minutes if age < 7 else 0
        prior += minutes if 7 <= age < 35 else 0
    return last7, prior


def calm(by_account: dict[str, list], rnd: random.Random, now: datetime, surging: set[str]) -> None:
    """Move the heaviest touches of the last 8 days of each account not in `surging` to a day 10 to 30 days ago
    until its last 7 days are under 10 minutes or under CALM of its usual week (a reporting time zone ahead or
    behind UTC moves the 7 days by a day at most)."""
    for account, touched in by_account.items():
        if account in surging:
            continue
        last7, prior = window_sums(touched, now)
        recent = sorted(((m, t) for m, t in touched if (now - datetime.fromisoformat(t["occurred_at"])).days < 8),
                        key=lambda item: item[0])
        while recent and last7 >= 10 and last7 * 4 >= CALM * prior:
            minutes, touch = recent.pop()
            touch["occurred_at"] = (now - timedelta(days=rnd.uniform(10, 30))).isoformat()
            last7, prior = window_sums(touched, now)
