"""Opportunity snapshots for the revenue tests: validated as the hooks and the worker validate them."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from schemas.rows import OpportunityRow
from schemas.validate import Accepted, validate

AGE = timedelta(days=800)


def snapshot(opportunity_id: str, stage: str = "Prospecting", *, account_id: str = "acme", amount: str = "100.00",
             closed: str = "", created: datetime, close: date, at: datetime, **extra) -> dict:
    """One snapshot as a CRM posts it; `closed` is '' (open), 'won' or 'lost'."""
    return {"type": "opportunity", "opportunity_id": opportunity_id, "account_id": account_id, "stage": stage,
            "is_closed": closed != "", "is_won": closed == "won", "amount": amount,
            "created_at": created.isoformat(), "close_date": close.isoformat(), "occurred_at": at.isoformat(),
            **extra}


def rows_of(snapshots: list[dict], now: datetime, currency: str = "USD") -> list[OpportunityRow]:
    """The rows the worker makes of these snapshots (validation, then OpportunityRow.of)."""
    rows = []
    for item in snapshots:
        result = validate(item, now=now, max_age=AGE, currency=currency)
        assert isinstance(result, Accepted), (item, result)
        rows.append(OpportunityRow.of(result.event, now, currency))
    return rows


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), timezone.utc)
