"""The demo's spend and goals: twelve months of spend up to this month, goals for the last three."""
from __future__ import annotations

from datetime import date

from pulse.demo_money import months_back


def test_months_back_crosses_the_year_oldest_first():
    assert months_back(date(2026, 2, 17), 4) == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1),
                                                 date(2026, 2, 1)]
    assert months_back(date(2026, 12, 31), 12)[0] == date(2026, 1, 1)
