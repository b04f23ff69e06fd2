"""The worker's timers (stage evaluation, identity sync) survive a failing tick: Faust would stop the
whole worker if a timer raised, and ClickHouse being away for a while must not do that."""
from __future__ import annotations

import asyncio
import logging

from streams.jobs import on_clock


def test_a_failing_tick_is_logged_and_the_next_one_runs(caplog):
    ticks = []

    @on_clock("stage evaluation")
    async def evaluate():
        ticks.append(len(ticks))
        if len(ticks) == 1:
            raise ConnectionError("ClickHouse is away")

    with caplog.at_level(logging.ERROR, logger="pulse.worker"):
        asyncio.run(evaluate())
        asyncio.run(evaluate())
    assert ticks == [0, 1]
    assert [r.getMessage() for r in caplog.records] == [
        "stage evaluation failed, trying again at the next tick: ClickHouse is away"]
    assert evaluate.__name__ == "evaluate"  # Faust names the timer after it
