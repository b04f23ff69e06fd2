"""Row types written to ClickHouse. The column order here is the insert order of the sink.

Rows hold only values, so they are not tracked by the cycle collector (gc=False), like events.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import msgspec


class TouchRow(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One resolved, weighted touch: a row of `touches`, and the input of the engagement fold."""

    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    received_at: datetime
    day: date
    account_id: str        # "" when unresolved
    person: str
    method: str
    channel: str
    program_id: str
    minutes: Decimal       # engagement minutes, role multiplier applied
    base_minutes: Decimal  # before the role multiplier (the page-view daily cap counts these)
    success: int
    email: str
    anonymous_id: str
    ip: str                # truncated for storage
    url: str
    payload: str           # the validated event as JSON (ip truncated), for re-resolution and re-scoring
    # A row that replaces an earlier attribution of the same event carries what it takes back,
    # so folding it is self-contained (recovery needs no older version, which a merge may have removed).
    retracts: int = 0
    prev_account_id: str = ""
    prev_person: str = ""
    prev_minutes: Decimal = Decimal(0)
    prev_base_minutes: Decimal = Decimal(0)
    prev_success: int = 0  # a re-classified touch may lose (or regain) its program success
    # Issue 19: person, bot, scanner, privacy_proxy or internal, and why (streams/core/traffic.py). Any
    # class but person is stored with 0 minutes (MPP opens: weights.toml [traffic]) and no success.
    traffic: str = "person"
    traffic_reason: str = ""


TOUCH_COLUMNS = tuple(f.name for f in msgspec.structs.fields(TouchRow))
# Appended by the writer: bookkeeping for recovery and re-attribution.
TOUCH_WRITE_COLUMNS = TOUCH_COLUMNS + ("writer", "batch_seq", "version")

ENGAGEMENT_KEY = ("kind", "account_id", "day", "channel", "program_id", "person")
ENGAGEMENT_COLUMNS = ENGAGEMENT_KEY + ("minutes", "touches", "successes", "pv_base", "pv_minutes", "batch_seq")


class OpportunityRow(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One opportunity snapshot: a row of `opportunity_snapshots` (every snapshot is kept; the views
    take the latest by occurred_at as the state)."""

    event_id: uuid.UUID
    opportunity_id: str
    account_id: str
    occurred_at: datetime
    received_at: datetime
    stage: str
    is_closed: int
    is_won: int
    amount: Decimal        # to the cent, in the reporting currency
    currency: str
    created_at: datetime
    close_date: date
    name: str
    owner: str
    source: str
    type: str              # new_business, renewal or expansion (the event's `opportunity_type`)
    program_id: str
    probability: int | None
    payload: str           # the validated snapshot as JSON

    @classmethod
    def of(cls, event, received_at: datetime, currency: str) -> "OpportunityRow":
        """The row of a validated `schemas.events.Opportunity`; a snapshot without a currency is in the
        reporting one."""
        return cls(event.event_id, event.opportunity_id, event.account_id, event.occurred_at, received_at,
                   event.stage, int(event.is_closed), int(event.is_won), event.amount.quantize(_CENT),
                   event.currency or currency, event.created_at, event.close_date, event.name or "",
                   event.owner or "", event.source or "", event.opportunity_type, event.program_id or "",
                   event.probability, _payload(event).decode())


OPPORTUNITY_COLUMNS = tuple(f.name for f in msgspec.structs.fields(OpportunityRow))
_CENT = Decimal("0.01")
_payload = msgspec.json.Encoder().encode


class LifecycleRow(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One lifecycle change: a row of `lifecycle_changes` (every change is kept; the views order them)."""

    event_id: uuid.UUID
    email: str
    account_id: str        # as the CRM gave it; '' when not given
    stage: str
    occurred_at: datetime
    received_at: datetime
    owner: str
    lead_status: str
    source: str
    payload: str           # the validated change as JSON

    @classmethod
    def of(cls, event, received_at: datetime) -> "LifecycleRow":
        return cls(event.event_id, event.email, event.account_id or "", event.stage, event.occurred_at, received_at,
                   event.owner or "", event.lead_status or "", event.source or "", _payload(event).decode())


class AccountStatusRow(msgspec.Struct, array_like=True, frozen=True, gc=False):
    """One sales decision on an account: a row of `account_statuses`."""

    event_id: uuid.UUID
    account_id: str
    status: str            # accepted, rejected, not_interested or reopened
    occurred_at: datetime
    received_at: datetime
    reason: str
    owner: str
    payload: str           # the validated status as JSON

    @classmethod
    def of(cls, event, received_at: datetime) -> "AccountStatusRow":
        return cls(event.event_id, event.account_id, event.status, event.occurred_at, received_at,
                   event.reason or "", event.owner or "", _payload(event).decode())


LIFECYCLE_COLUMNS = tuple(f.name for f in msgspec.structs.fields(LifecycleRow))
ACCOUNT_STATUS_COLUMNS = tuple(f.name for f in msgspec.structs.fields(AccountStatusRow))


class RejectedRow(msgspec.Struct, array_like=True, frozen=True, gc=False):
    rejected_at: datetime
    source: str
    reasons: str
    payload: str
    dlq_key: str


REJECTED_COLUMNS = tuple(f.name for f in msgspec.structs.fields(RejectedRow))
