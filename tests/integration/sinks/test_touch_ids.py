"""touch_ids (0052_touch_ids.sql), the ids the writer's duplicate check reads for an id it does not hold in
memory, on the real engine: every stored id once, through new versions; brought back after a crash between
the touches part and its own; filled for a store from before the migration. A late event sent again is
never stored twice."""
from __future__ import annotations

import random
from decimal import Decimal

from sinks.migrate import migrate
from sinks.writer import ClickHouseWriter
from test_sales_activity_kept import moved
from test_writer_on_engine import old_row, totals

IDS = "SELECT event_id FROM {db}.touch_ids FINAL ORDER BY event_id"
STORED = "SELECT DISTINCT event_id FROM {db}.touches ORDER BY event_id"


def ids(client, db: str, sql: str) -> list:
    return [r[0] for r in client.query(sql.format(db=db)).result_rows]


def late_rows(n: int, seed: int) -> list:
    rng = random.Random(seed)
    return [old_row(rng.randint(8, 90), minutes=f"{rng.randint(1, 9)}.00") for _ in range(n)]


def written(engine, writer_id: str, n: int, seed: int):
    """A writer holding 7 days of ids in memory, and the `n` late touches it stored (each older than that)."""
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, writer_id, memory_days=7)
    writer.start()
    late = late_rows(n, seed)
    writer.write(late)
    return client, settings.database, writer, late


def test_every_stored_id_once_through_new_versions(engine):
    client, db, writer, late = written(engine, "w-ids", 40, seed=1)
    writer.replace([moved(r, "globex", r.person) for r in late[:10]])  # versions re-write ids already there
    assert ids(client, db, IDS) == ids(client, db, STORED) and len(ids(client, db, IDS)) == 40


def test_a_crash_before_the_ids_part_is_repaired_and_a_replay_stays_out(engine):
    client, db, writer, late = written(engine, "w-crashed", 25, seed=2)
    before = totals(client, db)
    # what a SIGKILL between the touches part and its views' parts leaves: touches, no ids
    client.command(f"ALTER TABLE {db}.touch_ids DELETE WHERE 1", settings={"mutations_sync": 2})
    assert ids(client, db, IDS) == []
    for _ in range(2):  # the worker comes back under its id, twice: the second start changes nothing
        restarted = ClickHouseWriter(client, db, "w-crashed", memory_days=7)
        restarted.start()
        assert ids(client, db, IDS) == ids(client, db, STORED)
        again = restarted.write(late)  # Kafka re-delivers the batch: every id is late, none in memory
        assert (again.written, again.duplicates) == (0, 25)
        assert totals(client, db) == before


def test_a_store_from_before_gets_the_ids_it_holds(engine):
    client, db, writer, late = written(engine, "w-old", 30, seed=3)
    # a merge keeps only the latest version of an id: here a re-attribution's, the first gone from touches
    writer.replace([moved(r, "globex", r.person) for r in late[:10]])
    client.command(f"OPTIMIZE TABLE {db}.touches FINAL")
    assert client.query(f"SELECT countIf(retracts = 0), count() FROM {db}.touches").result_rows == [(20, 30)]
    # the touches stay; the migration and what it made go, as before it
    client.command(f"DROP VIEW {db}.touch_ids_mv")
    client.command(f"DROP TABLE {db}.touch_ids")
    client.command(f"ALTER TABLE {db}.schema_migrations DELETE WHERE version = 52 SETTINGS mutations_sync = 2")

    assert migrate(client, engine[1]) == ["0052_touch_ids.sql"]
    assert ids(client, db, IDS) == ids(client, db, STORED) and len(ids(client, db, IDS)) == 30
    again = ClickHouseWriter(client, db, "w-new", memory_days=7)
    again.start()
    assert again.write(late + late_rows(1, seed=4)).written == 1
    assert totals(client, db)[1] == 31 and totals(client, db)[0] > Decimal(0)
