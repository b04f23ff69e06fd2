"""Validation of untrusted input into typed events: pure, no I/O, clock passed in.

Returns a decision as a value: `Accepted(event)` or `Rejected(errors)`, where every error
names its field and what is wrong with it. The hooks and `pulse send` act on the result.

Two paths, one answer. The fast path (`_fast`) lets msgspec's C decoder check types, lengths and
ranges in one `convert` call and does only the few checks msgspec cannot express in Python; it
handles well-formed input, which is nearly all traffic, in ~2 us an event. Anything it does not
accept outright goes to the slow path (`_full`), which examines every field on its own so that
each problem is named. The fast path never accepts what the slow path would reject
(tests/schemas/test_validate_paths.py checks this on generated input).
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import typing
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import msgspec

from schemas.events import EVENT_TYPES, MAX_INT, MAX_LEN, MAX_PROPERTIES_BYTES, Touch, fields_of

# Namespace for event ids derived from content, so an id-less retry gets the same id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3c0e-6a53-4c55-9b3e-2f0a4e1d7a11")
MAX_FUTURE = timedelta(minutes=5)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELDS = {name: fields_of(cls) for name, cls in EVENT_TYPES.items()}
_COMMON = frozenset(fields_of(Touch))  # the fields every type has
# Keys a payload of each type may carry at top level; anything else goes to `properties`.
_NAMES = {name: frozenset(fields) | {"type"} for name, fields in _FIELDS.items()}
_CANONICAL = msgspec.json.Encoder(order="sorted")
_encode = msgspec.json.Encoder().encode
_convert = msgspec.convert
_ValidationError = msgspec.ValidationError
_PLACEHOLDER_ID = uuid.UUID(int=0)
_UTC = timezone.utc
_PROPERTIES_TOO_BIG = f"extra fields (properties) larger than {MAX_PROPERTIES_BYTES} bytes of JSON"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Accepted:
    event: Touch


@dataclass(frozen=True, slots=True)
class Rejected:
    errors: tuple[FieldError, ...]

    def reasons(self) -> list[dict[str, str]]:
        return [e.as_dict() for e in self.errors]


# The public (unsigned, browser) path: what a page may assert about itself. `account_id` and `ip`
# are never taken from the body (the account comes from resolution, the address from the
# connection), and an email only on the two types a visitor types it into. See README, Security.
PUBLIC_EMAIL_TYPES = frozenset({"identify", "form_submit"})


def public_item(obj: Any, ip: str | None) -> Any:
    """A browser's item with what it may not assert taken out (a copy; non-objects pass unchanged)."""
    if type(obj) is not dict:
        return obj
    item = {k: v for k, v in obj.items() if k not in ("account_id", "ip")}
    if ip:
        item["ip"] = ip
    if item.get("type") not in PUBLIC_EMAIL_TYPES:
        item.pop("email", None)
    return item


def _public_event(event: Touch, ip: str | None) -> None:
    """`public_item` for a typed event, in place."""
    event.account_id = None
    event.ip = ip or None
    if event.email is not None and event.__struct_config__.tag not in PUBLIC_EMAIL_TYPES:
        event.email = None


def validate(obj: Any, *, now: datetime, max_age: timedelta) -> Accepted | Rejected:
    """Check one untrusted JSON value against the v1 contract."""
    if type(obj) is dict:
        result = _fast(obj, now, max_age)
        if result is not None:
            return result
    return _full(obj, now=now, max_age=max_age)


def _fast(obj: dict, now: datetime, max_age: timedelta) -> Accepted | Rejected | None:
    """Well-formed input in one msgspec call; None means 'let the slow path name the problems'."""
    kind = obj.get("type")
    names = _NAMES.get(kind) if type(kind) is str else None
    if names is None:
        return None
    data = obj
    if not obj.keys() <= names:
        props = obj.get("properties")
        if props is not None and type(props) is not dict:
            return None
        data = {k: v for k, v in obj.items() if k in names}
        data["properties"] = {**(props or {}), **{k: v for k, v in obj.items() if k not in names}}
    missing_id = data.get("event_id") is None
    if missing_id:
        data = {**data, "event_id": _PLACEHOLDER_ID}
    email = data.get("email")
    if type(email) is str:
        normal = email.strip().lower()
        if normal != email:
            data = {**data, "email": normal}
    try:
        event = _convert(data, EVENT_TYPES[kind])
    except _ValidationError:
        return None
    errors = _check_semantics(event, now=now, max_age=max_age)
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
                  max_events: int = 500, public: bool = False) -> list[Touch] | None:
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
    return events if follow_rules(events, now=now, max_age=max_age, ip=ip, public=public) else None


def follow_rules(events: list[Touch], *, now: datetime, max_age: timedelta, ip: str | None = None,
                 public: bool = False) -> bool:
    """Normalise typed events in place as `validate` would; False when one breaks a rule the types
    cannot express (then validate item by item to name it). `ip` fills events without one."""
    for event in events:
        if public:
            _public_event(event, ip)
        if event.email is not None:
            normal = event.email.strip().lower()
            if normal != event.email:
                event.email = normal
        if ip and event.ip is None:
            event.ip = ip
        if _check_semantics(event, now=now, max_age=max_age):
            return False
        if event.event_id is None:
            event.event_id = derive_event_id(event)
    return True


def _full(obj: Any, *, now: datetime, max_age: timedelta) -> Accepted | Rejected:
    """Every problem of one value, each named by field."""
    if not isinstance(obj, dict):
        return Rejected((FieldError("$", f"expected a JSON object, got {_json_type(obj)}"),))
    kind = obj.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        # No type, so no model: still judge the fields every type shares, so that one answer names
        # every problem (a sender should not fix one error per round trip).
        known_types = ", ".join(sorted(EVENT_TYPES))
        shown = kind if isinstance(kind, str) and len(kind) <= 40 else _json_type(kind) if kind is not None else None
        what = "missing" if kind is None else f"unknown event type {shown!r}"
        errors = [FieldError("type", f"{what}; expected one of: {known_types}")]
        common = {k: v for k, v in obj.items() if k in _COMMON and k != "properties"}
        if isinstance(common.get("email"), str):
            common["email"] = common["email"].strip().lower()
        if common.get("event_id") is None:
            common.pop("event_id", None)
        length_errors = _check_lengths(common)
        errors.extend(length_errors)
        errors.extend(_field_errors(Touch, common, skip={e.field for e in length_errors}, whole=False))
        errors.extend(_value_errors(common, now=now, max_age=max_age))
        return Rejected(tuple(_dedupe(errors)))

    fields = _FIELDS[kind]
    known: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "type":
            continue
        if key in fields:
            known[key] = value
        else:
            extras[key] = value
    errors: list[FieldError] = []
    if "properties" in known and not isinstance(known["properties"], dict):
        errors.append(FieldError("properties", f"expected a JSON object, got {_json_type(known['properties'])}"))
        known.pop("properties")
    if extras:
        known["properties"] = {**known.get("properties", {}), **extras}
    missing_id = known.get("event_id") is None
    if missing_id:
        known.pop("event_id", None)
    elif isinstance(known["event_id"], str):
        known["event_id"] = known["event_id"].strip()
    if isinstance(known.get("email"), str):
        known["email"] = known["email"].strip().lower()
    length_errors = _check_lengths(known)
    errors.extend(length_errors)

    try:
        event = _convert({**known, "type": kind, "event_id": known.get("event_id", _PLACEHOLDER_ID)}, cls)
    except _ValidationError:
        errors.extend(_field_errors(cls, known, skip={e.field for e in length_errors}))
        # a structural problem must not hide a bad time, email or address: judge those on their own
        errors.extend(_value_errors(known, now=now, max_age=max_age))
        return Rejected(tuple(_dedupe(errors)))
    errors.extend(_check_semantics(event, now=now, max_age=max_age))
    if errors:
        return Rejected(tuple(_dedupe(errors)))
    if missing_id:
        event.event_id = derive_event_id(event)
    return Accepted(event)


def derive_event_id(event: Touch) -> uuid.UUID:
    """A deterministic id from the event's canonical content (everything but the id).

    uuid5 of the sorted-key JSON of the event with a zero id and `occurred_at` in UTC, so the
    same instant written with another offset is the same event.
    """
    original_id, original_at = event.event_id, event.occurred_at
    event.event_id, event.occurred_at = _PLACEHOLDER_ID, original_at.astimezone(_UTC)
    try:
        content = _CANONICAL.encode(event)
    finally:
        event.event_id, event.occurred_at = original_id, original_at
    digest = hashlib.sha1(EVENT_ID_NAMESPACE.bytes + content).digest()  # = uuid.uuid5 on bytes
    return uuid.UUID(bytes=digest[:16], version=5)


def derive_id_from(*parts: str) -> uuid.UUID:
    """An id from named parts (e.g. one email open per campaign, recipient and day)."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join(parts))


@lru_cache(maxsize=65_536)
def valid_ip(text: str) -> bool:
    # Cached: a visitor's IP repeats on every event, and ipaddress costs ~2 us a call.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _check_lengths(known: dict[str, Any]) -> list[FieldError]:
    errors = [
        FieldError(name, f"longer than {limit} characters ({len(value)})")
        for name, limit in MAX_LEN.items()
        if isinstance(value := known.get(name), str) and len(value) > limit
    ]
    props = known.get("properties")
    if isinstance(props, dict) and props:
        try:
            size = len(_encode(props))
        except (TypeError, ValueError, OverflowError):
            size = 0  # the type check below names the problem
        if size > MAX_PROPERTIES_BYTES:
            errors.append(FieldError("properties", _PROPERTIES_TOO_BIG))
    return errors


def _field_errors(cls: type[Touch], known: dict[str, Any], skip: set[str], whole: bool = True) -> list[FieldError]:
    """Slow path, only for bad input: check each field alone so every problem is named."""
    errors = []
    for name, info in fields_of(cls).items():
        if name in skip:
            continue
        if name not in known:
            if info.required and name != "event_id":
                errors.append(FieldError(name, "required field is missing"))
            continue
        try:
            _convert(known[name], info.type)
        except _ValidationError as exc:
            errors.append(FieldError(name, _reason(name, known[name], info.type, exc)))
    if whole and not errors and not skip:  # a cross-field problem msgspec reports as a whole
        try:
            _convert({**known, "event_id": known.get("event_id", _PLACEHOLDER_ID)}, cls)
        except _ValidationError as exc:
            errors.append(FieldError("$", str(exc)))
    return errors


def _reason(name: str, value: Any, annotation: Any, exc: Exception) -> str:
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices:
        shown = value if isinstance(value, str) and len(value) <= 40 else _json_type(value)
        return f"{shown!r} is not one of: {', '.join(choices)}"
    if name in MAX_INT and isinstance(value, int) and not isinstance(value, bool):
        return "must not be negative" if value < 0 else f"larger than {MAX_INT[name]}"
    return str(exc).split(" - at ")[0]


def _check_semantics(event: Touch, *, now: datetime, max_age: timedelta) -> list[FieldError]:
    """What msgspec cannot express: time bounds, email and IP syntax, at least one identity."""
    errors = []
    when = _occurred_at_error(event.occurred_at, now, max_age)
    if when is not None:
        errors.append(when)
    email = event.email
    if email is not None and not _EMAIL.match(email):
        errors.append(FieldError("email", "not a valid email address"))
    if event.ip is not None and not valid_ip(event.ip):
        errors.append(FieldError("ip", "not a valid IPv4 or IPv6 address"))
    if not (email or event.anonymous_id or event.ip or event.account_id):
        errors.append(FieldError("$", "needs at least one identity field: email, anonymous_id, ip or account_id"))
    if event.properties and len(_encode(event.properties)) > MAX_PROPERTIES_BYTES:
        errors.append(FieldError("properties", _PROPERTIES_TOO_BIG))
    return errors


def _occurred_at_error(occurred_at: datetime, now: datetime, max_age: timedelta) -> FieldError | None:
    if occurred_at.tzinfo is None:
        return FieldError("occurred_at", "needs a UTC offset, e.g. 2026-05-01T09:30:00+00:00")
    if occurred_at > now + MAX_FUTURE:
        return FieldError("occurred_at", "more than 5 minutes in the future")
    if occurred_at < now - max_age:
        return FieldError("occurred_at", f"older than this path takes ({_days(max_age)})")
    return None


def _days(age: timedelta) -> str:
    return "1 day" if age == timedelta(days=1) else f"{age.days} days"


def _value_errors(known: dict[str, Any], *, now: datetime, max_age: timedelta) -> list[FieldError]:
    """The semantic checks of `_check_semantics`, field by field, for an item that has no valid
    event to check as a whole (no type, or a structural error elsewhere)."""
    errors = []
    try:
        when = _occurred_at_error(_convert(known["occurred_at"], datetime), now, max_age)
    except (KeyError, _ValidationError):
        when = None  # missing or not a time: `_field_errors` named it
    if when is not None:
        errors.append(when)
    email, ip = known.get("email"), known.get("ip")
    if type(email) is str and len(email) <= MAX_LEN["email"] and not _EMAIL.match(email):
        errors.append(FieldError("email", "not a valid email address"))
    if type(ip) is str and len(ip) <= MAX_LEN["ip"] and not valid_ip(ip):
        errors.append(FieldError("ip", "not a valid IPv4 or IPv6 address"))
    return errors


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[tuple[str, str], FieldError] = {}
    for err in errors:
        seen.setdefault((err.field, err.reason), err)
    return list(seen.values())
