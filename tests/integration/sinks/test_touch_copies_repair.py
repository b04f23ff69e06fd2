"""A worker killed between the touches part and its views' parts leaves touches that the kept copies
(program_successes, sales_touch_latest, page_view_latest) never saw; the writer started again under the
same id brings them back (ClickHouseWriter.start -> Store.repair_touch_copies), and again changes nothing."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from schemas.rows import TouchRow
from sinks.writer import ClickHouseWriter
from test_funnel_metrics import page_view
from test_sales_activity_kept import check, moved, random_touches

AT = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)


def opened(person: str, program: str) -> TouchRow:
    return TouchRow(uuid.uuid4(), "email_open", AT, AT, AT.date(), "acme", person, "domain", "email", program,
                    Decimal(1), Decimal(1), 1, person, "", "", "", "{}")


def successes(client, db: str, reference: bool = False) -> list:
    """(account, event, program) of the current program successes: as kept, or from `events`."""
    sql = (f"SELECT account_id, event_id, program_id FROM {db}.events WHERE success = 1 AND program_id != ''"
           if reference else
           f"SELECT account_id, event_id, program_id FROM {db}.program_successes FINAL WHERE NOT is_deleted")
    return sorted(client.query(sql).result_rows)


def test_a_restarted_writer_repairs_the_copies_its_crash_left_out(engine):
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w-crashed")
    writer.start()
    opens = [opened(f"p{n}@acme.example", f"cmp-{n % 3}") for n in range(6)]
    writer.write(random_touches(random.Random(5), 30) + opens + [page_view("e1@x.co", 0), page_view("c1", -3, False)])
    writer.replace([moved(opens[0], "globex", opens[0].person)])
    expected = successes(client, db, reference=True)
    assert len(expected) == 6 and ("globex", opens[0].event_id, "cmp-0") in expected
    # what a SIGKILL between the touches part and its views' parts leaves: touches, no copies
    for table in ("program_successes", "sales_touch_latest", "page_view_latest"):
        client.command(f"ALTER TABLE {db}.{table} DELETE WHERE 1", settings={"mutations_sync": 2})
    assert successes(client, db) == []
    for _ in range(2):  # the worker comes back under its id, twice: the second start changes nothing
        ClickHouseWriter(client, db, "w-crashed").start()
        assert successes(client, db) == expected
        check(client, db)
        assert client.query(f"SELECT count() FROM {db}.page_view_latest FINAL").result_rows == [(2,)]
