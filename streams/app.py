"""The Faust application, and nothing else."""
from __future__ import annotations

import faust

from pulse.settings import Settings


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
        producer_linger_ms=5,
        broker_commit_interval=1.0,
        # Backpressure: while the sink blocks (ClickHouse away), Faust stops fetching a partition once
        # this many messages wait, so memory stays bounded: about two sink batches (take() size in worker.py).
        stream_buffer_maxsize=2 * max(1, settings.batch_max_rows // 50),
    )
