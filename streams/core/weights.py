"""Engagement minutes per touch: a pure function of (event, weights, role).

Defaults follow the published engagement-minutes model; `weights.toml` overrides them.
Minutes are Decimals rounded half-up to 2 places, so every sum downstream is exact.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from schemas.events import Call, EventAttendance, Meeting, SalesEmail, Touch

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal(1)


@dataclass(frozen=True)
class Weights:
    page_view: Decimal = Decimal(1)
    page_view_daily_cap: Decimal = Decimal(30)
    email_open: Decimal = Decimal(1)
    email_click: Decimal = Decimal(2)
    form_submit: Decimal = Decimal(10)
    # Base minutes of form submissions one person counts per day (default: one form). A page can
    # post a form any number of times; the cap is applied to the stored sums (engagement_person_daily).
    form_submit_daily_cap: Decimal = Decimal(10)
    event_registered: Decimal = Decimal(5)
    event_attended_default: Decimal = Decimal(30)
    meeting_default: Decimal = Decimal(30)
    # A rep's one-to-one email (issue 16): the person's reply is worth minutes, the rep's own email none.
    sales_email_inbound: Decimal = Decimal(2)
    sales_email_outbound: Decimal = Decimal(0)
    # Minutes of a touch that is not a person's (issue 19), by class: only an Apple Mail Privacy
    # Protection open may be given some ([traffic] privacy_proxy = 0.5); bots, scanners and our own
    # people never earn minutes.
    traffic: dict[str, Decimal] = field(default_factory=lambda: {"privacy_proxy": ZERO})
    roles: dict[str, Decimal] = field(
        default_factory=lambda: {
            "c_level": Decimal("2.0"),
            "vp": Decimal("1.5"),
            "director": Decimal("1.25"),
            "manager": Decimal(1),
            "other": Decimal(1),
            "unknown": Decimal(1),
        }
    )

    @classmethod
    def load(cls, path: Path | None) -> "Weights":
        if path is None or not path.exists():
            return cls()
        data = tomllib.loads(path.read_text())
        roles = {**cls().roles, **{k: Decimal(str(v)) for k, v in data.pop("roles", {}).items()}}
        traffic = {k: Decimal(str(v)) for k, v in data.pop("traffic", {}).items()}
        if set(traffic) - {"privacy_proxy"}:
            raise ValueError(f"{path}: [traffic] may weigh privacy_proxy only (bots, scanners and internal "
                             f"touches earn no minutes); got {', '.join(sorted(traffic))}")
        known = {f for f in cls.__dataclass_fields__ if f not in ("roles", "traffic")}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown weight(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        return cls(roles=roles, traffic={**cls().traffic, **traffic}, **{k: Decimal(str(v)) for k, v in data.items()})


_CONNECTED = frozenset({"connected", "conversation", "meeting_booked"})


def base_minutes(event: Touch, w: Weights) -> Decimal:
    """Minutes before the role multiplier and before the page-view daily cap."""
    kind = type(event).__struct_config__.tag
    if kind == "page_view":
        return w.page_view
    if kind == "email_open":
        return w.email_open
    if kind == "email_click":
        return w.email_click
    if kind == "form_submit":
        return w.form_submit
    if isinstance(event, EventAttendance):
        if event.status == "attended":
            return Decimal(event.attended_minutes) if event.attended_minutes is not None else w.event_attended_default
        return w.event_registered if event.status == "registered" else ZERO
    if isinstance(event, Call):
        if event.outcome in _CONNECTED:
            return max(Decimal(1), Decimal(event.duration_seconds) / 60)
        return ZERO
    if isinstance(event, Meeting):
        return Decimal(event.duration_minutes) if event.duration_minutes is not None else w.meeting_default
    if isinstance(event, SalesEmail):
        return w.sales_email_inbound if event.direction == "inbound" else w.sales_email_outbound
    return ZERO  # identify: a link between identities, not a touch


def apply_role(base: Decimal, role: str, w: Weights) -> Decimal:
    return _scaled(base, w.roles.get(role, ONE))


@lru_cache(maxsize=4096)
def _scaled(base: Decimal, multiplier: Decimal) -> Decimal:
    # a handful of (base, multiplier) pairs make up nearly every touch: remember their rounding
    return (base * multiplier).quantize(CENT, rounding=ROUND_HALF_UP)


def minutes_for(event: Touch, w: Weights, role: str = "unknown") -> Decimal:
    return apply_role(base_minutes(event, w), role, w)
