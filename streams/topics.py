"""The Faust topics of the pipeline, built from Settings (so tests get their own names)."""
from __future__ import annotations

import faust

from schemas.settings import Settings
from schemas import topics


def touches(app: faust.App, settings: Settings) -> faust.TopicT:
    # Raw bytes: each message is a JSON array decoded by msgspec, far cheaper than Faust records.
    return app.topic(settings.topic(topics.TOUCHES), value_serializer="raw", key_serializer="raw",
                     partitions=settings.partitions)


def deadletter(app: faust.App, settings: Settings) -> faust.TopicT:
    return app.topic(settings.topic(topics.DEADLETTER), value_serializer="raw", key_serializer="raw",
                     partitions=settings.partitions)
