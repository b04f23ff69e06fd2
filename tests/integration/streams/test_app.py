"""The Faust app's consumer settings that pulse changes from Faust's own."""
from __future__ import annotations

import asyncio

from streams.app import FETCH_MAX_WAIT_MS, create_app


def test_the_workers_consumer_waits_at_most_fetch_max_wait_ms_for_new_records(settings):
    # Faust builds it with 1,500 ms; the embedded broker holds a fetch that long even when records
    # arrive meanwhile, which every touch then waited before the worker saw it
    async def built() -> int:
        app = create_app(settings)
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            return consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    assert asyncio.run(built()) == FETCH_MAX_WAIT_MS <= 100
