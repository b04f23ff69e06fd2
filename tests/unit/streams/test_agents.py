"""The worker's agents with Faust's test_context: no broker, no ClickHouse; a fake writer records what
the sink thread was handed."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import msgspec

from schemas.settings import Settings
from sinks.writer import WriteResult
from streams.agents import wire_agents
from streams.app import create_app
from streams.core.registry import Registry
from streams.core.score import Identities, Scoring
from streams.core.weights import Weights
from streams.health import HealthMonitor
from streams.pipeline import Pipeline


class FakeWriter:
    state = "ok"

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.batches: list[list] = []
        self.rejected: list = []

    def write(self, rows, versions=()):
        if self.fail:
            raise ConnectionError("ClickHouse is away")
        self.batches.append(list(rows))
        return WriteResult(written=len(rows), duplicates=0, batch_seq=len(self.batches))

    def write_rejected(self, rows):
        self.rejected.extend(rows)


def pipeline_with(writer: FakeWriter, tmp_path) -> tuple:
    settings = Settings(data_dir=tmp_path, batch_seconds=0.05, batch_max_rows=50)
    scoring = Scoring(Registry(), Weights(), ZoneInfo("UTC"), Identities(), False)
    pipeline = Pipeline(settings, writer, scoring, executor=ThreadPoolExecutor(1), health=HealthMonitor())
    app = create_app(settings)
    wire_agents(app, pipeline)
    return app, pipeline


async def until(condition, what: str, seconds: float = 10.0):
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def page_views(n: int) -> bytes:
    now = datetime.now(timezone.utc).isoformat()
    return msgspec.json.encode([{"type": "page_view", "occurred_at": now, "url": f"https://us.example/{i}",
                                 "anonymous_id": f"c{i}"} for i in range(n)])


def test_score_touches_hands_a_chunk_to_the_sink_and_counts_it(tmp_path):
    writer = FakeWriter()
    app, pipeline = pipeline_with(writer, tmp_path)

    async def body():
        async with app.agents["score_touches"].test_context() as agent:
            await agent.put(page_views(3))
            await agent.put(b"not json")
            await until(lambda: pipeline.written == 3 and pipeline.rejected == 1, "the chunk to be written")

    asyncio.run(body())
    assert sum(len(b) for b in writer.batches) == 3
    assert [r.source for r in writer.rejected] == ["worker"]


def test_score_touches_stops_on_a_failed_write_and_counts_nothing(tmp_path):
    writer = FakeWriter(fail=True)
    app, pipeline = pipeline_with(writer, tmp_path)

    async def body():
        async with app.agents["score_touches"].test_context() as agent:
            await agent.put(page_views(2))
            await agent.put(page_views(2))
            await until(lambda: agent.crashed, "the agent to stop")
            return agent.crash_reason

    assert isinstance(asyncio.run(body()), ConnectionError)
    assert pipeline.written == 0 and writer.batches == []


def test_store_rejected_keeps_each_dead_letter_with_its_reasons(tmp_path):
    writer = FakeWriter()
    app, _ = pipeline_with(writer, tmp_path)
    letter = {"source": "collect", "reasons": [{"field": "email", "reason": "not an email address"}], "payload": "{}"}

    async def body():
        async with app.agents["store_rejected"].test_context() as agent:
            await agent.put(msgspec.json.encode(letter))
            await agent.put(b"\xff not a dead letter")
            await until(lambda: len(writer.rejected) == 2, "both dead letters stored")

    asyncio.run(body())
    first, second = writer.rejected
    assert (first.source, msgspec.json.decode(first.reasons), first.payload) == ("collect", letter["reasons"], "{}")
    assert second.source == "unknown" and "unreadable dead letter" in second.reasons
