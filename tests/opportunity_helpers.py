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


def day_opportunity(opportunity_id: str, account_id: str, amount: str, *, created: date, close: date,
                    closed: str = "", stage: str = "", at: datetime | None = None, **extra) -> dict:
    """A snapshot by days: created at noon UTC of `created`, stage named after `closed` unless given."""
    stage = stage or {"": "Prospecting", "won": "Closed Won", "lost": "Closed Lost"}[closed]
    created_at = midnight(created) + timedelta(hours=12)
    return snapshot(opportunity_id, stage, account_id=account_id, amount=amount, closed=closed, created=created_at,
                    close=close, at=at or datetime.now(timezone.utc), **extra)


def register_accounts(client, database: str, *accounts: tuple[str, str, bool]) -> None:
    """(account_id, name, is_target) straight into the registry table, as the worker stores it."""
    from schemas.registry import ACCOUNT_COLUMNS, AccountRecord

    records = [AccountRecord(account_id=a, name=n, domains=(), ip_ranges=(), tier="", is_target=t,
                             committee_size=None, owner="") for a, n, t in accounts]
    now = datetime.now(timezone.utc)
    client.insert(f"{database}.accounts", [[getattr(r, c) for c in ACCOUNT_COLUMNS] + [now] for r in records],
                  column_names=ACCOUNT_COLUMNS + ("updated_at",))


def store_snapshots(client, database: str, snapshots: list[dict]) -> tuple[int, int, int]:
    """Through the sink the worker uses (sinks/opportunities.py)."""
    from sinks.opportunities import write_opportunities
    from sinks.writer import ClickHouseWriter

    writer = ClickHouseWriter(client, database, "w-revenue-helpers")
    writer.start()
    return write_opportunities(writer, rows_of(snapshots, datetime.now(timezone.utc)))


def engagement_stages(client, database: str, stages: dict[str, str]) -> None:
    """Today's engagement stage per account, as the worker records its evaluation of account_engagement."""
    now = datetime.now(timezone.utc)
    client.insert(f"{database}.account_engagement_snapshot", [[now, a, s] for a, s in stages.items()],
                  column_names=("evaluated_at", "account_id", "stage"))
