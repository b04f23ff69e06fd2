"""The rules an event obeys beyond its types (msgspec checks those): time bounds, email and IP
syntax, at least one identity, length limits, the size of `properties`. Pure; the clock is passed in."""
from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec

from schemas.events import (ACCOUNT_STATUS_FOREIGN, LIFECYCLE_FOREIGN, MAX_LEN, MAX_PROPERTIES_BYTES,
                            OPPORTUNITY_FOREIGN, Touch)
from schemas.verdicts import FieldError

MAX_FUTURE = timedelta(minutes=5)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_encode = msgspec.json.Encoder().encode
_convert = msgspec.convert
_ValidationError = msgspec.ValidationError
_PROPERTIES_TOO_BIG = f"extra fields (properties) larger than {MAX_PROPERTIES_BYTES} bytes of JSON"
# Amounts are stored as Decimal(18, 2): 16 digits before the point.
MAX_AMOUNT = Decimal("9999999999999999.99")


@lru_cache(maxsize=65_536)
def valid_ip(text: str) -> bool:
    # Cached: a visitor's IP repeats on every event, and ipaddress costs ~2 us a call.
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_semantics(event: Touch, *, now: datetime, max_age: timedelta, currency: str | None = None,
                    stages: tuple[str, ...] | None = None) -> list[FieldError]:
    """What msgspec cannot express: time bounds, email and IP syntax, at least one identity; for a CRM
    record its own rules (`currency`: the reporting currency, `stages`: PULSE_LIFECYCLE_STAGES; None
    leaves that check to the worker, which always makes it)."""
    kind = event.__struct_config__.tag
    errors = [] if kind not in _RECORD_RULES else record_errors(kind, _present(event), currency, stages)
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


def record_errors(kind: str, values: dict[str, Any], currency: str | None,
                  stages: tuple[str, ...] | None) -> list[FieldError]:
    """The rules of a CRM record of type `kind` beyond its types, over the fields with a valid value."""
    return _RECORD_RULES[kind](values, currency, stages) if kind in _RECORD_RULES else []


def lifecycle_errors(values: dict[str, Any], stages: tuple[str, ...] | None) -> list[FieldError]:
    """A lifecycle change: a stage of PULSE_LIFECYCLE_STAGES; no cookie, address or campaign."""
    errors = [FieldError(name, "not a field of lifecycle_change events (a lifecycle stage belongs to a person's email)")
              for name in LIFECYCLE_FOREIGN if values.get(name) is not None]
    stage = values.get("stage")
    if stages is not None and isinstance(stage, str) and stage not in stages:
        shown = stage if len(stage) <= 40 else stage[:40] + "..."
        errors.append(FieldError("stage", f"{shown!r} is not one of: {', '.join(stages)} (PULSE_LIFECYCLE_STAGES)"))
    return errors


def account_status_errors(values: dict[str, Any]) -> list[FieldError]:
    """An account status belongs to its account_id, not to a person."""
    return [FieldError(name, "not a field of account_status events (a status belongs to its account_id)")
            for name in ACCOUNT_STATUS_FOREIGN if values.get(name) is not None]


def opportunity_errors(values: dict[str, Any], currency: str | None) -> list[FieldError]:
    """The rules of an opportunity snapshot beyond its types, over the fields that have a valid
    value (so the slow path can judge them while another field is broken)."""
    errors = [FieldError(name, "not a field of opportunity events (an opportunity belongs to its account_id)")
              for name in OPPORTUNITY_FOREIGN if values.get(name) is not None]
    if values.get("is_won") is True and values.get("is_closed") is False:
        errors.append(FieldError("is_won", "true only when is_closed is true"))
    amount = values.get("amount")
    if isinstance(amount, Decimal):
        problem = _amount_problem(amount)
        if problem:
            errors.append(FieldError("amount", problem))
    created, occurred = values.get("created_at"), values.get("occurred_at")
    if isinstance(created, datetime):
        if created.tzinfo is None:
            errors.append(FieldError("created_at", "needs a UTC offset, e.g. 2026-05-01T09:30:00+00:00"))
        elif isinstance(occurred, datetime) and occurred.tzinfo is not None and created > occurred:
            errors.append(FieldError("created_at", "after occurred_at (a snapshot cannot predate its opportunity)"))
    given = values.get("currency")
    if currency is not None and isinstance(given, str) and given != currency:
        errors.append(FieldError("currency", f"{given[:8]!r} is not the reporting currency {currency} "
                                             f"(PULSE_CURRENCY); convert the amount before sending"))
    return errors


_RECORD_RULES = {
    "opportunity": lambda values, currency, stages: opportunity_errors(values, currency),
    "lifecycle_change": lambda values, currency, stages: lifecycle_errors(values, stages),
    "account_status": lambda values, currency, stages: account_status_errors(values),
}


def _amount_problem(amount: Decimal) -> str | None:
    if not amount.is_finite():
        return "not a finite number"
    if amount < 0:
        return "must not be negative"
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        return "at most 2 decimals"
    if amount > MAX_AMOUNT:
        return f"larger than {MAX_AMOUNT}"
    return None


def _present(event: Touch) -> dict[str, Any]:
    return {name: getattr(event, name) for name in event.__struct_fields__}


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
