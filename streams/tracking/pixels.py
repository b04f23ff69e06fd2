"""Image requests into event payloads: the page-view pixel and the email open / click links.

The payloads are plain dicts that go through the same validation as any posted event.
"""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Mapping

from schemas.event_ids import derive_id_from
from streams.tracking.tokens import Claims

# A transparent 1x1 GIF (42 bytes).
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
GIF_HEADERS = {"Content-Type": "image/gif", "Cache-Control": "no-store, max-age=0"}

# Query parameters of /p.gif: short, because they travel in an image URL.
PIXEL_PARAMS = {"u": "url", "r": "referrer", "t": "title", "a": "anonymous_id", "e": "event_id",
                "c": "campaign_id", "p": "program_id"}


def page_view(query: Mapping[str, str], referer: str | None, client_ip: str, now: datetime) -> dict:
    """/p.gif?u=<url>&r=<referrer>&t=<title>&a=<anonymous id>&e=<event id>; url defaults to the Referer."""
    event: dict = {"type": "page_view", "occurred_at": now.isoformat(), "source": "pixel"}
    for short, name in PIXEL_PARAMS.items():
        value = query.get(short)
        if value:
            event[name] = value
    if "url" not in event and referer:
        event["url"] = referer
    if client_ip:
        event["ip"] = client_ip
    return event


def email_open(claims: Claims, now: datetime) -> dict:
    """One open per campaign, recipient and day: mail clients and proxies re-fetch images freely."""
    day = now.date().isoformat()
    return {
        "type": "email_open", "event_id": str(derive_id_from("email_open", claims.campaign_id, claims.recipient, day)),
        "occurred_at": now.isoformat(), "campaign_id": claims.campaign_id, "email": claims.recipient,
        "source": "email",
    }


def email_click(claims: Claims, url: str, now: datetime) -> dict:
    """One click per campaign, recipient, destination and day (link scanners click too)."""
    day = now.date().isoformat()
    return {
        "type": "email_click",
        "event_id": str(derive_id_from("email_click", claims.campaign_id, claims.recipient, url, day)),
        "occurred_at": now.isoformat(), "campaign_id": claims.campaign_id, "email": claims.recipient,
        "url": url, "source": "email",
    }


def request_facts(method: str, user_agent: str | None, client_ip: str | None = None) -> dict:
    """What the request says about who fetched the image or link (issue 19): its user agent, address,
    and a HEAD request (mail scanners check links without fetching them; kept in `properties`)."""
    facts: dict = {}
    if user_agent:
        facts["user_agent"] = user_agent
    if client_ip:
        facts["ip"] = client_ip
    if method == "HEAD":
        facts["request_method"] = "HEAD"
    return facts
