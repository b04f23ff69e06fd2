"""`pulse bench`: the product measured against its own limits, in one run, on one machine.

Every figure is reported as an absolute number and as a ratio to a ceiling measured in the same run
(these machines are shared and noisy). Sections: ceiling, naive baseline, pipeline, freshness,
queries, memory, scale-out. Results go to a JSON file and a printed table.
"""
from __future__ import annotations

import asyncio
import json
import logging
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path


from pulse.bench import SECTIONS, day_boundary, harness, served_memory
from pulse.support.waits import wait_until
from pulse.bench.prepare import prefill, preload_registry, produce, settings_for, stored_all
from pulse.bench.targets import targets
from pulse.bench.workload import Workload, generate
from schemas.settings import Settings
from schemas import topics

log_print = print


@dataclass
class Plan:
    accounts: int = 100_000
    contacts: int = 1_000_000
    events: int = 1_000_000
    naive_events: int = 30_000
    freshness_seconds: float = 30.0
    freshness_rate: int = 10_000
    memory_seconds: float = 600.0
    query_sizes: tuple[int, ...] = (10_000_000, 100_000_000)
    query_repeats: int = 20
    revenue_sizes: tuple[int, int, int] = (100_000, 1_000_000, 10_000_000)  # accounts, snapshots, touches
    rollup_sizes: tuple[int, ...] = (1_000_000, 10_000_000)  # stored touches (issue 17)
    funnel_sizes: tuple[int, int, int] = (1_000_000, 2_000_000, 8_000_000)  # people, sales touches, other touches
    # touches generated into the timed worker's store before it starts (issue 17: the pipeline, freshness,
    # stage changes and memory on a store with history; the pipeline then runs on an empty store first)
    stored: int = 0
    reattribution_sizes: tuple[int, ...] = (1_000_000, 10_000_000)  # stored touches (issue 17)
    partitions: int = 4
    hook_requests: int = 4000
    seed: int = 42

    @classmethod
    def tiny(cls) -> "Plan":
        return cls(accounts=500, contacts=2_000, events=5_000, naive_events=1_000, freshness_seconds=3.0,
                   freshness_rate=500, memory_seconds=3.0, query_sizes=(20_000,), query_repeats=3,
                   hook_requests=200, revenue_sizes=(500, 5_000, 20_000), rollup_sizes=(20_000, 50_000),
                   funnel_sizes=(2_000, 5_000, 20_000), reattribution_sizes=(20_000, 50_000), stored=20_000)


@dataclass
class Report:
    plan: Plan
    results: dict = field(default_factory=dict)

    def add(self, section: str, **values) -> None:
        self.results.setdefault(section, {}).update(values)
        log_print(f"  {section}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in values.items()), flush=True)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    return str(value)


# ---------------------------------------------------------------------------------------- 1. ceiling
async def _read_all(settings: Settings, expected_events: int, decode) -> float:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    name = settings.topic(topics.TOUCHES)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(name, p) for p in range(settings.partitions)])
        seen, started = 0, time.perf_counter()
        while seen < expected_events:
            for records in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
                for record in records:
                    seen += len(decode(record.value))
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def ceiling(report: Report, settings: Settings, workload: Workload) -> float:
    import orjson

    seconds = asyncio.run(_read_all(settings, len(workload.events), orjson.loads))
    rate = len(workload.events) / seconds
    report.add("ceiling", events_per_s=rate, seconds=seconds, how="raw aiokafka consumer + orjson, no processing")
    return rate


# ---------------------------------------------------------------------------------------- 3. pipeline
def pipeline(report: Report, workdir: Path, bootstrap: str, workload: Workload, plan: Plan, ceiling_rate: float,
             naive_rate: float | None, stored: int = 0, name: str = "pipeline",
             empty_rate: float | None = None) -> tuple[Settings, harness.Proc]:
    """The real worker, from a store holding `stored` generated touches (none: empty) to every touch of
    the workload stored and every total exact."""
    s = settings_for(workdir, bootstrap, name, plan.partitions)
    if stored:  # the exactness check reads every stored touch through the SQL endpoint (10 s by default)
        s = s.replace(query_timeout_s=600)
    held = prefill(s, stored, workload) if stored else {"touches": 0, "minutes": Decimal(0), "aggregate": Decimal(0)}
    # The registry first (a worker loads it from ClickHouse at start), then the stream, then the clock.
    produce(s, workload, touches=False)
    preload_started = time.perf_counter()
    preload_registry(s, workdir, workload)
    preload_s = time.perf_counter() - preload_started
    produce(s, workload, registry=False)
    started = time.perf_counter()
    w = harness.start_pulse("worker", s, workdir, f"http://127.0.0.1:{s.sql_port}/ping")
    startup_s, rss_registry = time.perf_counter() - started, w.rss_mb()
    spy = harness.Profiler(w, workdir / f"{name}.profile")
    cpu0, threads0, t0 = w.cpu_seconds(), w.cpu_by_thread(), time.perf_counter()
    # Polling costs the worker CPU (it serves the SQL): a count() is read from part metadata, and the
    # distinct ids (a re-attributed touch has two versions until a merge) are counted only once it is due.
    with day_boundary.watched(report, name, s):
        wait_until(lambda: stored_all(s, workload.unique_events, held["touches"]), 3600, 0.05,
                   what=f"{workload.unique_events} touches in ClickHouse")
    seconds = time.perf_counter() - t0
    threads1 = w.cpu_by_thread()  # read inside the process's interval, so the parts never exceed the whole
    cpu = w.cpu_seconds() - cpu0
    by_thread = cpu_share(threads0, threads1, workload.unique_events)
    profile = spy.stop()
    exact = _exactness(s, workload, held)
    rate = workload.unique_events / seconds
    report.add(name, events_per_s=rate, seconds=seconds, cpu_us_per_event=1e6 * cpu / workload.unique_events,
               events_sent=len(workload.events), unique_events=workload.unique_events, **exact,
               ratio_to_ceiling=rate / ceiling_rate,
               ratio_to_naive=(rate / naive_rate) if naive_rate else None,
               stored_before=held["touches"], prefill_s=held.get("generate_s"), preload_s=preload_s,
               startup_s=startup_s,
               ratio_to_empty=(rate / empty_rate) if empty_rate else None,
               worker_rss_mb_registry_loaded=rss_registry, cpu_us_per_event_by_thread=by_thread, profile=profile)
    return s, w


def _exactness(s: Settings, workload: Workload, held: dict) -> dict:
    """Every event once, the minutes as computed by the core, aggregates consistent: the workload's on
    top of what the store `held` before. The store commits a chunk's touches part before its aggregates
    part (migration 0035), so right after the last one a reader can see the touches first; and
    re-attribution may still be settling: wait."""
    def totals() -> tuple[int, Decimal, Decimal]:
        # (on a store of 100M touches, reading every touch FINAL takes tens of seconds)
        aggregate = Decimal(harness.sql(s, "SELECT sum(minutes) FROM engagement_daily WHERE kind = 'touch'", 600))
        count, minutes = _totals(s)
        return count - held["touches"], minutes - held["minutes"], aggregate - held["aggregate"]

    expected = (workload.unique_events, workload.expected_minutes, workload.expected_minutes)
    try:
        wait_until(lambda: totals() == expected, 120, 0.2, what="the stored touches and aggregates to settle")
    except AssertionError:
        pass  # reported as not exact, with the figures
    stored, minutes, aggregate = totals()
    return {"stored": stored, "exact": (stored, minutes, aggregate) == expected, "stored_minutes": minutes,
            "aggregate_minutes": aggregate, "expected_minutes": workload.expected_minutes}


def cpu_share(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], events: int) -> dict:
    """µs of CPU per event by thread name over the run (threads of one name summed), largest first.

    `python` is the event loop (Faust, decoding, scoring); `pulse-*` the worker's own threads; the rest
    are the engine's (ThreadPool: query pipelines, MergeMutate: background merges). chDB renames a
    thread that runs a query to `Unknown`: that is the sink thread and the stage evaluator."""
    used: dict[str, float] = {}
    for tid, (name, seconds) in after.items():
        used[name] = used.get(name, 0.0) + seconds - before.get(tid, ("", 0.0))[1]
    return {name: round(1e6 * s / events, 1) for name, s in sorted(used.items(), key=lambda kv: -kv[1]) if s > 0.01}


def _totals(s: Settings) -> tuple[int, Decimal]:
    count, minutes = harness.sql(s, "SELECT count(), sum(minutes) FROM events", 600).split("\t")
    return int(count), Decimal(minutes)


# ---------------------------------------------------------------------------------------- 2. naive
def naive(report: Report, workdir: Path, bootstrap: str, workload: Workload, plan: Plan, ceiling_rate: float) -> float:
    """A plain Faust agent, one event per message and per iteration, same core and same sink."""
    from pulse.bench import naive as naive_app

    s = settings_for(workdir, bootstrap, "naive", plan.partitions)
    n = min(plan.naive_events, len(workload.events))
    sample = Workload(workload.accounts, workload.contacts, workload.events[:n], n, Decimal(0), {})
    produce(s, sample, registry=False, per_message=1)
    seconds = naive_app.run_and_time(s, workdir, workload, n)
    rate = n / seconds
    report.add("naive", events_per_s=rate, seconds=seconds, events=n, ratio_to_ceiling=rate / ceiling_rate,
               how="faust agent `async for event in stream`, 1 event per message, per-event score + sink add")
    return rate


# ---------------------------------------------------------------------------------------- 4. freshness
def freshness(report: Report, workdir: Path, s: Settings, worker: harness.Proc, plan: Plan) -> None:
    """Steady load through the hooks; markers to one account; time from the hook's 202 to the view."""
    from pulse.bench import freshness as fresh

    hooks = harness.start_pulse("hooks", s, workdir, f"http://127.0.0.1:{s.hooks_port}/health")
    try:
        result = fresh.measure(s, plan.freshness_rate, plan.freshness_seconds, worker)
    finally:
        hooks.stop()
    report.add("freshness", **result)


def stage_latency(report: Report, workdir: Path, s: Settings, plan: Plan) -> None:
    """Steady load through the hooks; one touch to each of 40 untouched accounts; time from the hook's
    202 to the account's stage change on the stage-changes topic (issue 17)."""
    from pulse.bench import stage_latency as section

    hooks = harness.start_pulse("hooks", s, workdir, f"http://127.0.0.1:{s.hooks_port}/health")
    try:
        result = section.measure(s, plan.freshness_rate, plan.freshness_seconds)
    finally:
        hooks.stop()
    report.add("stage_latency", **result, stored_touches=int(harness.sql(s, "SELECT count() FROM touches")))


# ---------------------------------------------------------------------------------------- 5. queries
def queries(report: Report, workdir: Path, plan: Plan) -> None:
    from pulse.bench import queries as q

    for size in plan.query_sizes:
        # one engine per process: every size grows the same generated store
        report.add(f"queries_{size}", **q.measure(workdir / "queries", size, plan.query_repeats))


def revenue_queries(report: Report, workdir: Path, plan: Plan) -> None:
    from pulse.bench import revenue

    # in the queries section's engine directory (one engine per process), a database of its own
    report.add("revenue_queries", **revenue.measure(workdir / "queries", *plan.revenue_sizes, plan.query_repeats))


def funnel_queries(report: Report, workdir: Path, plan: Plan) -> None:
    from pulse.bench import funnel

    # the Funnel and Sales activity pages, in the queries section's engine directory, a database of its own
    report.add("funnel_queries", **funnel.measure(workdir / "queries", *plan.funnel_sizes, plan.query_repeats))



def rollups(report: Report, workdir: Path, plan: Plan) -> None:
    from pulse.bench import rollups as section

    # stage evaluation and the per-account queries as history grows (issue 17): the queries section's
    # engine directory, a database of its own
    rows = {}
    for size, row in section.measure(workdir / "queries", plan.rollup_sizes, plan.query_repeats):
        report.add(f"rollups_{size}", **row)
        rows[size] = row
    # the sizes side by side, for BENCHMARKS.md (written next to the JSON results)
    report.results["rollups_table"] = section.side_by_side(rows)


def reattribution(report: Report, workdir: Path, plan: Plan) -> None:
    from pulse.bench import reattribution as section

    # an accounts import moving 1 % of the accounts' domains, at each size (issue 17): the queries
    # section's engine directory, a database of its own
    for size, row in section.measure(workdir / "queries", plan.reattribution_sizes):
        report.add(f"reattribution_{size}", **row)

# ---------------------------------------------------------------------------------------- 6. memory
def memory(report: Report, s: Settings, worker: harness.Proc, plan: Plan) -> None:
    """Worker RSS while the demo-like load of the freshness run continues for `memory_seconds`."""
    from pulse.bench import freshness as fresh

    hooks = harness.start_pulse("hooks", s, Path(s.data_dir).parent, f"http://127.0.0.1:{s.hooks_port}/health")
    try:
        samples, parts = fresh.rss_under_load(s, worker, plan.freshness_rate // 10, plan.memory_seconds)
    finally:
        hooks.stop()
    # the engine's code is mapped from its library (RssFile); the rest is Python's and the engine's own memory
    files = sorted(p.get("RssFile", 0.0) for p in parts)
    # ten points along the run: a leak climbs steadily, a cache fills and levels off
    series = [round(samples[round(i * (len(samples) - 1) / 10)]) for i in range(11)]
    report.add("memory", rss_start_mb=samples[0], rss_end_mb=samples[-1], rss_max_mb=max(samples),
               growth_mb=samples[-1] - samples[0], floor_growth_mb=fresh.floor_growth(samples),
               seconds=plan.memory_seconds, offered_events_per_s=plan.freshness_rate // 10, rss_series_mb=series,
               rss_file_median_mb=files[len(files) // 2])


# ---------------------------------------------------------------------------------------- hooks
def hooks(report: Report, workdir: Path, bootstrap: str, plan: Plan) -> None:
    """Ingress: /collect with 50-event batches and the pixels, load from a second process."""
    from pulse.bench_hooks import bench_hooks

    base = Settings(kafka_bootstrap=bootstrap, partitions=plan.partitions)
    for target, per_request in (("collect", 50), ("pixel", 1), ("open", 1)):
        result = bench_hooks(base, target=target, events_per_request=per_request, requests=plan.hook_requests,
                             max_seconds=30.0, workdir=workdir / f"hooks-{target}")
        report.add(f"hooks_{target}", **{k: v for k, v in result.items() if not isinstance(v, (dict, list))})


# ---------------------------------------------------------------------------------------- 7. scale-out
def scale_out(report: Report, workdir: Path, bootstrap: str, workload: Workload, plan: Plan) -> None:
    from pulse.bench import scaleout

    report.add("scale_out", **scaleout.measure(workdir, bootstrap, workload, plan))


def shared_scale_out(report: Report, workdir: Path, bootstrap: str, workload: Workload, plan: Plan) -> None:
    from pulse.bench import shared_scaleout

    report.add("shared_scale_out", **shared_scaleout.measure(workdir, bootstrap, workload, plan))


# Sections that read the generated workload from Kafka; the ceiling runs with any of them.
KAFKA_SECTIONS = {"naive", "pipeline", "freshness", "stage_latency", "memory", "scale_out", "shared_scale_out"}


def on_one_worker(report: Report, workdir: Path, bootstrap: str, workload: Workload, plan: Plan,
                  ceiling_rate: float, naive_rate: float | None, want: set[str]) -> None:
    """The pipeline, then freshness, stage changes and memory on the same worker and store."""
    empty_rate = None
    if plan.stored:  # the same workload on an empty store first: what history costs is the ratio
        _, empty = pipeline(report, workdir, bootstrap, workload, plan, ceiling_rate, naive_rate,
                            name="pipeline_empty")
        empty.stop()
        empty_rate = report.results["pipeline_empty"]["events_per_s"]
    s, worker = pipeline(report, workdir, bootstrap, workload, plan, ceiling_rate, naive_rate, plan.stored,
                         empty_rate=empty_rate)
    try:
        if "freshness" in want:
            with day_boundary.watched(report, "freshness", s):
                freshness(report, workdir, s, worker, plan)
        if "stage_latency" in want:
            with day_boundary.watched(report, "stage_latency", s):
                stage_latency(report, workdir, s, plan)
        if "memory" in want:
            with day_boundary.watched(report, "memory", s):
                memory(report, s, worker, plan)
    finally:
        worker.stop()
    if "memory" in want:  # the same store served, as on a server: which part of the memory is the worker's own
        served_memory.measure(report, s, workdir, plan.freshness_rate // 10, plan.memory_seconds)


def run(plan: Plan, out: Path, keep: bool = False, sections: tuple[str, ...] | None = None) -> Report:
    report = Report(plan)
    # kafka-python's IO thread warns whenever it waited for the GIL over 100 ms: while the benchmark
    # generates and publishes a million events in this process, that is all the time, and says nothing
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    report.results["machine"] = {"cpus": __import__("os").cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform(), "at": datetime.now(timezone.utc).isoformat()}
    report.results["plan"] = vars(plan) | {"query_sizes": list(plan.query_sizes)}
    workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-"))
    broker, bootstrap = harness.start_broker(workdir)
    want = set(sections or SECTIONS)
    try:
        if want & KAFKA_SECTIONS:  # the hooks and the queries need neither the workload nor the ceiling
            log_print(f"generating the workload: {plan.accounts:,} accounts, {plan.contacts:,} contacts, "
                      f"{plan.events:,} touches (seed {plan.seed})...", flush=True)
            workload = generate(plan.accounts, plan.contacts, plan.events, plan.seed)
            s0 = settings_for(workdir, bootstrap, "ceiling", plan.partitions)
            produce(s0, workload, registry=False)
            ceiling_rate = ceiling(report, s0, workload)
        naive_rate = naive(report, workdir, bootstrap, workload, plan, ceiling_rate) if "naive" in want else None
        if want & {"pipeline", "freshness", "stage_latency", "memory"}:
            on_one_worker(report, workdir, bootstrap, workload, plan, ceiling_rate, naive_rate, want)
        if "hooks" in want:
            hooks(report, workdir, bootstrap, plan)
        if "queries" in want:
            queries(report, workdir, plan)
        if "revenue_queries" in want:
            revenue_queries(report, workdir, plan)
        if "rollups" in want:
            rollups(report, workdir, plan)
        if "funnel_queries" in want:
            funnel_queries(report, workdir, plan)
        if "reattribution" in want:
            reattribution(report, workdir, plan)
        if "scale_out" in want:
            scale_out(report, workdir, bootstrap, workload, plan)
        if "shared_scale_out" in want:
            shared_scale_out(report, workdir, bootstrap, workload, plan)
        report.results["targets"] = targets(report.results)
    finally:
        broker.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.results, indent=2, default=str))
    if "rollups_table" in report.results:
        out.with_suffix(".rollups.md").write_text(report.results["rollups_table"])
    return report
