"""Validation of untrusted input into typed events: pure, no I/O, clock passed in.

Returns a decision as a value: `Accepted(event)` or `Rejected(errors)` (schemas/verdicts.py), where
every error names its field and what is wrong with it. The hooks and `pulse send` act on the result.

Two paths, one answer. The fast path (`_fast`, here) lets msgspec's C decoder check types, lengths
and ranges in one `convert` call and does only the few checks msgspec cannot express in Python
(schemas/event_rules.py); it handles well-formed input, which is nearly all traffic, in ~2 us an
event. Anything it does not accept outright goes to the slow path (`_full`, schemas/field_problems.py),
which examines every field on its own so that each problem is named. The fast path never accepts
what the slow path would reject (tests/unit/schemas/test_validate_paths.py checks this on generated input).
"""
from __future__ import annotations

import typing
from datetime import datetime, timedelta
from typing import Any

import msgspec

from schemas.event_ids import PLACEHOLDER_ID, derive_event_id
from schemas.event_rules import check_semantics
from schemas.events import EVENT_TYPES, Touch, fields_of
from schemas.field_problems import every_problem as _full
from schemas.verdicts import Accepted, Rejected

# Keys a payload of each type may carry at top level; anything else goes to `properties`.
_NAMES = {name: frozenset(fields_of(cls)) | {"type"} for name, cls in EVENT_TYPES.items()}
_convert = msgspec.convert
_ValidationError = msgspec.ValidationError

# The public (unsigned, browser) path: what a page may assert about itself. `account_id` and `ip`
# are never taken from the body (the account comes from resolution, the address from the
# connection), and an email only on the two types a visitor types it into. See README, Security.
PUBLIC_EMAIL_TYPES = frozenset({"identify", "form_submit"})


def public_item(obj: Any, ip: str | None, user_agent: str | None = None) -> Any:
    """A browser's item with what it may not assert taken out (a copy; non-objects pass unchanged).
    The address and the user agent are the request's, never the body's."""
    if type(obj) is not dict:
        return obj
    item = {k: v for k, v in obj.items() if k not in ("account_id", "ip", "user_agent")}
    if ip:
        item["ip"] = ip
    if user_agent:
        item["user_agent"] = user_agent
    if item.get("type") not in PUBLIC_EMAIL_TYPES:
        item.pop("email", None)
    return item


def _public_event(event: Touch, ip: str | None, user_agent: str | None = None) -> None:
    """`public_item` for a typed event, in place."""
    event.account_id = None
    event.ip = ip or None
    event.user_agent = user_agent or None
    if event.email is not None and event.__struct_config__.tag not in PUBLIC_EMAIL_TYPES:
        event.email = None


def validate(obj: Any, *, now: datetime, max_age: timedelta, currency: str | None = None,
             stages: tuple[str, ...] | None = None) -> Accepted | Rejected:
    """Check one untrusted JSON value against the v1 contract. `currency` is the reporting currency
    (PULSE_CURRENCY) an opportunity must be in, `stages` the lifecycle stages (PULSE_LIFECYCLE_STAGES) a
    lifecycle change must name; None leaves that check to the worker, which always makes it."""
    if type(obj) is dict:
        result = _fast(obj, now, max_age, currency, stages)
        if result is not None:
            return result
    return _full(obj, now=now, max_age=max_age, currency=currency, stages=stages)


def _fast(obj: dict, now: datetime, max_age: timedelta, currency: str | None = None,
          stages: tuple[str, ...] | None = None) -> Accepted | Rejected | None:
    """Well-formed input in one msgspec call; None means 'let the slow path name the problems'."""
    kind = obj.get("type")
    names = _NAMES.get(kind) if type(kind) is str else None
    if names is None:
        return None
    data = obj
    if not obj.keys() <= names:
        props = obj.get("properties")
        if "properties" in obj and type(props) is not dict:  # null too: the full path names it
            return None
        data = {k: v for k, v in obj.items() if k in names}
        data["properties"] = {**(props or {}), **{k: v for k, v in obj.items() if k not in names}}
    missing_id = data.get("event_id") is None
    if missing_id:
        data = {**data, "event_id": PLACEHOLDER_ID}
    email = data.get("email")
    if type(email) is str:
        normal = email.strip().lower()
        if normal != email:
            data = {**data, "email": normal}
    try:
        event = _convert(data, EVENT_TYPES[kind])
    except _ValidationError:
        return None
    errors = check_semantics(event, now=now, max_age=max_age, currency=currency, stages=stages)
    if errors:
        return Rejected(tuple(errors))
    if missing_id:
        event.event_id = derive_event_id(event)
    return Accepted(event)


def _inbound(cls: type[Touch]) -> type:
    """The model `cls` as producers may send it: event_id optional, unknown fields refused (not dropped).

    Generated from the model, so there is still one definition. It encodes to exactly the JSON of
    `cls` (same tag, same fields in the same order), which is what the worker decodes.
    """
    fields: list = []
    for f in msgspec.structs.fields(cls):
        if f.name == "event_id":
            fields.append((f.name, f.type | None, None))
        elif f.required:
            fields.append((f.name, f.type))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append((f.name, f.type, msgspec.field(default_factory=f.default_factory)))
        else:
            fields.append((f.name, f.type, f.default))
    config = cls.__struct_config__
    return msgspec.defstruct(cls.__name__ + "In", fields, tag=config.tag, tag_field=config.tag_field, kw_only=True,
                             omit_defaults=True, forbid_unknown_fields=True)


_INBOUND = tuple(_inbound(cls) for cls in EVENT_TYPES.values())
_decode_many = msgspec.json.Decoder(list[typing.Union[_INBOUND]]).decode  # type: ignore[valid-type]
_decode_one = msgspec.json.Decoder(typing.Union[_INBOUND]).decode  # type: ignore[valid-type]


def validate_body(raw: bytes, *, now: datetime, max_age: timedelta, ip: str | None = None,
                  max_events: int = 500, public: bool = False, user_agent: str | None = None) -> list[Touch] | None:
    """Fast path for a whole request body of well-formed events (the snippet's and most producers').

    All or nothing: returns every event, validated and normalised exactly as `validate` would, or
    None when anything is unusual (an unknown field, a bad value, too many events), and the caller
    then validates item by item with `validate` to name each problem. `ip` fills events without one;
    `public` applies the public path's rules first (`public_item`), so both paths judge the same item.
    """
    try:
        events = _decode_many(raw) if raw.lstrip()[:1] == b"[" else [_decode_one(raw)]
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    if len(events) > max_events:
        return None
    return events if follow_rules(events, now=now, max_age=max_age, ip=ip, public=public,
                                  user_agent=user_agent) else None


def follow_rules(events: list[Touch], *, now: datetime, max_age: timedelta, ip: str | None = None,
                 public: bool = False, currency: str | None = None, stages: tuple[str, ...] | None = None,
                 user_agent: str | None = None) -> bool:
    """Normalise typed events in place as `validate` would; False when one breaks a rule the types
    cannot express (then validate item by item to name it). `ip` fills events without one."""
    for event in events:
        if public:
            _public_event(event, ip, user_agent)
        if event.email is not None:
            normal = event.email.strip().lower()
            if normal != event.email:
                event.email = normal
        if ip and event.ip is None:
            event.ip = ip
        if check_semantics(event, now=now, max_age=max_age, currency=currency, stages=stages):
            return False
        if event.event_id is None:
            event.event_id = derive_event_id(event)
    return True
