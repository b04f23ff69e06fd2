"""A pipeline store that already holds history (issue 17: throughput, freshness, stage changes, memory
and start-up on a 100M store): `pulse bench --stored N` generates N touches into the timed worker's
store before the worker starts, as the queries section generates its store (in SQL inside the engine,
folded by the store as the writer's inserts are).

It runs in a process of its own (`python -m pulse.bench.prefill DIR DATABASE N`): one process opens an
engine directory at a time, and the bench process may hold another. It prints what the store then holds,
the baseline the pipeline section's exactness check adds the workload to.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from schemas.settings import Settings


def prefill(data_dir: Path, database: str, touches: int) -> dict:
    from pulse.bench.queries import CHUNK, generate
    from sinks.client import writer_client
    from sinks.migrate import migrate

    settings = Settings(data_dir=data_dir, database=database)
    client = writer_client(settings)
    migrate(client, settings)
    started = time.perf_counter()
    for done in range(0, touches, CHUNK):
        generate(client, database, done, min(CHUNK, touches - done))
        print(f"prefill: {min(done + CHUNK, touches):,} of {touches:,} touches "
              f"({time.perf_counter() - started:,.0f} s)", file=sys.stderr, flush=True)
    count, minutes = client.query(f"SELECT count(), sum(minutes) FROM {database}.events").result_rows[0]
    aggregate = client.query(f"SELECT sum(minutes) FROM {database}.engagement_daily WHERE kind = 'touch'"
                             ).result_rows[0][0]
    return {"touches": int(count), "minutes": str(minutes), "aggregate": str(aggregate),
            "generate_s": time.perf_counter() - started}


if __name__ == "__main__":
    print(json.dumps(prefill(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))))
