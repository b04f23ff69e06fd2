"""Scale-out on one shared store: one, two and three workers writing the same `pulse store serve`.

The production path (several workers, one ClickHouse) with the engine behind its HTTP interface:
each run starts an empty store, migrates it, lets a worker load the registry, puts the routed workload
starts n workers, then times the routed workload (each event on its id's home partition, as the hooks
do with PULSE_ROUTE_EVENTS) from the first event produced to the last stored, and checks the totals
against the workload's.
This machine has 2 cores: the point is CPU per event in the workers and in the store, and which of
them is busy, not a linear speed-up.
"""
from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import clickhouse_connect

from pulse.bench import harness
from pulse.bench.prepare import settings_for
from pulse.bench.workload import Workload
from pulse.support.waits import wait_until
from schemas import topics
from schemas.events import encode_batch
from schemas.settings import Settings
from streams.core.homes import by_home


def measure(workdir: Path, bootstrap: str, workload: Workload, plan, counts=(1, 2, 3)) -> dict:
    out: dict = {}
    for n in counts:
        for key, value in _run(workdir / f"shared-{n}", bootstrap, workload, plan, n).items():
            out[f"workers_{n}_{key}"] = value
    return out


def _run(workdir: Path, bootstrap: str, workload: Workload, plan, n: int) -> dict:
    workdir.mkdir(parents=True)
    s = harness.served(settings_for(workdir, bootstrap, "store", plan.partitions)).replace(route_events=True)
    store = harness.start_store(s, workdir)
    try:
        migrated = subprocess.run([sys.executable, "-m", "pulse.cli", "migrate"], env=harness.env_for(s),
                                  capture_output=True, text=True, timeout=300)
        if migrated.returncode != 0:
            raise RuntimeError(f"pulse migrate against the shared store failed:\n{migrated.stderr[-3000:]}")
        _registry(s, workdir, workload)
        workers = [harness.start_pulse("worker", w, workdir, f"http://127.0.0.1:{w.health_port}/health")
                   for w in (s.replace(worker_id=f"w{i}", health_port=harness.free_port()) for i in range(n))]
        procs = [store, *workers]
        # the workers are up and idle: the clock runs from the first event produced to the last stored
        cpu0, t0 = [p.cpu_seconds() for p in procs], time.perf_counter()
        produce_s = _produce_routed(s, workload)
        wait_until(lambda: _count(s) >= workload.unique_events, 3600, 0.2, what=f"{n} worker(s) to store every event")
        seconds = time.perf_counter() - t0
        cpu = [p.cpu_seconds() - c for p, c in zip(procs, cpu0)]
        expected = (workload.unique_events, workload.expected_minutes)
        try:
            wait_until(lambda: _totals(s) == expected, 120, 0.5, what="the totals to settle")
        except AssertionError:
            pass  # reported as not exact, with the figures
        stored, minutes = _totals(s)
        for w in workers:
            w.stop()
    finally:
        store.stop()
    per_event = 1e6 / workload.unique_events
    return {"events_per_s": workload.unique_events / seconds, "seconds": seconds, "produce_s": produce_s,
            "stored": stored,
            "stored_minutes": minutes, "exact": (stored, minutes) == expected,
            "store_cpu_us_per_event": cpu[0] * per_event, "workers_cpu_us_per_event": sum(cpu[1:]) * per_event,
            "store_cpu_share": cpu[0] / seconds, "workers_cpu_share": sum(cpu[1:]) / seconds}


def _query(s: Settings, sql: str) -> list[tuple]:
    client = clickhouse_connect.get_client(dsn=s.clickhouse_reader_url, database=s.database)
    try:
        return client.query(sql).result_rows
    finally:
        client.close()


def _count(s: Settings) -> int:
    return _query(s, "SELECT count() FROM touches")[0][0]


def _totals(s: Settings) -> tuple[int, Decimal]:
    count, minutes = _query(s, "SELECT count(), sum(minutes) FROM events")[0]
    return count, Decimal(minutes or 0)


def _registry(s: Settings, workdir: Path, workload: Workload) -> None:
    """The registry on its topic and in the store before the clock starts, as a deployment has it."""
    from streams.kafka_admin import ensure_topics
    from streams.producer import producer, publish_accounts, publish_contacts

    ensure_topics(s)
    p = producer(s)
    publish_accounts(p, s, workload.accounts)
    publish_contacts(p, s, workload.contacts)
    p.close()
    w = harness.start_pulse("worker", s.replace(app_id=f"{s.app_id}-registry", worker_id="registry"), workdir,
                            f"http://127.0.0.1:{s.health_port}/health")
    wait_until(lambda: _query(s, "SELECT count() FROM contacts FINAL")[0][0] == len(workload.contacts), 1800, 0.5,
               what="the registry in the shared store")
    w.stop()


def _produce_routed(s: Settings, workload: Workload) -> float:
    from streams.producer import producer

    started = time.perf_counter()
    p = producer(s)
    name = s.topic(topics.TOUCHES)
    partitions = len(p.partitions_for(name))
    for chunk in workload.messages(50):
        for home, group in by_home(chunk, partitions).items():
            p.send(name, encode_batch(group), partition=home)
    p.flush()
    p.close()
    return time.perf_counter() - started
