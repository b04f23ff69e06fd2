"""The worker's memory with its store served (issue 17): the memory section's worker, store and load again, the
store behind `pulse store serve` as a ClickHouse server holds it for workers in production.

Embedded, the worker's process is also the database: the engine's code (about 300 MB mapped), its caches and
every job's and report's query memory count in the worker's RSS. Served, the worker holds what is its own (the
pipeline, the registry; no recent ids: on a server every id is looked up there) and the store's memory is the
server's. Both, on one store in one run, say which part of the memory is whose.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from pulse.bench import day_boundary, harness
from pulse.bench import freshness as fresh
from schemas.settings import Settings


def served(s: Settings) -> Settings:
    """`s` with its data directory served at a new port, as CLICKHOUSE_URL and CLICKHOUSE_READER_URL name it."""
    port = harness.free_port()
    return s.replace(clickhouse_url=f"http://pulse:{secrets.token_hex(12)}@127.0.0.1:{port}",
                     clickhouse_reader_url=f"http://pulse_reader:{secrets.token_hex(12)}@127.0.0.1:{port}")


def measure(report, s: Settings, workdir: Path, rate: int, seconds: float) -> None:
    """The served worker's RSS from ready through `seconds` of load at `rate`, and the store's beside it."""
    t = served(s)
    port = int(t.clickhouse_url.rsplit(":", 1)[1])
    store = harness.start_pulse("store", t, workdir, f"http://127.0.0.1:{port}/ping", ("serve",))
    try:
        worker = harness.start_pulse("worker", t, workdir, f"http://127.0.0.1:{t.health_port}/health")
        hooks = harness.start_pulse("hooks", t, workdir, f"http://127.0.0.1:{t.hooks_port}/health")
        try:
            with day_boundary.watched(report, "memory_served", t):
                samples, parts = fresh.rss_under_load(t, worker, rate, seconds, beside=store)
        finally:
            hooks.stop()
            worker.stop()
    finally:
        store.stop()
    third = max(1, len(samples) // 3)
    report.add("memory_served", worker_rss_start_mb=samples[0], worker_rss_max_mb=max(samples),
               worker_floor_growth_mb=min(samples[-third:]) - min(samples[:third]),
               store_rss_max_mb=max(p["beside"] for p in parts), seconds=seconds, offered_events_per_s=rate)
