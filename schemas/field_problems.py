"""The slow path of validation: every problem of one bad value at once, each named by field.

Only input the fast path (`schemas.validate`) did not accept outright comes here, so it may
examine each field on its own: a sender should not fix one error per round trip.
"""
from __future__ import annotations

import typing
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from schemas.event_ids import PLACEHOLDER_ID, derive_event_id
from schemas.event_rules import check_lengths, check_semantics, record_errors, value_errors
from schemas.events import EVENT_TYPES, MAX_INT, Touch, fields_of
from schemas.verdicts import Accepted, FieldError, Rejected

_FIELDS = {name: fields_of(cls) for name, cls in EVENT_TYPES.items()}
_COMMON = frozenset(fields_of(Touch))  # the fields every type has
_convert = msgspec.convert
_ValidationError = msgspec.ValidationError


def every_problem(obj: Any, *, now: datetime, max_age: timedelta, currency: str | None = None,
                  stages: tuple[str, ...] | None = None) -> Accepted | Rejected:
    """Every problem of one value, each named by field (`currency`, `stages`: see `check_semantics`)."""
    if not isinstance(obj, dict):
        return Rejected((FieldError("$", f"expected a JSON object, got {_json_type(obj)}"),))
    kind = obj.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        return _untyped(obj, kind, now=now, max_age=max_age)
    known, errors = _known_fields(obj, _FIELDS[kind])
    missing_id = known.get("event_id") is None
    if missing_id:
        known.pop("event_id", None)
    elif isinstance(known["event_id"], str):
        known["event_id"] = known["event_id"].strip()
    if isinstance(known.get("email"), str):
        known["email"] = known["email"].strip().lower()
    length_errors = check_lengths(known)
    errors.extend(length_errors)

    try:
        event = _convert({**known, "type": kind, "event_id": known.get("event_id", PLACEHOLDER_ID)}, cls)
    except _ValidationError:
        errors.extend(_field_errors(cls, known, skip={e.field for e in length_errors}))
        # a structural problem must not hide a bad time, email or address: judge those on their own
        errors.extend(value_errors(known, now=now, max_age=max_age))
        errors.extend(record_errors(kind, _valid_values(cls, known), currency, stages))
        return Rejected(tuple(_dedupe(errors)))
    errors.extend(check_semantics(event, now=now, max_age=max_age, currency=currency, stages=stages))
    if errors:
        return Rejected(tuple(_dedupe(errors)))
    if missing_id:
        event.event_id = derive_event_id(event)
    return Accepted(event)


def _untyped(obj: dict, kind: Any, *, now: datetime, max_age: timedelta) -> Rejected:
    """No type, so no model: still judge the fields every type shares, so that one answer names
    every problem."""
    known_types = ", ".join(sorted(EVENT_TYPES))
    shown = kind if isinstance(kind, str) and len(kind) <= 40 else _json_type(kind) if kind is not None else None
    what = "missing" if kind is None else f"unknown event type {shown!r}"
    errors = [FieldError("type", f"{what}; expected one of: {known_types}")]
    common = {k: v for k, v in obj.items() if k in _COMMON and k != "properties"}
    if isinstance(common.get("email"), str):
        common["email"] = common["email"].strip().lower()
    if common.get("event_id") is None:
        common.pop("event_id", None)
    length_errors = check_lengths(common)
    errors.extend(length_errors)
    errors.extend(_field_errors(Touch, common, skip={e.field for e in length_errors}, whole=False))
    errors.extend(value_errors(common, now=now, max_age=max_age))
    return Rejected(tuple(_dedupe(errors)))


def _known_fields(obj: dict, fields: dict) -> tuple[dict[str, Any], list[FieldError]]:
    """The type's own fields of `obj`; any other key goes into `properties` (which must be an object)."""
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
    return known, errors


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
            _convert({**known, "event_id": known.get("event_id", PLACEHOLDER_ID)}, cls)
        except _ValidationError as exc:
            errors.append(FieldError("$", str(exc)))
    return errors


def _valid_values(cls: type[Touch], known: dict[str, Any]) -> dict[str, Any]:
    """The fields of `known` that are valid on their own, typed: what the cross-field rules can judge."""
    values = {}
    for name, info in fields_of(cls).items():
        if name in known:
            try:
                values[name] = _convert(known[name], info.type)
            except _ValidationError:
                pass  # named by _field_errors
    return values


def _reason(name: str, value: Any, annotation: Any, exc: Exception) -> str:
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices:
        shown = value if isinstance(value, str) and len(value) <= 40 else _json_type(value)
        return f"{shown!r} is not one of: {', '.join(choices)}"
    if annotation is date:
        return "expected a date YYYY-MM-DD"
    if name in MAX_INT and isinstance(value, int) and not isinstance(value, bool):
        return "must not be negative" if value < 0 else f"larger than {MAX_INT[name]}"
    return str(exc).split(" - at ")[0]


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    seen: dict[tuple[str, str], FieldError] = {}
    for err in errors:
        seen.setdefault((err.field, err.reason), err)
    return list(seen.values())
