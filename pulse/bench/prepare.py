"""Getting a benchmark store ready: settings for one run, the workload on the topics, the registry
preloaded by a worker of its own, and whether every touch has been stored."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import msgspec

from pulse.bench import harness
from pulse.bench.prefill import Registry
from pulse.bench.queries import GENERATED_WRITER
from pulse.bench.workload import Workload
from pulse.support.waits import wait_until
from schemas import topics
from schemas.events import encode_batch
from schemas.settings import Settings

# Signs what the bench sends to the webhooks (the freshness markers): its own hooks process checks it.
HOOK_SECRET = "bench-hook-secret"


def settings_for(workdir: Path, bootstrap: str, name: str, partitions: int, app_id: str | None = None) -> Settings:
    """A benchmark part's settings. The workload's visitors (a Zipf share of 10,000 accounts within 15
    minutes) view pages and open emails far faster than people do, and the traffic behaviour rules
    rightly call them bots and scanners, taking their minutes back; the benchmark's expected totals
    come from the core's scoring of each touch, so it sets those two thresholds out of reach (the rules
    are tested on their own, tests/integration/streams/test_traffic_on_engine.py)."""
    tag = uuid.uuid4().hex[:8]
    return Settings(kafka_bootstrap=bootstrap, topic_prefix=f"bench{tag}", partitions=partitions,
                    app_id=app_id or f"bench-{tag}", data_dir=workdir / name, database="pulse",
                    sql_port=harness.free_port(), hooks_port=harness.free_port(), health_port=harness.free_port(),
                    batch_seconds=0.5, worker_id=name, hook_secrets=(HOOK_SECRET,),
                    bot_max_views_per_minute=100_000, scanner_seconds=0.0)


def produce(settings: Settings, workload: Workload, registry: bool = True, per_message: int = 50,
            topic: str | None = None, touches: bool = True) -> float:
    """Put the registry and the touches on the topics; returns seconds spent producing touches."""
    from streams.kafka_admin import ensure_topics
    from streams.producer import producer, publish_accounts, publish_contacts

    ensure_topics(settings)
    p = producer(settings)
    if registry:
        publish_accounts(p, settings, workload.accounts)
        publish_contacts(p, settings, workload.contacts)
    started = time.perf_counter()
    name = topic or settings.topic(topics.TOUCHES)
    for chunk in workload.messages(per_message) if touches else ():
        p.send(name, encode_batch(chunk))
    p.flush()
    p.close()
    return time.perf_counter() - started


def stored_all(s: Settings, unique_events: int, prefilled: int = 0) -> bool:
    """Whether the workload's touches are all stored, beside `prefilled` generated ones (--stored)."""
    if int(harness.sql(s, "SELECT count() FROM touches")) < prefilled + unique_events:
        return False
    return int(harness.sql(s, f"SELECT uniqExact(event_id) FROM touches WHERE writer != '{GENERATED_WRITER}'")
               ) == unique_events


def prefill(s: Settings, touches: int, workload: Workload) -> dict:
    """`touches` generated touches and the workload's registry in the store (pulse/bench/prefill.py, a
    process of its own); what it then holds: touches, minutes, aggregate (Decimal) and generate_s."""
    registry = s.data_dir.with_name(f"{s.data_dir.name}-registry.json")
    registry.write_bytes(msgspec.json.encode(Registry(workload.accounts, workload.contacts)))
    done = subprocess.run([sys.executable, "-m", "pulse.bench.prefill", str(s.data_dir), s.database, str(touches),
                           str(registry)], stdout=subprocess.PIPE, text=True, check=True)
    held = json.loads(done.stdout.strip().splitlines()[-1])
    return held | {"minutes": Decimal(held["minutes"]), "aggregate": Decimal(held["aggregate"])}


def preload_registry(s: Settings, workdir: Path, workload: Workload) -> None:
    """Run a worker until its store holds the registry, and its stage job has evaluated it, as a running
    deployment already has it (a contacts import re-evaluates every account: on a store with history
    that is minutes of work the timed worker would otherwise do while it is timed). After a prefill the
    registry is already stored: the worker evaluates the history once."""
    # its own consumer group, so the timed worker's offsets on the touches topic start untouched
    w = harness.start_pulse("worker", s.replace(app_id=f"{s.app_id}-registry"), workdir,
                            f"http://127.0.0.1:{s.sql_port}/ping")
    wait_until(lambda: harness.sql(s, "SELECT count() FROM contacts FINAL") == str(len(workload.contacts)),
               1800, 0.5, what="the registry in the store")
    loaded = int(time.time() * 1000)
    wait_until(lambda: harness.sql(s, "SELECT count() FROM stage_marks "
                                      f"WHERE read_until > fromUnixTimestamp64Milli({loaded}, 'UTC')") != "0",
               3600, 0.5, what="a stage evaluation after the registry")
    w.stop()
