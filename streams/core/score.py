"""From validated events to touch rows: resolve, weigh, stamp. Pure: the clock and lookups come in.

The same functions score a live touch and re-score a stored one (after an identify, a registry change
or new weights), so a re-attributed touch is worth exactly what a fresh one would be.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

import msgspec

from schemas.events import CHANNEL, Call, EventAttendance, Identify, Touch, decode_batch
from schemas.rows import TouchRow
from streams.core.registry import Registry
from streams.core.resolve import Resolved, resolve
from streams.core.traffic import BEHAVIOUR_PREFIXES, PERSON, TrafficRules, Verdict, classify
from streams.core.weights import ZERO, Weights, apply_role, base_minutes

_payload = msgspec.json.Encoder().encode


def truncate_ip(ip: str | None) -> str:
    """Storage form of an IP: last octet of IPv4 / last 80 bits of IPv6 zeroed (privacy)."""
    if not ip:
        return ""
    head, dot, _ = ip.rpartition(".")
    if dot and ":" not in ip:  # IPv4 (validated upstream): the common case, without ipaddress
        return f"{head}.0"
    addr = ipaddress.ip_address(ip)
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address)


def is_success(event: Touch) -> bool:
    """A success for the event's program, by channel (reach counts target accounts with one)."""
    kind = event.__struct_config__.tag
    if kind in ("email_open", "email_click", "form_submit", "meeting"):
        return True
    if isinstance(event, EventAttendance):
        return event.status == "attended"
    if isinstance(event, Call):
        return event.outcome in ("connected", "conversation", "meeting_booked")
    if kind == "page_view":
        return bool(event.program_id or event.campaign_id)
    return False


@dataclass
class Identities:
    """anonymous_id -> (identified_at, email): the latest identify of a cookie wins."""

    links: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    def email_for(self, anonymous_id: str | None) -> str | None:
        link = self.links.get(anonymous_id) if anonymous_id else None
        return link[1] if link else None

    def learn(self, events: Iterable[Touch]) -> set[str]:
        """Take in the identifies among `events`; return the cookies whose email changed."""
        return self.learn_links((e.anonymous_id, e.email, e.occurred_at) for e in events if isinstance(e, Identify))

    def learn_links(self, links: Iterable[tuple[str, str, datetime]]) -> set[str]:
        """(cookie, email, identified_at) links; the latest per cookie wins. Returns the cookies that changed."""
        changed = set()
        for cookie, email, at in links:
            if at.tzinfo is None:  # ClickHouse returns DateTime64('UTC') values without a zone
                at = at.replace(tzinfo=timezone.utc)
            current = self.links.get(cookie)
            if current is None or at >= current[0]:
                if current is None or current[1] != email:
                    changed.add(cookie)
                self.links[cookie] = (at, email)
        return changed


@dataclass
class Scoring:
    """Everything a touch's score depends on besides the touch itself."""

    registry: Registry
    weights: Weights
    tz: ZoneInfo
    identities: Identities = field(default_factory=Identities)
    full_ips: bool = False  # keep full IPs in storage (default: truncated, for privacy)
    traffic: TrafficRules = field(default_factory=TrafficRules)  # what is not a person (issue 19)


def score_event(event: Touch, scoring: Scoring, received_at: datetime, behaviour: Verdict | None = None) -> TouchRow:
    """`behaviour` is the class the stored touches gave it (streams/traffic_job.py), when the touch alone
    says person: rules on the touch itself win over it."""
    registry, weights, identities, tz = scoring.registry, scoring.weights, scoring.identities, scoring.tz
    kind = event.__struct_config__.tag
    # an identify is the link itself; its own touch counts for the email it names
    stitched = None if event.email else identities.email_for(event.anonymous_id)
    resolution = resolve(event, registry, stitched)
    if isinstance(resolution, Resolved):
        account_id, method, role = resolution.account_id, resolution.method, resolution.role
    else:
        account_id, method, role = "", "unresolved", "unknown"
    program = event.program_id or event.campaign_id or ""
    stored_event = event if scoring.full_ips or not event.ip else msgspec.structs.replace(event, ip=truncate_ip(event.ip))
    verdict = classify(event, event.email or stitched, stored_event.ip, scoring.traffic)
    if verdict.traffic == PERSON and behaviour is not None:
        verdict = behaviour
    if verdict.traffic == PERSON:
        base, success = base_minutes(event, weights), int(bool(program) and is_success(event))
    else:  # stored and flagged, worth no minutes (an MPP open: its weight) and never a program success
        base, success = weights.traffic.get(verdict.traffic, ZERO), 0
    # positional, in TouchRow's field order (keywords cost more on the hot path)
    return TouchRow(
        event.event_id, kind, event.occurred_at, received_at, event.occurred_at.astimezone(tz).date(), account_id,
        resolution.person, method, CHANNEL[kind], program, apply_role(base, role, weights), base,
        success, event.email or "", event.anonymous_id or "", stored_event.ip or "",
        getattr(event, "url", None) or "", _payload(stored_event).decode(), 0, "", "", ZERO, ZERO, 0,
        verdict.traffic, verdict.reason,
    )


def score(events: Iterable[Touch], scoring: Scoring, received_at: datetime) -> list[TouchRow]:
    return [score_event(e, scoring, received_at) for e in events]


def stored_event(row: TouchRow) -> Touch:
    return decode_batch(b"[" + row.payload.encode() + b"]")[0]


_KEEP = Verdict("keep")


def stored_behaviour(row: TouchRow) -> Verdict | None:
    """The behaviour verdict a stored touch carries (kept when it is re-scored for another reason)."""
    return Verdict(row.traffic, row.traffic_reason) if row.traffic_reason.startswith(BEHAVIOUR_PREFIXES) else None


def rescore(row: TouchRow, scoring: Scoring, behaviour: Verdict | None = _KEEP) -> TouchRow | None:
    """A stored touch scored again with today's registry, identities, weights and traffic rules.
    `behaviour`: the traffic job's new verdict for it (None: no behaviour rule holds); by default the
    one it carries.

    Returns the new version (carrying the attribution it takes back), or None when nothing changed.
    Stored IPs are truncated, so IP ranges narrower than /24 (IPv4) or /48 (IPv6) re-resolve on the
    network address; the live path resolves on the full address.
    """
    kept = stored_behaviour(row) if behaviour is _KEEP else behaviour
    fresh = score_event(stored_event(row), scoring, row.received_at, kept)
    if (fresh.account_id, fresh.person, fresh.minutes, fresh.base_minutes, fresh.method, fresh.success,
            fresh.traffic, fresh.traffic_reason) == (row.account_id, row.person, row.minutes, row.base_minutes,
                                                     row.method, row.success, row.traffic, row.traffic_reason):
        return None
    return msgspec.structs.replace(
        fresh, retracts=1, prev_account_id=row.account_id, prev_person=row.person,
        prev_minutes=row.minutes, prev_base_minutes=row.base_minutes, prev_success=row.success,
    )
