"""Exact numbers against the real broker and a real worker: duplicates, full replays, replays from a
time or an offset, and late events change nothing they should not."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from conftest import sql_rows, wait_until
from opskit import (accounts, expected_totals, generate, health, now_utc, publish_registry, pulse, send_in_messages,
                    stored_totals, wait_for_registry)
from schemas.events import EmailClick, Meeting


def handled(settings, events: int) -> dict:
    """The worker has taken (and written or skipped as duplicates) this many events since it started."""
    def done():
        h = health(settings)
        return h if h["written"] + h["duplicates"] + h["dead_letters"] >= events else None

    return wait_until(done, 180, 0.5, what=f"the worker to handle {events} events")


def replayed(result) -> int:
    assert result.returncode == 0, result.stderr
    return int(re.search(r"re-published ([\d,]+) messages", result.stdout).group(1).replace(",", ""))


def test_duplicates_and_replays_change_nothing(settings, start):
    publish_registry(settings, accounts(20))
    start("worker", settings)
    wait_for_registry(settings, 20)
    events, expected = generate(20_000, 20, seed=11, now=now_utc())
    n = len(events)
    first = send_in_messages(settings, events, seed=11)
    assert handled(settings, n)["written"] == len(expected.ids)
    want = expected_totals(expected)
    assert stored_totals(settings) == want
    # every view agrees: all events are within the last 30 days
    view = dict(sql_rows(settings, "SELECT account_id, minutes_30d FROM account_engagement"))
    assert view == expected.view_minutes()  # forms capped per person and day, counted once confirmed

    # the same messages again (a producer retrying everything), then a full replay of the topic
    second = send_in_messages(settings, events, seed=11)
    assert replayed(pulse(settings, "replay", "--from", "earliest")) == first + second
    h = handled(settings, 4 * n)
    assert h["written"] + h["duplicates"] == 4 * n and h["written"] == len(expected.ids)
    assert stored_totals(settings) == want
    assert dict(sql_rows(settings, "SELECT account_id, minutes_30d FROM account_engagement")) == view

    # from a time: only messages published since then are re-read
    cut = now_utc()
    late = [Meeting(event_id=e.event_id, occurred_at=e.occurred_at, email=e.email, duration_minutes=5)
            for e in generate(300, 20, seed=12, now=cut)[0] if isinstance(e, Meeting)]
    unique_late = {e.event_id for e in late}
    third = send_in_messages(settings, late, seed=12, sizes=(10, 20))
    assert replayed(pulse(settings, "replay", "--from", cut.isoformat())) == third
    handled(settings, 4 * n + 2 * len(late))
    # from an offset: every message published (a replay's own copies are never copied again)
    assert replayed(pulse(settings, "replay", "--from", "0")) == first + second + third
    h = handled(settings, 6 * n + 3 * len(late))
    assert h["written"] == len(expected.ids) + len(unique_late)
    minutes, touches, count = stored_totals(settings)
    assert count == want[2] + len(unique_late)
    assert sum(minutes.values()) == sum(want[0].values()) + 5 * len(unique_late)
    assert sum(touches.values()) == count

    # nonsense is refused with the reason, before anything is published
    bad = pulse(settings, "replay", "--from", "yesterday-ish")
    assert bad.returncode == 2 and "--from 'yesterday-ish'" in bad.stderr
    bad = pulse(settings, "replay", "--from", "0", "--partition", "7")
    assert bad.returncode == 2 and "--partition [7]" in bad.stderr


def test_a_late_event_lands_in_its_day_and_window(settings, start):
    publish_registry(settings, accounts(3))
    start("worker", settings)
    wait_for_registry(settings, 3)
    now = now_utc().replace(microsecond=0)
    three_days, twelve_days, forty_days = now - timedelta(days=3), now - timedelta(days=12), now - timedelta(days=40)
    late = [
        EmailClick(event_id=_id(1), occurred_at=three_days, email="a@acc000.example", campaign_id="c", url="https://x"),
        Meeting(event_id=_id(2), occurred_at=twelve_days, email="b@acc000.example", duration_minutes=45),
        Meeting(event_id=_id(3), occurred_at=forty_days, email="c@acc000.example", duration_minutes=7),
    ]
    send_in_messages(settings, late, seed=1, sizes=(3, 3))
    handled(settings, 3)
    days = dict(sql_rows(settings, "SELECT day, sum(minutes) FROM engagement_daily WHERE kind = 'touch' "
                                   "AND account_id = 'acc-000' GROUP BY day"))
    assert days == {three_days.date(): Decimal("2.00"), twelve_days.date(): Decimal("45.00"),
                    forty_days.date(): Decimal("7.00")}
    windows = sql_rows(settings, "SELECT minutes_7d, minutes_30d, minutes_90d FROM account_engagement "
                                 "WHERE account_id = 'acc-000'")
    assert windows == [(Decimal("2.00"), Decimal("47.00"), Decimal("54.00"))]


def _id(n: int):
    import uuid

    return uuid.UUID(int=n, version=4)
