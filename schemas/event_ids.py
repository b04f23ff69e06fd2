"""Event ids derived from content, so an id-less retry gets the same id (and is deduplicated)."""
from __future__ import annotations

import hashlib
import uuid
from datetime import timezone

import msgspec

from schemas.events import Touch

# Namespace for event ids derived from content, so an id-less retry gets the same id.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c3c0e-6a53-4c55-9b3e-2f0a4e1d7a11")
# Stands in for a missing id while the event is typed; replaced by `derive_event_id`.
PLACEHOLDER_ID = uuid.UUID(int=0)
_CANONICAL = msgspec.json.Encoder(order="sorted")
_UTC = timezone.utc


def derive_event_id(event: Touch) -> uuid.UUID:
    """A deterministic id from the event's canonical content (everything but the id).

    uuid5 of the sorted-key JSON of the event with a zero id and `occurred_at` (and an opportunity's
    `created_at`) in UTC, so the same instant written with another offset is the same event.
    """
    original_id, original_at = event.event_id, event.occurred_at
    event.event_id, event.occurred_at = PLACEHOLDER_ID, original_at.astimezone(_UTC)
    created = getattr(event, "created_at", None)  # an opportunity's second instant, likewise
    if created is not None:
        event.created_at = created.astimezone(_UTC)
    try:
        content = _CANONICAL.encode(event)
    finally:
        event.event_id, event.occurred_at = original_id, original_at
        if created is not None:
            event.created_at = created
    digest = hashlib.sha1(EVENT_ID_NAMESPACE.bytes + content).digest()  # = uuid.uuid5 on bytes
    return uuid.UUID(bytes=digest[:16], version=5)


def derive_id_from(*parts: str) -> uuid.UUID:
    """An id from named parts (e.g. one email open per campaign, recipient and day)."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, "\x1f".join(parts))
