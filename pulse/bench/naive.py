"""The naive baseline: a plain Faust agent, one event at a time, with the same core and the same sink.

Run as its own process (`python -m pulse.bench.naive REGISTRY N RESULT`): it owns its own chDB data
dir. Once N events are in ClickHouse it writes the seconds since the first event it read to RESULT
(a file: Faust's worker redirects stdout into its log).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from schemas.settings import Settings
from schemas.registry import AccountRecord, ContactRecord


class RegistryFile(msgspec.Struct):
    accounts: list[AccountRecord]
    contacts: list[ContactRecord]


def run_and_time(settings: Settings, workdir: Path, workload, n: int) -> float:
    from pulse.bench.harness import env_for

    registry = workdir / "naive-registry.msgpack"
    registry.write_bytes(msgspec.msgpack.encode(RegistryFile(workload.accounts, workload.contacts)))
    log, result = workdir / "naive.log", workdir / "naive.result"
    subprocess.run([sys.executable, "-m", "pulse.bench.naive", str(registry), str(n), str(result)],
                   env=env_for(settings), stdout=log.open("wb"), stderr=subprocess.STDOUT, timeout=3600)
    if not result.exists():
        raise RuntimeError(f"benchmark: the naive baseline did not finish; see {log}")
    return float(result.read_text())


def main(registry_path: str, n: int, result_path: str) -> None:
    import faust

    from sinks.client import writer_client
    from sinks.migrate import migrate
    from sinks.writer import ClickHouseWriter
    from streams.app import create_app
    from streams.core.registry import Registry
    from streams.core.score import Scoring, score
    from streams.core.weights import Weights
    from streams import topics as stream_topics
    from schemas.events import decode_batch

    settings = Settings.from_env()
    data = msgspec.msgpack.decode(Path(registry_path).read_bytes(), type=RegistryFile)
    registry = Registry()
    for a in data.accounts:
        registry.upsert_account(a)
    for c in data.contacts:
        registry.upsert_contact(c)
    client = writer_client(settings)
    migrate(client, settings)
    writer = ClickHouseWriter(client, settings.database, "naive", max_rows=settings.batch_max_rows)
    writer.start()
    scoring = Scoring(registry, Weights(), ZoneInfo("UTC"))
    app = create_app(settings)
    topic = stream_topics.touches(app, settings)
    state = {"done": 0, "t0": None}

    @app.agent(topic)
    async def naive(stream):
        async for raw in stream:  # one event per message, one at a time
            if state["t0"] is None:
                state["t0"] = time.perf_counter()
            rows = score(decode_batch(raw), scoring, datetime.now(timezone.utc))
            writer.add(rows)
            state["done"] += 1
            if state["done"] >= n:
                writer.flush()
                Path(result_path).write_text(f"{time.perf_counter() - state['t0']:.6f}")
                os._exit(0)  # a measuring process: the number is out, nothing else to keep

    worker = faust.Worker(app, loglevel="WARN", quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
