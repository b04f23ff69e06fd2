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


# Fields of the touch envelope an opportunity does not take: it belongs to an account, not a person.
OPPORTUNITY_FOREIGN = ("email", "anonymous_id", "ip", "campaign_id")

Event = Union[PageView, PageEngagement, EmailOpen, EmailClick, EventAttendance, Call, Meeting, FormSubmit, Identify,
              Opportunity]

EVENT_TYPES: dict[str, type[Touch]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (PageView, PageEngagement, EmailOpen, EmailClick, EventAttendance, Call, Meeting, FormSubmit,
                Identify, Opportunity)
}
# Types from the CRM: stored in their own tables, never scored as engagement.
CRM_TYPES = frozenset({"opportunity"})

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
}

# Wire format on the touches topic: one Kafka message = one JSON array of validated events,
# because Faust costs ~100 us per message and a hook request naturally carries many events.
encode_batch = msgspec.json.Encoder().encode
decode_batch = msgspec.json.Decoder(list[Event]).decode


def fields_of(cls: type[Touch]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.name: f for f in msgspec.structs.fields(cls)}
