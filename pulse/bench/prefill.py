"""A pipeline store that already holds history (issue 17: throughput, freshness, stage changes, memory
and start-up on a 100M store): `pulse bench --stored N` generates N touches into the timed worker's
store before the worker starts, as the queries section generates its store (in SQL inside the engine,
folded by the store as the writer's inserts are), and the workload's registry with them, as a running
deployment holds it. A worker then finds the registry topic's records already known, as at any restart;
had the registry arrived after the history, its contacts would have queued every account and re-folded
every person-day, a second evaluation of the whole store (24 minutes at 100M, BENCHMARKS.md).

It runs in a process of its own (`python -m pulse.bench.prefill DIR DATABASE N REGISTRY.json`): one process
opens an engine directory at a time, and the bench process may hold another. It prints what the store
then holds, the baseline the pipeline section's exactness check adds the workload to.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import msgspec

from schemas.registry import ACCOUNT_COLUMNS, CONTACT_COLUMNS, AccountRecord, ContactRecord
from schemas.settings import Settings

REGISTRY_CHUNK = 100_000


class Registry(msgspec.Struct):
    """The workload's registry, as the bench process hands it over in a file."""
    accounts: list[AccountRecord]
    contacts: list[ContactRecord]


def store_registry(client, database: str, registry_file: Path) -> None:
    """The workload's accounts and contacts, stored as a worker stores the registry topic's records."""
    from datetime import datetime, timezone

    from sinks.store import Store

    registry, store = msgspec.json.decode(registry_file.read_bytes(), type=Registry), Store(client, database)
    now, started = datetime.now(timezone.utc), time.perf_counter()
    for table, columns, records in (("accounts", ACCOUNT_COLUMNS, registry.accounts),
                                    ("contacts", CONTACT_COLUMNS, registry.contacts)):
        for done in range(0, len(records), REGISTRY_CHUNK):
            store.store_records(table, columns, records[done:done + REGISTRY_CHUNK], now)
    print(f"prefill: {len(registry.accounts):,} accounts and {len(registry.contacts):,} contacts "
          f"({time.perf_counter() - started:,.0f} s)", file=sys.stderr, flush=True)


def prefill(data_dir: Path, database: str, touches: int, registry_file: Path) -> dict:
    from pulse.bench.queries import CHUNK, generate
    from sinks.client import writer_client
    from sinks.migrate import migrate

    settings = Settings(data_dir=data_dir, database=database)
    client = writer_client(settings)
    migrate(client, settings)
    store_registry(client, database, registry_file)
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
    print(json.dumps(prefill(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
