"""The worker's memory with its store served (issue 17): the memory section's worker, store and load again, the
store behind `pulse store serve` as a ClickHouse server holds it for workers in production.

Embedded, the worker's process is also the database: the engine's code (about 300 MB mapped), its caches and
every job's and report's query memory count in the worker's RSS. Served, the worker holds what is its own (the
pipeline, the registry; no recent ids: on a server every id is looked up there) and the store's memory is the
server's. Both, on one store in one run, say which part of the memory is whose.
"""
from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from pulse.bench import day_boundary, harness
from pulse.bench import freshness as fresh
from schemas.settings import Settings


def measure(report, s: Settings, workdir: Path, rate: int, seconds: float) -> None:
    """The served worker's RSS from ready through `seconds` of load at `rate`, and the store's beside it."""
    t = harness.served(s)
    with ExitStack() as running:  # stopped in the reverse order, whichever of them failed to start
        store = harness.start_store(t, workdir)
        running.callback(store.stop)
        worker = harness.start_pulse("worker", t, workdir, f"http://127.0.0.1:{t.health_port}/health")
        running.callback(worker.stop)
        hooks = harness.start_pulse("hooks", t, workdir, f"http://127.0.0.1:{t.hooks_port}/health")
        running.callback(hooks.stop)
        with day_boundary.watched(report, "memory_served", t):
            samples, parts = fresh.rss_under_load(t, worker, rate, seconds, beside=store)
    report.add("memory_served", worker_rss_start_mb=samples[0], worker_rss_max_mb=max(samples),
               worker_floor_growth_mb=fresh.floor_growth(samples),
               store_rss_max_mb=max(p["beside"] for p in parts), seconds=seconds, offered_events_per_s=rate)
