"""Write-then-ack, drawn as chunks: a chunk is acknowledged only after its write succeeded, in the
order added, and nothing after a failed write is acknowledged."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from sinks.acking import AckingSink


def run(coro):
    return asyncio.run(coro)


class Sink:
    """A one-thread sink whose writes wait for the test to release them, one by one."""

    def __init__(self):
        self.executor = ThreadPoolExecutor(1)
        self.release: dict[str, threading.Event] = {}
        self.acked: list[str] = []

    def write(self, name: str, fail: bool = False):
        gate = self.release.setdefault(name, threading.Event())

        def step():
            gate.wait(10)
            if fail:
                raise ConnectionError(f"{name}: ClickHouse is away")
            return name
        return step

    async def written(self, result: str) -> None:
        self.acked.append(result)


def test_chunks_are_acknowledged_in_order_once_written():
    sink = Sink()

    async def body():
        acking = AckingSink(sink.executor, depth=3)
        await acking.add(sink.write("a"), sink.written)
        await acking.add(sink.write("b"), sink.written)
        assert sink.acked == []  # nothing written yet: nothing acknowledged
        sink.release["a"].set()
        sink.release["b"].set()
        await acking.flush()
        return sink.acked

    assert run(body()) == ["a", "b"]


def test_add_waits_while_depth_chunks_are_in_flight():
    sink = Sink()

    async def body():
        acking = AckingSink(sink.executor, depth=2)
        await acking.add(sink.write("a"), sink.written)
        third = asyncio.ensure_future(acking.add(sink.write("b"), sink.written))
        await asyncio.sleep(0.05)
        blocked = not third.done()  # two in flight: the agent must not take more
        sink.release["a"].set()
        await third
        sink.release["b"].set()
        await acking.flush()
        return blocked

    assert run(body()) is True
    assert sink.acked == ["a", "b"]


def test_nothing_after_a_failed_write_is_acknowledged_and_the_failure_is_raised():
    sink = Sink()

    async def body():
        acking = AckingSink(sink.executor, depth=3)
        await acking.add(sink.write("a", fail=True), sink.written)
        await acking.add(sink.write("b"), sink.written)
        sink.release["a"].set()
        sink.release["b"].set()
        with pytest.raises(ConnectionError, match="a: ClickHouse is away"):
            await acking.flush()
        with pytest.raises(ConnectionError):  # and the agent's next add stops it
            await acking.add(sink.write("c"), sink.written)

    run(body())
    assert sink.acked == []
