"""Event contract v1: one model per touch type, shared by the hooks, the agents and the sink.

The JSON Schema file `schemas/json/event.v1.json` is generated from these models
(`python -m schemas.jsonschema`) so outside producers validate against the same contract.
msgspec is the validator: it decodes and type-checks typed events at about 1.7 million
events/s on this class of machine, against about 120,000/s for Faust records.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta

SCHEMA_VERSION = 1

# Documented length limits (characters); a longer value is rejected with a reason, never truncated.
MAX_LEN = {
    "url": 2048,
    "referrer": 2048,
    "title": 512,
    "email": 254,
    "anonymous_id": 128,
    "account_id": 128,
    "campaign_id": 128,
    "program_id": 128,
    "form_id": 128,
    "asset": 512,
    "source": 64,
    "rep": 128,
    "ip": 45,
    "opportunity_id": 128,
    "stage": 64,
    "name": 512,
    "owner": 128,
    "lead_status": 64,
    "reason": 512,
    "subject": 512,
    "user_agent": 512,
}
# Whole-number fields are bounded too, so one bogus value cannot dominate a sum (a day / 24 h).
MAX_INT = {
    "engaged_seconds": 86_400,
    "attended_minutes": 1_440,
    "duration_seconds": 86_400,
    "duration_minutes": 1_440,
}
# The unknown extra fields of one event, as JSON, at most this many bytes.
MAX_PROPERTIES_BYTES = 4096


def _text(name: str) -> Any:
    """A string field with its documented limit, so the JSON Schema and the decoder both enforce it."""
    return Annotated[str, Meta(max_length=MAX_LEN[name])]


def _count(name: str) -> Any:
    return Annotated[int, Meta(ge=0, le=MAX_INT[name])]


class Touch(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True, gc=False):
    """Fields every touch carries. `event_id` is filled in by validation when the producer omits it.

    gc=False: events hold only values (never themselves), so the cycle collector need not track
    them; tracked, the worker's millions of short-lived events made its collections the hot path.
    """

    event_id: uuid.UUID
    occurred_at: datetime
    # Identity: any of these; resolution tries them in the order documented in the README.
    email: _text("email") | None = None
    anonymous_id: _text("anonymous_id") | None = None
    ip: _text("ip") | None = None
    account_id: _text("account_id") | None = None
    campaign_id: _text("campaign_id") | None = None
    program_id: _text("program_id") | None = None
    source: _text("source") | None = None
    # The client's User-Agent (issue 19): the hooks fill it from the request on /collect, the pixels and
    # the email links; a webhook may send the one its system saw. Classifies bots, scanners and MPP.
    user_agent: _text("user_agent") | None = None
    # Unknown extra fields of the producer's payload, kept rather than dropped.
    properties: dict[str, Any] = {}


class PageView(Touch, tag="page_view"):
    url: _text("url")
    referrer: _text("referrer") | None = None
    title: _text("title") | None = None
    engaged_seconds: _count("engaged_seconds") | None = None


class PageEngagement(Touch, tag="page_engagement"):
    """A tracking-snippet heartbeat: the engaged time so far of the page view `page_view_id`.

    Not a page view and worth no minutes: it has its own event_id (so a retried beacon is a
    duplicate, not a second heartbeat), and the engaged time of a page view is the largest
    `engaged_seconds` among the view and its heartbeats (see the README, "Engaged time").
    """

    page_view_id: uuid.UUID
    engaged_seconds: _count("engaged_seconds")
    url: _text("url") | None = None


class EmailOpen(Touch, tag="email_open"):
    campaign_id: _text("campaign_id")


class EmailClick(Touch, tag="email_click"):
    campaign_id: _text("campaign_id")
    url: _text("url")


class EventAttendance(Touch, tag="event_attendance"):
    program_id: _text("program_id")
    status: Literal["registered", "attended", "no_show"]
    attended_minutes: _count("attended_minutes") | None = None


class Call(Touch, tag="call"):
    direction: Literal["inbound", "outbound"]
    duration_seconds: _count("duration_seconds")
    outcome: Literal["no_answer", "voicemail", "connected", "conversation", "meeting_booked"]
    rep: _text("rep") | None = None


class Meeting(Touch, tag="meeting"):
    duration_minutes: _count("duration_minutes") | None = None
    rep: _text("rep") | None = None


class FormSubmit(Touch, tag="form_submit"):
    form_id: _text("form_id")
    asset: _text("asset") | None = None


class Identify(Touch, tag="identify"):
    """Links the website cookie to an email, so anonymous visits count for that person's account."""

    anonymous_id: _text("anonymous_id")
    email: _text("email")


class Opportunity(Touch, tag="opportunity"):
    """A snapshot of one CRM opportunity as it was at `occurred_at` (the moment the CRM changed it).

    Not a touch: it earns no engagement minutes and is stored in `opportunity_snapshots`, not
    `touches` (streams/pipeline.py routes it). It shares the envelope (event_id, occurred_at,
    properties, the content-derived id) so it travels the same topic, validation and dead letters.
    Its state is the snapshot with the latest `occurred_at`, unlike a touch, whose first version
    wins (README, "Opportunities"). The rules the types cannot say (is_won only when closed, the
    amount's decimals, the reporting currency) are in schemas/event_rules.py.
    """

    account_id: _text("account_id")  # required here: the CRM's account, the id space of `pulse accounts import`
    opportunity_id: _text("opportunity_id")
    stage: _text("stage")            # free text, as the CRM names it
    is_closed: bool
    is_won: bool
    amount: Annotated[Decimal, Meta(description="decimal >= 0 with at most 2 decimals (a JSON number or string)")]
    created_at: datetime             # with an offset
    close_date: date                 # expected close while open, the actual close once closed
    name: _text("name") | None = None
    owner: _text("owner") | None = None
    # `type` is the envelope's tag ("opportunity"), so the CRM's deal type has its own name.
    opportunity_type: Literal["new_business", "renewal", "expansion"] = "new_business"
    probability: Annotated[int, Meta(ge=0, le=100)] | None = None
    currency: Annotated[str, Meta(pattern="^[A-Z]{3}$")] | None = None  # ISO 4217; must be PULSE_CURRENCY


class LifecycleChange(Touch, tag="lifecycle_change"):
    """A person's lifecycle stage in the CRM changed (issue 16). A CRM record like an opportunity:
    stored in `lifecycle_changes`, never scored. `stage` must be one of PULSE_LIFECYCLE_STAGES
    (HubSpot's list by default), checked in schemas/event_rules.py since the list is a setting."""

    email: _text("email")            # required: the person
    stage: _text("stage")
    owner: _text("owner") | None = None              # the rep the lead is assigned to
    lead_status: _text("lead_status") | None = None  # free text: new, attempting, connected, unqualified, ...


class AccountStatus(Touch, tag="account_status"):
    """Sales' decision on an account (issue 16): a CRM record stored in `account_statuses`."""

    account_id: _text("account_id")  # required: the CRM's account, the id space of `pulse accounts import`
    status: Literal["accepted", "rejected", "not_interested", "reopened"]
    reason: _text("reason") | None = None
    owner: _text("owner") | None = None


class SalesEmail(Touch, tag="sales_email"):
    """A one-to-one email between a rep and a person (not a campaign). A touch: an inbound one (the
    person replied) earns engagement minutes (weights.toml `sales_email_inbound`, default 2)."""

    email: _text("email")            # required: the person
    direction: Literal["outbound", "inbound"]
    rep: _text("rep") | None = None
    subject: _text("subject") | None = None


# Fields of the touch envelope an opportunity does not take: it belongs to an account, not a person.
OPPORTUNITY_FOREIGN = ("email", "anonymous_id", "ip", "campaign_id")
# ... nor an account's status; a lifecycle change belongs to a person (its email), not a cookie or address.
ACCOUNT_STATUS_FOREIGN = OPPORTUNITY_FOREIGN
LIFECYCLE_FOREIGN = ("anonymous_id", "ip", "campaign_id", "program_id")
# HubSpot's lifecycle stages, in order; PULSE_LIFECYCLE_STAGES may rename or reorder them. `other`
# stands outside the order (it implies no stage, and no stage implies it).
LIFECYCLE_STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other")
OUTSIDE_ORDER = "other"

Event = Union[PageView, PageEngagement, EmailOpen, EmailClick, EventAttendance, Call, Meeting, FormSubmit, Identify,
              Opportunity, LifecycleChange, AccountStatus, SalesEmail]

EVENT_TYPES: dict[str, type[Touch]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (PageView, PageEngagement, EmailOpen, EmailClick, EventAttendance, Call, Meeting, FormSubmit,
                Identify, Opportunity, LifecycleChange, AccountStatus, SalesEmail)
}
# Types from the CRM: stored in their own tables, never scored as engagement (`sales_email` is a
# touch, not a record: it is scored; /hooks/crm takes it too, see streams/tracking/endpoint_types.py).
CRM_TYPES = frozenset({"opportunity", "lifecycle_change", "account_status"})
# Signed-only touches: never taken by the public /collect, whatever PULSE_COLLECT_TYPES says.
SIGNED_ONLY_TYPES = CRM_TYPES | {"sales_email"}

# The channel each type counts under in engagement minutes and awareness.
CHANNEL = {
    "page_view": "web",
    "page_engagement": "web",
    "email_open": "email",
    "email_click": "email",
    "event_attendance": "event",
    "call": "call",
    "meeting": "meeting",
    "form_submit": "form",
    "identify": "web",
    "sales_email": "sales_email",
}

# Wire format on the touches topic: one Kafka message = one JSON array of validated events,
# because Faust costs ~100 us per message and a hook request naturally carries many events.
encode_batch = msgspec.json.Encoder().encode
decode_batch = msgspec.json.Decoder(list[Event]).decode


def fields_of(cls: type[Touch]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.name: f for f in msgspec.structs.fields(cls)}
