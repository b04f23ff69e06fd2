"""One account's opportunities read through the bloom filter on opportunity_latest.account_id (0021): an
opportunity that a later snapshot moved to another account shows at the new account only, even when its old
version sits in a granule the index selects and its new version in a part the index would skip."""
from __future__ import annotations

INSERT = """
INSERT INTO {db}.opportunity_snapshots (event_id, opportunity_id, account_id, occurred_at, received_at, stage,
                                        is_closed, is_won, amount, currency, created_at, close_date, type)
SELECT generateUUIDv4(number), opportunity_id, account_id, at, at, 'Prospecting', 0, 0, 100, 'USD', at,
       toDate(at) + 30, 'new_business'
FROM (SELECT number, {opportunity} AS opportunity_id, {account} AS account_id,
             toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + INTERVAL {minutes} MINUTE AS at
      FROM numbers({rows}))
"""


def at_account(client, db: str, account: str, **settings) -> list[str]:
    return [r[0] for r in client.query(f"SELECT opportunity_id FROM {db}.opportunities WHERE account_id = %(a)s",
                                       parameters={"a": account}, settings=settings).result_rows]


def test_a_moved_opportunity_shows_at_its_new_account_only(engine):
    client, settings = engine
    db = settings.database
    client.command(f"SYSTEM STOP MERGES {db}.opportunity_latest")  # the two versions stay in two parts
    # 30,000 opportunities in one part (4 granules), among them `mover` at its old account
    client.command(INSERT.format(db=db, rows=30_000, minutes=0, opportunity="if(number = 12345, 'mover', "
                                 "concat('bulk-', toString(number)))", account="if(number = 12345, 'old', "
                                 "concat('b-', toString(number % 50)))"))
    # a later snapshot moves it: one row in a part of its own, without the old account
    client.command(INSERT.format(db=db, rows=1, minutes=60, opportunity="'mover'", account="'new'"))
    assert client.query(f"SELECT count() FROM system.parts WHERE database = '{db}' "
                        "AND table = 'opportunity_latest' AND active").result_rows[0][0] == 2
    assert at_account(client, db, "old") == []
    assert at_account(client, db, "new") == ["mover"]
    # the index is what the read uses: without the engine's exact mode it would show the stale version
    assert at_account(client, db, "old", use_skip_indexes_if_final_exact_mode=0) == ["mover"]
