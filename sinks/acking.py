"""Write-then-ack: messages are acknowledged to Kafka only once the rows made from them are stored.

The shape of quix-streams' sinks: the agent `add`s a chunk (the sink-thread step that writes it,
and what to do once it is written), `flush` waits for every chunk added, and the write itself
(`ClickHouseWriter.write`) runs on the sink thread, where chDB releases the GIL while the event
loop already scores the next chunk. At most `depth` chunks wait for the sink, which bounds memory.
A failed write is never acknowledged, nor is anything after it: the next `add` raises it, and the
agent (and so the worker) stops with the messages still unacknowledged, to be delivered again.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Awaitable, Callable, TypeVar

R = TypeVar("R")


class AckingSink:
    def __init__(self, executor: Executor, depth: int = 2):
        self._executor = executor
        self._depth = depth
        self._in_flight: set[asyncio.Future] = set()
        self._failed: list[BaseException] = []

    async def add(self, write: Callable[[], R], written: Callable[[R], Awaitable[None]]) -> None:
        """Queue `write` for the sink thread now (in order with every other sink step), then wait while
        `depth` chunks are in flight; `written(result)` runs on the event loop once it has succeeded."""
        self._raise_failure()
        future = asyncio.get_running_loop().run_in_executor(self._executor, write)
        task = asyncio.ensure_future(self._settle(future, written))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        while len(self._in_flight) >= self._depth:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)

    async def flush(self) -> None:
        """Until every chunk added so far is written and acknowledged; raises the first failure."""
        while self._in_flight:
            await asyncio.wait(self._in_flight)
        self._raise_failure()

    async def _settle(self, future: asyncio.Future, written: Callable[[R], Awaitable[None]]) -> None:
        # the sink thread runs one step at a time, so chunks settle in the order they were added
        try:
            result = await future
        except Exception as exc:
            self._failed.append(exc)
            return
        if not self._failed:  # nothing after a failed chunk is acknowledged either
            await written(result)

    def _raise_failure(self) -> None:
        if self._failed:
            raise self._failed[0]
