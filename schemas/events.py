"""Event contract v1: one model per touch type, shared by the hooks, the agents and the sink.

The JSON Schema file `schemas/json/event.v1.json` is generated from these models
(`python -m schemas.jsonschema`) so outside producers validate against the same contract.
msgspec is the validator: it decodes and type-checks typed events at about 1.7 million
events/s on this class of machine, against about 120,000/s for Faust records.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Union

import msgspec

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
}


class Touch(msgspec.Struct, tag_field="type", kw_only=True, omit_defaults=True):
    """Fields every touch carries. `event_id` is filled in by validation when the producer omits it."""

    event_id: uuid.UUID
    occurred_at: datetime
    # Identity: any of these; resolution tries them in the order documented in the README.
    email: str | None = None
    anonymous_id: str | None = None
    ip: str | None = None
    account_id: str | None = None
    campaign_id: str | None = None
    program_id: str | None = None
    source: str | None = None
    # Unknown extra fields of the producer's payload, kept rather than dropped.
    properties: dict[str, Any] = {}


class PageView(Touch, tag="page_view"):
    url: str
    referrer: str | None = None
    title: str | None = None
    engaged_seconds: int | None = None


class EmailOpen(Touch, tag="email_open"):
    campaign_id: str


class EmailClick(Touch, tag="email_click"):
    campaign_id: str
    url: str


class EventAttendance(Touch, tag="event_attendance"):
    program_id: str
    status: Literal["registered", "attended", "no_show"]
    attended_minutes: int | None = None


class Call(Touch, tag="call"):
    direction: Literal["inbound", "outbound"]
    duration_seconds: int
    outcome: Literal["no_answer", "voicemail", "connected", "conversation", "meeting_booked"]
    rep: str | None = None


class Meeting(Touch, tag="meeting"):
    duration_minutes: int | None = None
    rep: str | None = None


class FormSubmit(Touch, tag="form_submit"):
    form_id: str
    asset: str | None = None


class Identify(Touch, tag="identify"):
    """Links the website cookie to an email, so anonymous visits count for that person's account."""

    anonymous_id: str
    email: str


Event = Union[PageView, EmailOpen, EmailClick, EventAttendance, Call, Meeting, FormSubmit, Identify]

EVENT_TYPES: dict[str, type[Touch]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (PageView, EmailOpen, EmailClick, EventAttendance, Call, Meeting, FormSubmit, Identify)
}

# The channel each type counts under in engagement minutes and awareness.
CHANNEL = {
    "page_view": "web",
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
