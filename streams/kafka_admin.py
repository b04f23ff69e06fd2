"""Topic creation, done once at start by whoever needs the topics first (idempotent)."""
from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from schemas.settings import Settings
from schemas import topics

log = logging.getLogger("pulse.kafka")


def ensure_topics(settings: Settings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="pulse-admin")
    try:
        existing = set(admin.list_topics())
        # The registry is broadcast to every worker and must keep its order: one partition.
        wanted = {
            settings.topic(name): (1 if name == topics.REGISTRY else settings.partitions) for name in topics.ALL
        }
        missing = [NewTopic(name, num_partitions=n, replication_factor=1)
                   for name, n in wanted.items() if name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them at the same moment
            log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        admin.close()


async def partitions_of(admin: AIOKafkaAdminClient, name: str) -> set[int]:
    """A topic's partitions from a fresh metadata request; empty when the topic does not exist.
    (Listed first: describing an unknown topic makes a broker with auto-creation create it.)"""
    if name not in await admin.list_topics():
        return set()
    (described,) = await admin.describe_topics([name])
    return {p["partition"] for p in described["partitions"]}
