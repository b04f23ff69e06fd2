"""The rules an event obeys beyond its types (msgspec checks those): time bounds, email and IP
syntax, at least one identity, length limits, the size of `properties`. Pure; the clock is passed in."""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import msgspec

from schemas.events import MAX_LEN, MAX_PROPERTIES_BYTES, Touch
from schemas.verdicts import FieldError

MAX_FUTURE = timedelta(minutes=5)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_encode = msgspec.json.Encoder().encode
_convert = msgspec.convert
_ValidationError = msgspec.ValidationError
_PROPERTIES_TOO_BIG = f"extra fields (properties) larger than {MAX_PROPERTIES_BYTES} bytes of JSON"


@lru_cache(maxsize=65_536)
def valid_ip(text: str) -> bool:
    # Cached: a visitor's IP repeats on every event, and ipaddress costs ~2 us a call.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_semantics(event: Touch, *, now: datetime, max_age: timedelta) -> list[FieldError]:
    """What msgspec cannot express: time bounds, email and IP syntax, at least one identity."""
    errors = []
    when = _occurred_at_error(event.occurred_at, now, max_age)
    if when is not None:
        errors.append(when)
    email = event.email
    if email is not None and not EMAIL.match(email):
        errors.append(FieldError("email", "not a valid email address"))
    if event.ip is not None and not valid_ip(event.ip):
        errors.append(FieldError("ip", "not a valid IPv4 or IPv6 address"))
    if not (email or event.anonymous_id or event.ip or event.account_id):
        errors.append(FieldError("$", "needs at least one identity field: email, anonymous_id, ip or account_id"))
    if event.properties and len(_encode(event.properties)) > MAX_PROPERTIES_BYTES:
        errors.append(FieldError("properties", _PROPERTIES_TOO_BIG))
    return errors


def check_lengths(known: dict[str, Any]) -> list[FieldError]:
    """Length limits of an untyped item's fields, and the size of its `properties`."""
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


def value_errors(known: dict[str, Any], *, now: datetime, max_age: timedelta) -> list[FieldError]:
    """The semantic checks of `check_semantics`, field by field, for an item that has no valid
    event to check as a whole (no type, or a structural error elsewhere)."""
    errors = []
    try:
        when = _occurred_at_error(_convert(known["occurred_at"], datetime), now, max_age)
    except (KeyError, _ValidationError):
        when = None  # missing or not a time: the field check named it
    if when is not None:
        errors.append(when)
    email, ip = known.get("email"), known.get("ip")
    if type(email) is str and len(email) <= MAX_LEN["email"] and not EMAIL.match(email):
        errors.append(FieldError("email", "not a valid email address"))
    if type(ip) is str and len(ip) <= MAX_LEN["ip"] and not valid_ip(ip):
        errors.append(FieldError("ip", "not a valid IPv4 or IPv6 address"))
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
