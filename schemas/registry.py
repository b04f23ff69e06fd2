"""Registry records: target accounts and contacts, as they travel on the registry topic.

A worker holds a million of them for its whole life: gc=False keeps them out of every collection.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Union

import msgspec


class AccountRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    account_id: str
    name: str = ""
    domains: tuple[str, ...] = ()
    ip_ranges: tuple[str, ...] = ()
    tier: str = ""
    is_target: bool = True
    committee_size: int | None = None
    owner: str = ""


class ContactRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    email: str
    account_id: str = ""
    name: str = ""
    title: str = ""
    role: Literal["c_level", "vp", "director", "manager", "other"] = "other"


class ProgramRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    program_id: str
    name: str = ""
    channel: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    cost: Decimal | None = None
    audience_size: int | None = None


class SpendRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Money spent in a month outside the programs' own costs (`pulse spend import`): salaries, tools, agencies."""

    month: date        # the month's first day
    category: str
    amount: Decimal    # in PULSE_CURRENCY


class GoalRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A month's target for one revenue metric (`pulse goals import`)."""

    month: date        # the month's first day
    metric: Literal["pipeline_created_amount", "won_amount", "new_customers"]
    target: Decimal


class AccountsChanged(msgspec.Struct, tag="accounts", tag_field="kind"):
    items: list[AccountRecord]


class ContactsChanged(msgspec.Struct, tag="contacts", tag_field="kind"):
    items: list[ContactRecord]


class ProgramsChanged(msgspec.Struct, tag="programs", tag_field="kind"):
    items: list[ProgramRecord]


class SpendChanged(msgspec.Struct, tag="spend", tag_field="kind"):
    """One import's rows; `imported_at` orders imports, so the latest per (month, category) wins on any replay."""

    items: list[SpendRecord]
    imported_at: datetime


class GoalsChanged(msgspec.Struct, tag="goals", tag_field="kind"):
    """One import's rows; the latest import per (month, metric) wins."""

    items: list[GoalRecord]
    imported_at: datetime


class RescoreRequested(msgspec.Struct, tag="rescore", tag_field="kind"):
    """Ask the workers to re-read weights and re-score (and re-resolve) stored touches since a day."""

    since_days: int = 400
    requested_at: datetime | None = None


RegistryChange = Union[AccountsChanged, ContactsChanged, ProgramsChanged, SpendChanged, GoalsChanged,
                       RescoreRequested]
encode_change = msgspec.json.Encoder().encode
decode_change = msgspec.json.Decoder(RegistryChange).decode

ACCOUNT_COLUMNS = ("account_id", "name", "domains", "ip_ranges", "tier", "is_target", "committee_size", "owner")
CONTACT_COLUMNS = ("email", "account_id", "name", "title", "role")
PROGRAM_COLUMNS = ("program_id", "name", "channel", "starts_at", "ends_at", "cost", "audience_size")
SPEND_COLUMNS = ("month", "category", "amount")
GOAL_COLUMNS = ("month", "metric", "target")
