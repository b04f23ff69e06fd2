"""Re-attribution at scale (issue 17): an accounts import that moves 1 % of accounts' domains, on a
store grown from size to size, timed from the registry change to the last new version stored, then
checked for exactness.

The store is generated in SQL inside the engine, in a database of its own: 100,000 accounts with one
domain each, and touches of people at those domains (email opens and clicks, page views, forms) over a
year, with the queries section's Zipf-like account activity. Each generated row is a real scored touch:
one event of each type is scored by streams.core.score, and the rows copy its columns and payload with
the event id, time and person substituted, so re-scoring a row the move does not concern finds nothing
to change (as it would for touches the worker stored).

The move goes through the worker's own step (streams.registry_changes.take_registry_change, on a
Pipeline as the worker builds it): at each size, the domains of 1,000 accounts (every account whose
number ends in a given pair of digits) move to the next account. Exact means: every touch of a moved
domain now belongs to its new account, no other touch changed, each account's minutes in
engagement_daily equal the sum over its touches' current versions, and the store's total is unchanged.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from schemas.settings import Settings

DB = "reattribution"
ACCOUNTS = 100_000
CHUNK = 5_000_000
_ID, _PERSON, _AT = "11111111-1111-4111-8111-111111111111", "p0@acc0.example", "2001-02-03T04:05:06Z"
_TYPES = ("page_view", "email_open", "email_click", "form_submit")  # drawn 8 : 7 : 3 : 2

_REGISTRY = """
INSERT INTO {db}.accounts
SELECT concat('a', toString(number)), concat('Account ', toString(number)), [concat('acc', toString(number), '.example')],
       [], '', number % 10 = 0, 6, concat('rep', toString(number % 25)), now64(3)
FROM numbers({accounts})
"""
# The templates' columns are bound as arrays and indexed by the row's type.
_STAGE = """
INSERT INTO {db}.gen ({columns})
SELECT generateUUIDv4(number) AS event_id, %(type)s[t] AS type,
       toDateTime64(toDateTime(now()) - toIntervalSecond(toUInt32(pow(rand(2) / 4294967295., 2) * 365 * 86400)), 3)
           AS occurred_at,
       occurred_at AS received_at, toDate(occurred_at, %(tz)s) AS day,
       concat('a', toString(if(modulo(m, 100) IN %(moved)s, m + 1, m))) AS account_id,
       concat('p', toString(modulo(rand(5), 200)), '@acc', toString(m), '.example') AS person, 'domain' AS method,
       %(channel)s[t] AS channel, %(program_id)s[t] AS program_id,
       toDecimal64(%(minutes)s[t], 2) AS minutes, toDecimal64(%(base_minutes)s[t], 2) AS base_minutes,
       %(success)s[t] AS success, person AS email, '' AS anonymous_id, '' AS ip, %(url)s[t] AS url,
       replaceAll(replaceAll(replaceAll(%(payload)s[t], %(id)s, toString(event_id)), %(person)s, person),
                  %(at)s, formatDateTime(occurred_at, '%%Y-%%m-%%dT%%H:%%i:%%SZ', 'UTC')) AS payload,
       'gen' AS writer, 1 AS batch_seq, 1 AS version
FROM (SELECT number, toUInt32(pow(rand(4) / 4294967295., 4) * {accounts}) AS m,
             [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4][1 + modulo(rand(1), 20)] AS t
      FROM numbers({start}, {rows}))
"""
_COLUMNS = ("event_id", "type", "occurred_at", "received_at", "day", "account_id", "person", "method", "channel",
            "program_id", "minutes", "base_minutes", "success", "email", "anonymous_id", "ip", "url", "payload",
            "writer", "batch_seq", "version")
_LATEST = "(SELECT * FROM {db}.touches FINAL)"
# Per account: minutes in the fold against the sum over the touches' current versions.
_DRIFT = """
SELECT count() FROM (
    SELECT account_id, sum(minutes) AS m FROM {db}.engagement_daily GROUP BY account_id HAVING m != 0) AS f
FULL OUTER JOIN (SELECT account_id, sum(minutes) AS m FROM {latest} GROUP BY account_id HAVING m != 0) AS t
USING account_id
WHERE f.m != t.m
"""
# Touches whose current account is not the one their person's domain belongs to now.
_MISPLACED = """
SELECT count() FROM {latest}
WHERE account_id != concat('a', toString(if(modulo(toUInt32(extract(person, '@acc([0-9]+)')), 100) IN %(moved)s,
                                            toUInt32(extract(person, '@acc([0-9]+)')) + 1,
                                            toUInt32(extract(person, '@acc([0-9]+)')))))
"""


def templates(tz: str) -> dict:
    """One scored touch per type, as the columns the generator copies (the query's array parameters)."""
    from schemas.events import EmailClick, EmailOpen, FormSubmit, PageView
    from schemas.registry import AccountRecord
    from streams.core.registry import Registry
    from streams.core.score import Scoring, score_event
    from streams.core.weights import Weights

    registry = Registry()
    registry.upsert_account(AccountRecord(account_id="a0", domains=("acc0.example",)))
    scoring, at = Scoring(registry, Weights(), ZoneInfo(tz)), datetime.fromisoformat(_AT)
    common = {"event_id": uuid.UUID(_ID), "occurred_at": at, "email": _PERSON}
    events = (PageView(url="https://www.example.com/pricing", **common),
              EmailOpen(campaign_id="cmp-1", **common),
              EmailClick(campaign_id="cmp-2", url="https://www.example.com/webinar", **common),
              FormSubmit(form_id="demo", **common))
    rows = [score_event(e, scoring, at) for e in events]
    assert tuple(r.type for r in rows) == _TYPES and all(r.method == "domain" for r in rows)
    columns = ("type", "channel", "program_id", "minutes", "base_minutes", "success", "url", "payload")
    return {c: [str(getattr(r, c)) if c in ("minutes", "base_minutes") else getattr(r, c) for r in rows]
            for c in columns} | {"id": _ID, "person": _PERSON, "at": _AT, "tz": tz}


def generate(client, settings: Settings, start: int, rows: int, moved: list[int]) -> None:
    """Touches `start` to `start + rows`; people at a domain that has moved (the accounts numbered
    `moved` modulo 100) already belong to the account it moved to."""
    db, params = settings.database, templates(settings.reporting_tz) | {"moved": moved or [-1]}
    client.command(f"CREATE TABLE IF NOT EXISTS {db}.gen AS {db}.touches ENGINE = Memory")
    for offset in range(start, start + rows, CHUNK):
        client.command(f"TRUNCATE TABLE {db}.gen")
        sql = _STAGE.format(db=db, columns=", ".join(_COLUMNS), start=offset, rows=min(CHUNK, start + rows - offset),
                            accounts=ACCOUNTS)
        client.query(sql, parameters=params)
        client.command(f"INSERT INTO {db}.touches SELECT * FROM {db}.gen")
    client.command(f"DROP TABLE {db}.gen")


def _one(client, sql: str, **parameters):
    return client.query(sql, parameters=parameters).result_rows[0][0]


def move(pipeline, moved: int) -> tuple[bytes, int]:
    """The registry message moving the domain of every account whose number ends in `moved` to the
    next account; and how many accounts it names."""
    import msgspec

    from schemas.registry import AccountsChanged, encode_change

    accounts = pipeline.scoring.registry.accounts
    items = []
    for number in range(moved, ACCOUNTS - 1, 100):
        giver, taker = accounts[f"a{number}"], accounts[f"a{number + 1}"]
        items += [msgspec.structs.replace(giver, domains=()),
                  msgspec.structs.replace(taker, domains=(*taker.domains, *giver.domains))]
    return encode_change(AccountsChanged(items=items)), len(items)


def _pipeline(client, settings: Settings):
    from sinks.writer import ClickHouseWriter
    from streams.core.registry import Registry
    from streams.core.score import Scoring
    from streams.core.weights import Weights
    from streams.pipeline import Pipeline
    from streams.registry_changes import load_registry

    writer = ClickHouseWriter(client, settings.database, "bench")
    writer.start()
    pipeline = Pipeline(settings, writer, Scoring(Registry(), Weights(), ZoneInfo(settings.reporting_tz)))
    load_registry(pipeline)
    return pipeline


def _moved_once(client, pipeline, settings: Settings, moved: int, earlier: list[int]) -> dict:
    from streams.registry_changes import take_registry_change

    db = settings.database
    latest = _LATEST.format(db=db)
    total = f"SELECT sum(minutes) FROM {db}.engagement_daily"
    concerned = _one(client, f"SELECT count() FROM {latest} WHERE modulo(toUInt32(extract(person, '@acc([0-9]+)')), 100) "
                             "= %(moved)s", moved=moved)
    before_total, versions = _one(client, total), _one(client, f"SELECT count() FROM {db}.touches WHERE version > 1")
    raw, named = move(pipeline, moved)
    started, cpu = time.perf_counter(), time.process_time()  # the engine runs in this process: its CPU too
    take_registry_change(pipeline, raw)()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    changed = _one(client, f"SELECT count() FROM {db}.touches WHERE version > 1") - versions
    misplaced = _one(client, _MISPLACED.format(latest=latest), moved=[*earlier, moved])
    drift = _one(client, _DRIFT.format(db=db, latest=latest))
    exact = changed == concerned and misplaced == 0 and drift == 0 and _one(client, total) == before_total
    return {"accounts_moved": named // 2, "touches_concerned": concerned, "touches_changed": changed,
            "reattribution_s": seconds, "reattribution_cpu_s": cpu, "misplaced": misplaced, "drifted_accounts": drift, "exact": exact}


def measure(data_dir: Path, sizes: tuple[int, ...]) -> Iterator[tuple[int, dict]]:
    """Grow the store to each size in turn and move another 1 % of the accounts' domains at each."""
    from sinks.client import writer_client
    from sinks.migrate import migrate

    settings = Settings(data_dir=data_dir, database=DB)
    client = writer_client(settings)
    migrate(client, settings)
    client.command(_REGISTRY.format(db=DB, accounts=ACCOUNTS))
    pipeline, rows, moved = _pipeline(client, settings), 0, []
    for size in sizes:
        started = time.perf_counter()
        generate(client, settings, rows, size - rows, moved)
        generated_s, rows = time.perf_counter() - started, size
        # every round moves other accounts: numbers ending in 10, 12, ... (their takers end in 11, 13, ...)
        row = _moved_once(client, pipeline, settings, 10 + 2 * len(moved), moved)
        moved.append(10 + 2 * len(moved))
        yield size, {"touches": size, "generate_s": generated_s, **row}
