"""The demo's money: a year of monthly spend and the last months' goals, through the registry topic as
`pulse spend import` and `pulse goals import` send them, so the Revenue page's CAC, CLV and goals chart
have figures from the first minute."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.registry import GoalRecord, GoalsChanged, SpendChanged, SpendRecord
from schemas.settings import Settings

# (category, amount per month): a small marketing team's costs besides its programs
SPEND = (("salaries", Decimal("42000.00")), ("tools", Decimal("6500.00")), ("agencies", Decimal("12000.00")))
# (metric, target per month): sized to the demo's CRM history (pulse/demo_crm.py: about 90 deals in 28 days,
# 3.5M of pipeline, 1.75M won from 29 new customers at seed 7), so a month's pace reads near the goal
GOALS = (("won_amount", Decimal("1600000.00")), ("pipeline_created_amount", Decimal("3200000.00")),
         ("new_customers", Decimal("25")))


def months_back(today: date, n: int) -> list[date]:
    """The first days of this month and the n - 1 before it, oldest first."""
    index = today.year * 12 + today.month - 1
    return [date((index - k) // 12, (index - k) % 12 + 1, 1) for k in reversed(range(n))]


def publish_spend_and_goals(p, settings: Settings) -> None:
    from streams.producer import publish_dated

    months = months_back(datetime.now(ZoneInfo(settings.reporting_tz)).date(), 12)
    now = datetime.now(timezone.utc)
    publish_dated(p, settings, SpendChanged,
                  [SpendRecord(month=m, category=c, amount=a) for m in months for c, a in SPEND], now)
    publish_dated(p, settings, GoalsChanged,
                  [GoalRecord(month=m, metric=k, target=t) for m in months[-3:] for k, t in GOALS], now)
