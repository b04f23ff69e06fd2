"""Topic creation, done once at start by whoever needs the topics first (idempotent)."""
from __future__ import annotations

import logging
import time

from aiokafka.admin import AIOKafkaAdminClient
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from schemas.settings import Settings
from schemas import topics

log = logging.getLogger("pulse.kafka")


def ensure_topics(settings: Settings) -> None:
    # a short reconnect backoff: while Kafka is away, each attempt of wait_for_topics ends within seconds
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, client_id="pulse-admin",
                             reconnect_backoff_max_ms=1000)
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


def wait_for_topics(settings: Settings, remind_every_s: float = 30.0) -> None:
    """ensure_topics, waiting while Kafka is unreachable: a worker started before Kafka (a restart of
    both, a broker still booting) waits for it, with one log line per interval, not per attempt."""
    started = reminded = None
    delay = 0.5
    while True:
        try:
            ensure_topics(settings)
        except (KafkaError, OSError) as exc:
            now = time.monotonic()
            if started is None:
                started = reminded = now
                log.error("Kafka at %s is unreachable (%s): waiting for it", settings.bootstrap, exc)
            elif now - reminded >= remind_every_s:
                reminded = now
                log.error("still waiting for Kafka at %s after %.0f s", settings.bootstrap, now - started)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if started is not None:
            log.warning("Kafka at %s answered after %.0f s", settings.bootstrap, time.monotonic() - started)
        return


async def partitions_of(admin: AIOKafkaAdminClient, name: str) -> set[int]:
    """A topic's partitions from a fresh metadata request; empty when the topic does not exist.
    (Listed first: describing an unknown topic makes a broker with auto-creation create it.)"""
    if name not in await admin.list_topics():
        return set()
    (described,) = await admin.describe_topics([name])
    return {p["partition"] for p in described["partitions"]}
