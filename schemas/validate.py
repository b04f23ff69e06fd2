"""Validation of untrusted input into typed events: pure, no I/O, clock passed in.

Returns a decision as a value: `Accepted(event)` or `Rejected(errors)`, where every error
names its field and what is wrong with it. The hooks and `pulse send` act on the result.
"""
from __future__ import annotations

import ipaddress
import re
import typing
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from schemas.events import EVENT_TYPES, MAX_LEN, Touch, fields_of

# Namespace for event ids derived from content, so an id-less retry gets the same id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3c0e-6a53-4c55-9b3e-2f0a4e1d7a11")
MAX_FUTURE = timedelta(minutes=5)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FIELDS = {name: fields_of(cls) for name, cls in EVENT_TYPES.items()}
_DERIVED_ID_ENCODER = msgspec.json.Encoder(order="sorted")


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


def validate(obj: Any, *, now: datetime, max_age: timedelta) -> Accepted | Rejected:
    """Check one untrusted JSON value against the v1 contract."""
    if not isinstance(obj, dict):
        return Rejected((FieldError("$", f"expected a JSON object, got {type(obj).__name__}"),))
    kind = obj.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(EVENT_TYPES))
        return Rejected((FieldError("type", f"unknown event type {kind!r}; expected one of: {known}"),))

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
        errors.append(FieldError("properties", "expected a JSON object"))
        known.pop("properties")
    if extras:
        known["properties"] = {**known.get("properties", {}), **extras}
    if known.get("event_id") is None:
        known.pop("event_id", None)
        missing_id = True
    else:
        missing_id = False
        if isinstance(known["event_id"], str):
            known["event_id"] = known["event_id"].strip()
    for name in ("email",):
        if isinstance(known.get(name), str):
            known[name] = known[name].strip().lower()
    errors.extend(_check_lengths(known))

    try:
        event = msgspec.convert(
            {**known, "type": kind, "event_id": known.get("event_id", _PLACEHOLDER_ID)}, cls
        )
    except msgspec.ValidationError:
        errors.extend(_field_errors(cls, known))
        return Rejected(tuple(_dedupe(errors)))
    errors.extend(_check_semantics(event, now=now, max_age=max_age))
    if errors:
        return Rejected(tuple(_dedupe(errors)))
    if missing_id:
        event = msgspec.structs.replace(event, event_id=derive_event_id(event))
    return Accepted(event)


_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"


def derive_event_id(event: Touch) -> uuid.UUID:
    """A deterministic id from the event's canonical content (everything but the id)."""
    content = msgspec.to_builtins(event)
    content.pop("event_id", None)
    # Canonical time: the same instant written with another offset is the same event.
    content["occurred_at"] = event.occurred_at.timestamp()
    return uuid.uuid5(EVENT_ID_NAMESPACE, _DERIVED_ID_ENCODER.encode(content).decode())


def _check_lengths(known: dict[str, Any]) -> list[FieldError]:
    return [
        FieldError(name, f"longer than {limit} characters ({len(value)})")
        for name, limit in MAX_LEN.items()
        if isinstance(value := known.get(name), str) and len(value) > limit
    ]


def _field_errors(cls: type[Touch], known: dict[str, Any]) -> list[FieldError]:
    """Slow path, only for bad input: check each field alone so every problem is named."""
    errors = []
    for name, info in fields_of(cls).items():
        if name not in known:
            if info.required and name != "event_id":
                errors.append(FieldError(name, "required field is missing"))
            continue
        try:
            msgspec.convert(known[name], info.type)
        except msgspec.ValidationError as exc:
            choices = typing.get_args(info.type) if typing.get_origin(info.type) is typing.Literal else ()
            reason = (f"{known[name]!r} is not one of: {', '.join(choices)}" if choices
                      else str(exc).split(" - at ")[0])
            errors.append(FieldError(name, reason))
    if not errors:  # a cross-field problem msgspec reports as a whole
        try:
            msgspec.convert({**known, "event_id": known.get("event_id", _PLACEHOLDER_ID)}, cls)
        except msgspec.ValidationError as exc:
            errors.append(FieldError("$", str(exc)))
    return errors


def _check_semantics(event: Touch, *, now: datetime, max_age: timedelta) -> list[FieldError]:
    errors = []
    if event.occurred_at.tzinfo is None:
        errors.append(FieldError("occurred_at", "needs a UTC offset, e.g. 2026-05-01T09:30:00+00:00"))
    else:
        if event.occurred_at > now + MAX_FUTURE:
            errors.append(FieldError("occurred_at", "more than 5 minutes in the future"))
        elif event.occurred_at < now - max_age:
            errors.append(FieldError("occurred_at", f"older than the retention window ({max_age.days} days)"))
    if event.email is not None and not _EMAIL.match(event.email):
        errors.append(FieldError("email", "not a valid email address"))
    if event.ip is not None:
        try:
            ipaddress.ip_address(event.ip)
        except ValueError:
            errors.append(FieldError("ip", "not a valid IPv4 or IPv6 address"))
    if not (event.email or event.anonymous_id or event.ip or event.account_id):
        errors.append(FieldError("$", "needs at least one identity field: email, anonymous_id, ip or account_id"))
    for name in ("engaged_seconds", "attended_minutes", "duration_seconds", "duration_minutes"):
        value = getattr(event, name, None)
        if value is not None and value < 0:
            errors.append(FieldError(name, "must not be negative"))
    return errors


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[tuple[str, str], FieldError] = {}
    for err in errors:
        seen.setdefault((err.field, err.reason), err)
    return list(seen.values())
