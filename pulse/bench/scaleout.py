"""Scale-out: two stream workers on the same topics, one joining and one leaving mid-run.

The embedded engine has one writer per data directory, so here each worker writes its own chDB store
and the checks are on the union: no event lost (every input id stored at least once), and events
stored by both workers (the re-deliveries of a rebalance: offsets not yet committed when a partition
moved) stored the same way by both, except stitched touches (they follow each store's own identity
links; both are reported). Against a shared ClickHouse server the writer looks every id up
and stores a re-delivery once (see README, Operations). Minutes over the union are reported against
the expected total but cannot be exact here: identity links are per store, so a cookie identified in
one worker's partitions is not stitched in the other's store (on a shared store the workers sync
them). Throughput is reported for the whole run.
"""
from __future__ import annotations

import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from pulse.bench import harness
from pulse.support.waits import wait_until
from pulse.bench.prepare import preload_registry, produce, settings_for
from pulse.bench.workload import Workload

_DUMP = """
import sys, clickhouse_connect
c = clickhouse_connect.get_client(dsn=f"chdb://{sys.argv[1]}/clickhouse")
for event_id, minutes, method in c.query("SELECT event_id, minutes, method FROM pulse.events").result_rows:
    print(event_id, minutes, method)
"""


def stored(data_dir: Path) -> dict[str, tuple[Decimal, str]]:
    """event_id -> (minutes, method) of every touch in a worker's store."""
    out = subprocess.run([sys.executable, "-c", _DUMP, str(data_dir)], capture_output=True, text=True, check=True,
                         timeout=600).stdout
    return {parts[0]: (Decimal(parts[1]), parts[2]) for parts in (line.split() for line in out.splitlines() if line)}


def measure(workdir: Path, bootstrap: str, workload: Workload, plan) -> dict:

    app_id = "bench-scaleout"
    a = settings_for(workdir, bootstrap, "scale-a", plan.partitions, app_id)
    b = settings_for(workdir, bootstrap, "scale-b", plan.partitions, app_id)
    b = b.replace(topic_prefix=a.topic_prefix)
    # Each store gets the registry first, as a running deployment already has it.
    produce(a, workload, registry=True, touches=False)  # one registry topic, read by both
    for s in (a, b):
        preload_registry(s, workdir, workload)
    produce(a, workload, registry=False)
    total = workload.unique_events

    def count(s) -> int:
        try:
            return int(harness.sql(s, "SELECT uniqExact(event_id) FROM touches"))
        except OSError:
            return 0

    started = time.perf_counter()
    wa = harness.start_pulse("worker", a, workdir, f"http://127.0.0.1:{a.sql_port}/ping")
    wait_until(lambda: count(a) >= total // 3, 3600, 0.2, what="worker A to store a third")
    wb = harness.start_pulse("worker", b, workdir, f"http://127.0.0.1:{b.sql_port}/ping")  # joins: rebalance
    wait_until(lambda: count(a) + count(b) >= 2 * total // 3, 3600, 0.2, what="A and B to store two thirds")
    wa.stop()                                                                               # leaves: rebalance
    in_a = stored(a.data_dir)  # A's store, read by a separate process now that A has let it go

    def union_complete() -> bool:
        ids_b = set(harness.sql(b, "SELECT DISTINCT event_id FROM touches FORMAT TSV").split())
        return len(ids_b | set(in_a)) >= total

    wait_until(union_complete, 3600, 1.0, what="the union of both stores to hold every event")
    seconds = time.perf_counter() - started
    wb.stop()
    in_b = stored(b.data_dir)
    union = {**in_a, **in_b}
    both = set(in_a) & set(in_b)
    # A touch stitched in either store depends on that store's identity links, which two separate
    # stores do not share (the identify may have reached only one worker): compare the others.
    stitched = {i for i in both if "stitched" in (in_a[i][1], in_b[i][1])}
    consistent = all(in_a[i] == in_b[i] for i in both - stitched)
    return {"events_per_s": total / seconds, "seconds": seconds, "stored_by_a": len(in_a), "stored_by_b": len(in_b),
            "stored_by_both": len(both), "union": len(union), "lost": total - len(union),
            "redeliveries_consistent": consistent, "redeliveries_stitched_not_compared": len(stitched),
            "stitched_redeliveries_differing": sum(1 for i in stitched if in_a[i] != in_b[i]),
            "union_minutes": str(sum(m for m, _ in union.values())), "expected_minutes": str(workload.expected_minutes),
            "exact": len(union) == total and consistent}
