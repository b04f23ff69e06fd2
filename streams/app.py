"""The Faust application, and nothing else."""
from __future__ import annotations

import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

from schemas.settings import Settings

# How long a fetch may wait on the broker for new records. Faust fixes it at 1,500 ms. Kafka answers a
# waiting fetch as soon as records arrive, so there it only bounds idle round trips; the embedded broker
# (Tansu) answers only when the wait is over, so every touch waited up to that long before the worker
# saw it (measured: p50 430 ms, up to 750 ms, against 15 ms at 100 ms).
FETCH_MAX_WAIT_MS = 100


# Faust has no public setting for it (it builds aiokafka's consumer itself), so its consumer factory is
# wrapped: the one private hook pulse uses (tests/integration/streams/test_app.py checks it takes).
_create_worker_consumer = AIOKafkaConsumerThread._create_worker_consumer


def _create_worker_consumer_bounded(thread, transport):
    consumer = _create_worker_consumer(thread, transport)
    consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts its fetcher
    return consumer


AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer_bounded  # once: a module runs once


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        # The owner serves ClickHouse HTTP itself; Faust's own web server is not needed.
        web_enabled=False,
        # No changelog-backed tables: state that matters lives in ClickHouse.
        store="memory://",
        # Faust keeps a small data dir of its own; keep it with pulse's data, not in the working directory.
        datadir=str(settings.data_dir / "faust"),
        producer_linger_ms=5,
        broker_commit_interval=1.0,
        # Backpressure: while the sink blocks (ClickHouse away), Faust stops fetching a partition once
        # this many messages wait, so memory stays bounded: about two chunks (see score_touches in worker.py).
        stream_buffer_maxsize=2 * max(1, settings.batch_max_rows // 50),
        # A worker that died (SIGKILL, OOM, lost host) holds its partitions until the broker gives up on
        # it: 10 s instead of 60 s, so a restarted or surviving worker takes over quickly. Heartbeats come
        # from aiokafka's own task, so a sink blocked on ClickHouse does not make a live worker look dead.
        broker_session_timeout=10.0,
        # The rebalance fence for several workers on one store: a worker losing a partition first waits
        # until every message it has taken is acknowledged, and the agent acknowledges only after the
        # chunk is written, so the partition's next owner never writes the same events beside it
        # (Faust's default, stated here because exactness depends on it).
        stream_wait_empty=True,
    )
