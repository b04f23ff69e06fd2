"""The demo's history shows a believable mix: a few accounts surging, most not. Surging as the README defines it
(account_engagement): 10+ minutes in the last 7 days and at least twice the weekly average of the 28 days before,
counted here on what run() posts (the backfilled touches, then the reps' calls, emails and meetings), weighed
as the worker weighs them by default. The first demo showed 25 of the 43 accounts with 10+ minutes surging from
its history alone (seed 7), and every touched account within minutes of its live stream."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from pulse import demo, demo_funnel, demo_history, demo_sales
from pulse.demo_crm import account_of_touch

NOW = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)


def flags(world, touches: list[dict], now: datetime = NOW) -> tuple[set[str], set[str]]:
    """(accounts with 10+ minutes in the last 7 days, the surging ones among them)."""
    active, surging = set(), set()
    for account, touched in demo_history.minutes_by_account(world, touches).items():
        last7, prior = demo_history.window_sums(touched, now)
        if last7 >= 10:
            active.add(account)
            if last7 * 4 >= 2 * prior:
                surging.add(account)
    return active, surging


@pytest.mark.parametrize("seed", [7, 8])
def test_a_few_chosen_accounts_surge_and_most_active_ones_do_not(seed):
    world = demo.make_world(seed)
    touches, chosen = demo_history.make_history(world, random.Random(seed + 1), NOW, demo.make_touch)
    lifecycle = demo_funnel.make_lifecycle(world, random.Random(seed + 3), NOW)
    posted = touches + demo_sales.make_sales_activity(world, random.Random(seed + 4), NOW, lifecycle)
    active, surging = flags(world, posted)
    assert len(chosen) == demo_history.SURGES and set(chosen) <= surging
    assert len(active) >= 60 and len(surging) <= 10, (len(active), sorted(surging))
    assert {a.account_id for a in world.accounts if a.is_target} >= set(chosen)


def test_the_baseline_is_whole_and_the_webinar_is_attended_on_its_day():
    """The 28 days before the last 7 lie inside the history (no empty days that would shrink the usual week), and
    every account's weeks hold about the same number of touches."""
    world = demo.make_world(7)
    touches = demo.make_history(world, random.Random(8), NOW)
    ages = [(NOW - datetime.fromisoformat(t["occurred_at"])).days for t in touches]
    assert max(ages) >= 35 and min(ages) >= 0
    webinar = {datetime.fromisoformat(t["occurred_at"]).date() for t in touches if t["type"] == "event_attendance"}
    assert webinar == {(NOW - timedelta(days=demo_history.WEBINAR_DAYS_AGO)).date()}
    heaviest = max(world.accounts, key=lambda a: world.weights[world.accounts.index(a)]).account_id
    per_week = Counter(age // 7 for t, age in zip(touches, ages)
                       if account_of_touch(world, t) == heaviest and t["type"] != "event_attendance")
    weeks = [per_week[w] for w in range(1, 6)]
    assert min(weeks) >= 0.7 * max(weeks), weeks


def test_the_live_stream_keeps_to_the_historys_pace():
    """An hour of live touches at the default rate adds about a fifth of a week's history, not several weeks."""
    rnd = random.Random(1)
    per_hour = sum(demo.live_count(rnd, demo.LIVE_RATE) for _ in range(3600))
    assert 0.8 * 3600 * demo.LIVE_RATE < per_hour < 1.2 * 3600 * demo.LIVE_RATE
    assert per_hour < 0.3 * 7 * demo_history.PER_DAY
    assert [demo.live_count(random.Random(2), 0) for _ in range(5)] == [0] * 5
