"""Which event types each endpoint takes: an item of another type is refused by name, the others go on."""
from __future__ import annotations

from schemas.events import CRM_TYPES, EVENT_TYPES

# Webhook path -> the type an item without one gets (None: the item must name its type)
WEBHOOKS = {"/hooks/calls": "call", "/hooks/attendance": "event_attendance", "/hooks/crm": "opportunity",
            "/hooks/events": None}
# Webhook path -> the types it takes, when more than its default (absent: only its default; None: any).
# /hooks/crm takes every CRM record type and the reps' one-to-one emails (a touch the CRM logs), so a
# CRM posts to one address.
_TAKES = {"/hooks/crm": CRM_TYPES | {"sales_email"}, "/hooks/events": None}


def refused_by_collect(items: list, collect_types: frozenset[str]) -> dict[int, list]:
    """Item index -> reasons, for the known types the public /collect does not take (PULSE_COLLECT_TYPES)."""
    refused = {}
    for index, item in enumerate(items):
        kind = item.get("type") if type(item) is dict else None
        if collect_types and type(kind) is str and kind in EVENT_TYPES and kind not in collect_types:
            refused[index] = [{"field": "type", "reason": f"/collect takes {', '.join(sorted(collect_types))} "
                                                          f"events (PULSE_COLLECT_TYPES); send others signed, "
                                                          f"to /hooks/events"}]
    return refused


def refused_by_webhook(items: list, path: str) -> dict[int, list]:
    """Item index -> reasons, for items of another type than the webhook's own; an item without a
    type gets the webhook's (in place: the endpoint names the type)."""
    default = WEBHOOKS[path]
    takes = _TAKES.get(path, frozenset({default}))
    wrong = {}
    if default is None:
        return wrong
    for index, item in enumerate(items):
        if type(item) is dict:
            kind = item.setdefault("type", default)  # the endpoint names the type
            if kind not in takes:
                wrong[index] = [{"field": "type", "reason": f"{path} takes {', '.join(sorted(takes))} events; "
                                                             f"post other types to /hooks/events"}]
    return wrong
