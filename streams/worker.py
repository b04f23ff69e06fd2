"""The stream worker, assembled: own the data, migrate, load the registry, wire agents and jobs, run.

In embedded mode the worker is also the one process that owns the chDB data directory, so it
serves the read-only ClickHouse HTTP endpoint for everybody else.
"""
from __future__ import annotations

import asyncio
import gc
import logging
from zoneinfo import ZoneInfo

import faust

from schemas import topics
from schemas.settings import Settings
from sinks.client import OwnerLock, writer_client
from sinks.migrate import migrate
from sinks.sql_endpoint import SqlEndpoint
from sinks.writer import ClickHouseWriter
from streams import alerts_job, attribution, erasure, quiet_logs, stages, traffic_job
from streams.agents import wire_agents
from streams.app import create_app
from streams.core.registry import Registry
from streams.core.score import Scoring
from streams.core.weights import Weights
from streams.health import exit_promptly_at_stop_signal, wire_health
from streams.jobs import DashboardSnapshots, IdentitySync, Report, StageEvaluation, on_clock
from streams.kafka_admin import wait_for_topics
from streams.pipeline import Pipeline
from streams.registry_changes import follow_registry, load_registry, rescore_history

log = logging.getLogger("pulse.worker")


def build(settings: Settings) -> tuple[faust.App, Pipeline, OwnerLock | None]:
    """Blocking start-up: own the data, migrate, load ids and registry, wire the agents."""
    lock = OwnerLock(settings.data_dir).acquire() if settings.embedded_clickhouse else None
    quiet_logs.install()  # the Kafka client complains per attempt while it waits for Kafka
    wait_for_topics(settings)
    client = writer_client(settings)
    applied = migrate(client, settings)
    if applied:
        log.info("migrations applied: %s", ", ".join(applied))
    writer = ClickHouseWriter(client, settings.database, settings.worker_id, max_rows=settings.batch_max_rows,
                              memory_days=settings.dedup_memory_days, shared_store=not settings.embedded_clickhouse)
    loaded = writer.start()
    scoring = Scoring(Registry(), Weights.load(settings.weights_file), ZoneInfo(settings.reporting_tz),
                      attribution.load_identities(writer.store), settings.store_full_ips,
                      traffic_job.rules_of(settings))
    pipeline = Pipeline(settings, writer, scoring)
    erasure.load(pipeline)  # the erased people, before any input is taken
    load_registry(pipeline)
    if attribution.record_weights(writer.store, scoring.weights, scoring.traffic):
        log.warning("weights or traffic rules changed since the last run: re-scoring stored touches")
        rescore_history(pipeline, 400)
    log.info("worker ready: %d stored event ids, %d accounts, %d contacts",
             loaded, len(scoring.registry.accounts), len(scoring.registry.contacts))
    app = create_app(settings)
    wire(app, pipeline)
    return app, pipeline, lock


def wire(app: faust.App, pipeline: Pipeline) -> None:
    settings = pipeline.settings
    wire_agents(app, pipeline)
    app.task(lambda: follow_registry(pipeline))
    app.task(lambda: erasure.follow_erasures(pipeline))
    if settings.embedded_clickhouse:
        endpoint = SqlEndpoint(settings)
        app.task(lambda: endpoint.start(settings.sql_host, settings.sql_port))
    stage_topic = app.topic(settings.topic(topics.STAGE_CHANGES), value_serializer="raw", key_serializer="raw")

    async def publish(change: stages.StageChange) -> asyncio.Future:
        # returns once the message is queued; the future it returns is Kafka's acknowledgement
        return await stage_topic.send(key=change.account_id.encode(), value=stages.encode(change))

    jobs = [(IdentitySync(pipeline), "identity sync", False),
            (StageEvaluation(pipeline, lambda: evaluator_client(settings), publish), "stage evaluation", True),
            (DashboardSnapshots(pipeline, lambda: background_client(settings)), "dashboard snapshots", True),
            (traffic_job.TrafficClassification(pipeline, lambda: background_client(settings)), "traffic classification",
             True),
            (Report(pipeline), "report", False)]
    if settings.alerts_file is not None:  # rules checked here: a bad file stops the start, every problem named
        rules = alerts_job.load_rules(settings)
        delivery = alerts_job.AlertDelivery(pipeline, lambda: writer_client(settings), rules)
        jobs.append((delivery, "alert delivery", True))
    for job, what, on_leader in jobs:
        tick = on_clock(what)(job.__call__)
        app.timer(interval=job.every, on_leader=on_leader, name=what.replace(" ", "_"))(tick)
    wire_health(app, pipeline, lambda: writer_client(settings))


def evaluator_client(settings: Settings):
    client = writer_client(settings)
    if settings.embedded_clickhouse:
        # the embedded engine runs on the worker's own cores: its evaluation threads yield to
        # scoring and storing (nice 19), so a busy worker's touches are not held up by it; a stage
        # tick of changed accounts, small and what a stage change waits for, does not (Store.urgent)
        client.set_client_setting("os_thread_priority", 19)
    return client


def background_client(settings: Settings):
    """For the jobs nothing waits on within seconds (the dashboard's snapshots, the behaviour pass): in the
    embedded engine one thread each besides the yield, as the reports (sinks/migrate.report_settings): on two it
    took as long and twice the memory, and held the core the sink needed (BENCHMARKS.md)."""
    client = evaluator_client(settings)
    if settings.embedded_clickhouse:
        client.set_client_setting("max_threads", 1)
    return client


def run(settings: Settings) -> None:
    app, pipeline, lock = build(settings)
    # What start-up loaded (registry, Faust, chDB bindings) lives as long as the process: freeze it
    # out of the cycle collector, whose full passes would otherwise walk all of it again and again.
    gc.collect()
    gc.freeze()
    worker = faust.Worker(app, loglevel="WARN", quiet=True)
    exit_promptly_at_stop_signal(worker, pipeline.writer)

    @app.task
    async def pulse_logs_at_info():
        # Faust's log setup leaves the root logger at DEBUG (its handler prints WARN and up): every
        # debug call of aiokafka and Faust then built a record, a few per message sent or fetched.
        # pulse's own lines (sink state, recovery, re-attribution, the periodic report) are what an
        # operator reads, so keep them at INFO.
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("pulse").setLevel(logging.INFO)
        # While Kafka is away, its client and Faust complain per attempt (~150 lines/s): one line per
        # kind and interval instead. Here, as Faust's handlers exist only once the worker has started.
        quiet_logs.install()

    try:
        worker.execute_from_commandline()
    finally:
        pipeline.writer.stopping.set()
        if lock:
            lock.release()
