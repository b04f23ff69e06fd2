"""From validated events to touch rows: resolve, weigh, stamp. Pure: the clock and lookups come in."""
from __future__ import annotations

import ipaddress
from datetime import datetime
from decimal import Decimal
from typing import Iterable
from zoneinfo import ZoneInfo

import msgspec

from schemas.events import CHANNEL, Call, EventAttendance, Touch
from schemas.rows import TouchRow
from streams.core.registry import Registry
from streams.core.resolve import Resolved, resolve
from streams.core.weights import Weights, minutes_for

_ZERO = Decimal("0.00")
_payload = msgspec.json.Encoder().encode


def truncate_ip(ip: str | None) -> str:
    """Storage form of an IP: last octet of IPv4 / last 80 bits of IPv6 zeroed (privacy)."""
    if not ip:
        return ""
    addr = ipaddress.ip_address(ip)
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address)


def is_success(event: Touch) -> bool:
    """A success for the event's program, by channel (reach counts target accounts with one)."""
    kind = type(event).__struct_config__.tag
    if kind in ("email_open", "email_click", "form_submit", "meeting"):
        return True
    if isinstance(event, EventAttendance):
        return event.status == "attended"
    if isinstance(event, Call):
        return event.outcome in ("connected", "conversation", "meeting_booked")
    if kind == "page_view":
        return bool(event.program_id or event.campaign_id)
    return False


def score(
    events: Iterable[Touch],
    registry: Registry,
    weights: Weights,
    received_at: datetime,
    tz: ZoneInfo,
) -> list[TouchRow]:
    rows = []
    for event in events:
        resolution = resolve(event, registry)
        kind = type(event).__struct_config__.tag
        if isinstance(resolution, Resolved):
            account_id, method, role = resolution.account_id, resolution.method, resolution.role
        else:
            account_id, method, role = "", "unresolved", "unknown"
        program = event.program_id or event.campaign_id or ""
        rows.append(
            TouchRow(
                event_id=event.event_id,
                type=kind,
                occurred_at=event.occurred_at,
                received_at=received_at,
                day=event.occurred_at.astimezone(tz).date(),
                account_id=account_id,
                person=resolution.person,
                method=method,
                channel=CHANNEL[kind],
                program_id=program,
                minutes=minutes_for(event, weights, role) if kind != "identify" else _ZERO,
                success=int(bool(program) and is_success(event)),
                email=event.email or "",
                anonymous_id=event.anonymous_id or "",
                ip=truncate_ip(event.ip),
                url=getattr(event, "url", None) or "",
                payload=_payload(event).decode(),
            )
        )
    return rows
