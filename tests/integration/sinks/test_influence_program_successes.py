"""program_successes (migration 0020), the attribution touchpoints kept per account, against the current
version of every touch (the events view) on random histories: touches written through the worker's writer,
then rounds of new versions that move touches between accounts (and to no account), make them a success or
take the success away, several versions of one touch in a row; before and after merges, and after the
migration's backfill from the stored touches (run twice)."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from schemas.rows import TouchRow
from kept_tables import kept_through_merges_and_backfill, written_with_versions

NOW = datetime.now(timezone.utc).replace(microsecond=0)
ACCOUNTS = ("a-1", "a-2", "a-3", "")
KEPT = "SELECT account_id, event_id, program_id, occurred_at FROM {db}.program_successes FINAL WHERE is_deleted = 0"
CURRENT = "SELECT account_id, event_id, program_id, occurred_at FROM {db}.events WHERE success = 1 AND program_id != ''"


def touch(rng: random.Random) -> TouchRow:
    at = NOW - timedelta(minutes=rng.randint(0, 50_000))
    kind = rng.choice(["email_open", "email_click", "page_view", "meeting"])
    return TouchRow(uuid.UUID(int=rng.getrandbits(128)), kind, at, at, at.date(), rng.choice(ACCOUNTS),
                    "p@x.example", "contact", "email" if kind.startswith("email") else "web",
                    rng.choice(["p1", "p2", "p3", ""]), Decimal(1), Decimal(1), rng.randint(0, 1), "p@x.example",
                    "", "", "", "{}")


def version(rng: random.Random, row: TouchRow) -> TouchRow:
    """A new version as re-scoring writes it: new account and/or success, carrying what it takes back."""
    account, success = row.account_id, row.success
    while (account, success) == (row.account_id, row.success):
        account, success = rng.choice(ACCOUNTS), rng.randint(0, 1)
    return msgspec.structs.replace(row, account_id=account, success=success, retracts=1,
                                   prev_account_id=row.account_id, prev_person=row.person,
                                   prev_minutes=row.minutes, prev_base_minutes=row.base_minutes,
                                   prev_success=row.success)


def rows(client, sql: str, db: str) -> list[tuple]:
    return sorted(client.query(sql.format(db=db)).result_rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kept_successes_are_the_current_program_successes(engine, seed):
    client, settings = engine
    db = settings.database
    current = written_with_versions(engine, random.Random(seed), touch, version, touches=300, rounds=6,
                                    per_round=60)
    expected = sorted((t.account_id, t.event_id, t.program_id) for t in current.values()
                      if t.success == 1 and t.program_id)
    assert len(expected) > 50 and any(a == "" for a, *_ in expected)
    assert [r[:3] for r in rows(client, CURRENT, db)] == expected
    kept_through_merges_and_backfill(engine, "program_successes", "0020_program_successes.sql", 2,
                                     lambda: rows(client, KEPT, db), lambda: rows(client, CURRENT, db))
