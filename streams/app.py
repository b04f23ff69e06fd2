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
    )
