"""A table a view keeps from `touches` (program_successes, traffic_inputs...) checked against the current
version of every touch: random touches written through the worker's writer, rounds of new versions (each
round a batch of its own: a higher version), then the kept rows compared before and after merges, and after
the migration's backfill from the stored touches (run twice)."""
from __future__ import annotations

import random
import uuid
from typing import Callable

from schemas.rows import TouchRow
from sinks.migrate import load_migrations
from sinks.writer import ClickHouseWriter


def written_with_versions(engine, rng: random.Random, make: Callable[[random.Random], TouchRow],
                          change: Callable[[random.Random, TouchRow], TouchRow], touches: int, rounds: int,
                          per_round: int) -> dict[uuid.UUID, TouchRow]:
    """The current version of each touch written."""
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w-kept")
    writer.start()
    current = {t.event_id: t for t in (make(rng) for _ in range(touches))}
    writer.write(list(current.values()))
    for _ in range(rounds):
        moved = [change(rng, current[i]) for i in rng.sample(sorted(current), per_round)]
        current.update((v.event_id, v) for v in moved)
        writer.write([], moved)
    return current


def kept_through_merges_and_backfill(engine, table: str, migration: str, backfills: int,
                                     kept: Callable[[], list], want: Callable[[], list]) -> None:
    """`kept()` equals `want()` before merges, after them, and each time after the table is emptied and
    refilled by the migration's INSERTs (from every stored version; merged: from the latest only), twice."""
    client, settings = engine
    db = settings.database
    backfill = [s for m in load_migrations(settings) if m.name == migration
                for s in m.statements() if s.startswith("INSERT")]
    assert len(backfill) == backfills
    for merged in (False, True):
        assert kept() == want()
        client.command(f"TRUNCATE TABLE {db}.{table}")
        for statement in backfill + backfill:
            client.command(statement)
        assert kept() == want()
        if not merged:
            client.command(f"OPTIMIZE TABLE {db}.touches FINAL")
            client.command(f"OPTIMIZE TABLE {db}.{table} FINAL")
