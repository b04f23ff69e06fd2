"""window_days: at a day boundary, every day whose place in one of account_engagement's windows
changed is named (checked against the windows themselves, day by day, over two years of boundaries);
confirmation_days: exactly the days whose place in the 400 days of confirmation changed."""
from __future__ import annotations

from datetime import date, timedelta

from streams.stages import ACCOUNTS_PER_DAY_MOVE, MAX_GAP_DAYS, accounts_per_move, confirmation_days, window_days


def windows(day: date, today: date) -> tuple[bool, ...]:
    """Which windows of account_engagement_eval (0100_views.sql) hold `day` when it is `today`."""
    def ago(n):
        return today - timedelta(days=n)
    return (day <= today, day > ago(7), day > ago(30), day > ago(90), day > ago(400),
            ago(34) <= day <= ago(7), day >= today.replace(day=1), day >= today.replace(month=1, day=1))


def test_every_day_that_changes_window_is_named():
    start = date(2025, 12, 1)
    for offset in range(0, 430, 3):
        before = start + timedelta(days=offset)
        for gap in range(1, MAX_GAP_DAYS + 1):
            today = before + timedelta(days=gap)
            named = window_days(before, today)
            for back in range(-3, 410):
                day = today - timedelta(days=back)
                if windows(day, before) != windows(day, today):
                    assert day in named, (before, today, day)


def test_same_day_names_nothing():
    assert window_days(date(2026, 3, 4), date(2026, 3, 4)) == set()


def test_confirmation_days_are_those_entering_or_leaving_the_400_days():
    def confirming(day: date, today: date) -> bool:
        return today - timedelta(days=400) < day <= today
    start = date(2025, 12, 1)
    for offset in range(0, 430, 7):
        before = start + timedelta(days=offset)
        for gap in range(1, MAX_GAP_DAYS + 1):
            today = before + timedelta(days=gap)
            days = (today - timedelta(days=back) for back in range(-3, 410))
            changed = {day for day in days if confirming(day, before) != confirming(day, today)}
            assert confirmation_days(before, today) == changed, (before, today)
            assert changed <= window_days(before, today)


def test_a_new_day_moves_fewer_accounts_a_tick_when_more_days_shift():
    """An ordinary day moves ACCOUNTS_PER_DAY_MOVE accounts a tick; the first of a month (the month that ended
    shifts too) and New Year's day (the year) fewer, so that each tick reads about as many person-days."""
    def per_tick(before: date) -> int:
        return accounts_per_move(len(window_days(before, before + timedelta(days=1))))
    ordinary, month, year = per_tick(date(2026, 12, 6)), per_tick(date(2026, 11, 30)), per_tick(date(2026, 12, 31))
    assert ordinary == ACCOUNTS_PER_DAY_MOVE
    assert ACCOUNTS_PER_DAY_MOVE // 8 < month < ACCOUNTS_PER_DAY_MOVE // 5
    assert 1 <= year < month // 8
