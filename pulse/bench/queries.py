"""Dashboard query latency at 10 and 100 million stored events.

The store is generated in SQL inside the engine (the issue allows it): touches with a realistic mix
and Zipf-like account activity over a year, folded into engagement rows by the store as the writer's
inserts are. Then every query of every dashboard page (ui.queries.PAGES) is timed on a read-only
session, as the SQL endpoint runs it, and each page's queries together.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from schemas.settings import Settings

CHUNK = 10_000_000
ACCOUNTS = 100_000
CONTACTS = 1_000_000
# The generated touches' writer: the bench tells them from a workload's by it (pulse/bench/prefill.py).
GENERATED_WRITER = "gen"
# Live traffic's share of late touches (issue 17: "late events are a few percent").
LATE_PCT = 3

_REGISTRY = """
INSERT INTO {db}.accounts
SELECT concat('a', toString(number)), concat('Account ', toString(number)), [concat('acc', toString(number), '.example')],
       [], toString(1 + number % 3), number % 10 = 0, 6, concat('rep', toString(number % 25)), now64(3)
FROM numbers({accounts})
"""
_CONTACTS = """
INSERT INTO {db}.contacts
SELECT concat('c', toString(number), '@acc', toString(number % {accounts}), '.example'),
       concat('a', toString(number % {accounts})), '', '',
       ['c_level', 'vp', 'director', 'manager', 'other'][1 + number % 5], now64(3)
FROM numbers({contacts})
"""
_PROGRAMS = """
INSERT INTO {db}.programs (program_id, name, channel, cost, updated_at)
SELECT concat('cmp-', toString(number)), concat('Campaign ', toString(number)), 'email', 1000, now64(3) FROM numbers(20)
"""
# What the tracking and the mail hooks store with a touch, as they store it: a known person's email, the site's
# cookie on page views (a known person's own), the visitor's address (last octet zeroed) and engaged seconds,
# the link of a click. The traffic rules judge these (sinks/traffic_sql.py); a store without them costs them
# nothing. Derived from the event id, so that a store can also be given them afterwards by a mutation.
IDENTITY = """if(position(person, '@') > 0, person, '') AS email,
       if(type IN ('page_view', 'identify'),
          if(email = '', person, concat('ck-', toString(sipHash64(person) % 20000000))), '') AS anonymous_id,
       if(type = 'page_view', concat('198.51.', toString(cityHash64(event_id, 1) % 256), '.0'), '') AS ip,
       if(type IN ('page_view', 'email_click'),
          concat('https://www.x.example/p', toString(cityHash64(event_id, 2) % 200)), '') AS url,
       if(type = 'page_view', concat('{"engaged_seconds":', toString(1 + cityHash64(event_id, 3) % 120), '}'),
          '') AS payload,"""
# One chunk of generated touches into a staging table, then into touches (the store folds them into
# engagement_daily in the same insert, migration 0035).
_STAGE = """
INSERT INTO {db}.gen
SELECT generateUUIDv4(number) AS event_id,
       multiIf(r < 50, 'page_view', r < 75, 'email_open', r < 82, 'email_click', r < 85, 'form_submit',
               r < 89, 'event_attendance', r < 94, 'call', r < 96, 'meeting', 'identify') AS type,
       now64(3) - toIntervalSecond(toUInt32(pow(rand(2) / 4294967295., 2)
                                            * if(rand(9) % 100 < {late_pct}, 365 * 86400, {recent_s}))) AS occurred_at,
       occurred_at AS received_at, toDate(occurred_at) AS day,
       if(rand(3) % 100 < 8, '', concat('a', toString(toUInt32(pow(rand(4) / 4294967295., 4) * {accounts})))) AS account_id,
       if(rand(5) % 3 = 0, concat('anon-', toString(rand(6) % 5000000)),
          concat('c', toString(rand(7) % {contacts}), '@x.example')) AS person,
       if(account_id = '', 'unresolved', 'contact') AS method,
       multiIf(type IN ('page_view', 'identify'), 'web', type IN ('email_open', 'email_click'), 'email',
               type = 'event_attendance', 'event', type = 'call', 'call', type = 'meeting', 'meeting', 'form') AS channel,
       if(channel = 'email', concat('cmp-', toString(rand(8) % 20)), '') AS program_id,
       toDecimal64(multiIf(type = 'form_submit', 10, type = 'event_attendance', 30, type = 'meeting', 30,
                           type = 'email_click', 2, type = 'identify', 0, 1), 2) AS minutes,
       minutes AS base_minutes, toUInt8(program_id != '') AS success,
       {identity}
       0 AS retracts, '' AS prev_account_id, '' AS prev_person, toDecimal64(0, 2) AS prev_minutes,
       toDecimal64(0, 2) AS prev_base_minutes, 0 AS prev_success, 'person' AS traffic, '' AS traffic_reason,
       '{writer}' AS writer, 1 AS batch_seq, 1 AS version
FROM (SELECT number, rand(1) % 100 AS r FROM numbers({start}, {rows}))
"""


def generate(client, db: str, start: int, rows: int, live: bool = False) -> None:
    """Touches `start`.. `start + rows` over the last year, recent ones denser; `live` ones as traffic
    arrives: within the last hour, LATE_PCT of them late (anywhere in the year)."""
    client.command(f"CREATE TABLE IF NOT EXISTS {db}.gen AS {db}.touches ENGINE = Memory")
    spread = {"late_pct": LATE_PCT, "recent_s": 3600} if live else {"late_pct": 100, "recent_s": 0}
    for offset in range(start, start + rows, CHUNK):
        n = min(CHUNK, start + rows - offset)
        client.command(f"TRUNCATE TABLE {db}.gen")
        client.command(_STAGE.format(db=db, start=offset, rows=n, accounts=ACCOUNTS, contacts=CONTACTS,
                                     writer=GENERATED_WRITER, identity=IDENTITY, **spread))
        client.command(f"INSERT INTO {db}.touches SELECT * FROM {db}.gen")
    client.command(f"DROP TABLE {db}.gen")


def _bind(params: dict, account: str) -> dict:
    out = {}
    for key, value in params.items():
        if value == "{account}":
            value = account
        elif isinstance(value, list):
            value = [account if v == "{account}" else v for v in value]
        out[key] = value
    return out


def time_pages(reader, parser, account: str, repeats: int) -> dict:
    """Each dashboard query on a reader session, and apart from it what the SQL endpoint's statement
    check (sinks/sql_guard.py: two engine calls on a parser session) adds to it."""
    from clickhouse_connect.driver.binding import finalize_query

    from sinks.sql_guard import Policy, check
    from ui import queries

    run = lambda sql: parser.raw_query(sql).decode()  # noqa: E731
    policy = Policy.for_engine(set(run("SELECT lower(name) FROM system.table_functions FORMAT TSVRaw").split()))
    per_query: dict[str, list[float]] = {}
    per_page: dict[str, list[float]] = {}
    guard: list[float] = []
    for _ in range(repeats):
        for page, plan in queries.PAGES.items():
            page_total = 0.0
            for name, params in plan:
                started = time.perf_counter()
                reader.query(getattr(queries, name), parameters=_bind(params, account))
                elapsed = (time.perf_counter() - started) * 1000
                per_query.setdefault(name, []).append(elapsed)
                started = time.perf_counter()
                check(run, finalize_query(getattr(queries, name), _bind(params, account)), policy)
                guard.append((time.perf_counter() - started) * 1000)
                page_total += elapsed + guard[-1]
            per_page.setdefault(page, []).append(page_total)

    def pct(values, p):
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]

    summary = {f"{n}_p50_ms": pct(v, 50) for n, v in per_query.items()}
    summary |= {f"{n}_p95_ms": pct(v, 95) for n, v in per_query.items()}
    summary |= {f"page {p} p95_ms": pct(v, 95) for p, v in per_page.items()}
    summary["worst_p95_ms"] = max(pct(v, 95) for v in per_query.values())
    summary["worst_query"] = max(per_query, key=lambda n: pct(per_query[n], 95))
    summary["worst_page_p95_ms"] = max(pct(v, 95) for v in per_page.values())  # guard included
    summary["guard_p50_ms"], summary["guard_p95_ms"] = pct(guard, 50), pct(guard, 95)
    return summary


_ENGINE: dict = {}


def measure(data_dir: Path, size: int, repeats: int) -> dict:
    """Grow the generated store to `size` touches (one engine per process: the same directory each time)."""
    from sinks.client import engine_reader_client, writer_client
    from sinks.migrate import migrate

    if not _ENGINE:
        settings = Settings(data_dir=data_dir, database="pulse")
        client = writer_client(settings)
        migrate(client, settings)
        for sql in (_REGISTRY, _CONTACTS, _PROGRAMS):
            client.command(sql.format(db="pulse", accounts=ACCOUNTS, contacts=CONTACTS))
        reader = engine_reader_client(settings)
        reader.database = "pulse"
        parser = engine_reader_client(settings.replace(query_max_result_rows=0, query_max_result_bytes=0))
        parser.database = "pulse"
        _ENGINE.update(client=client, reader=reader, parser=parser, rows=0)
    client, reader, parser = _ENGINE["client"], _ENGINE["reader"], _ENGINE["parser"]
    started = time.perf_counter()
    generate(client, "pulse", _ENGINE["rows"], size - _ENGINE["rows"])
    _ENGINE["rows"] = size
    generated_s = time.perf_counter() - started
    stored = client.query("SELECT count() FROM pulse.touches").result_rows[0][0]
    engagement_rows = client.query("SELECT count() FROM pulse.engagement_daily").result_rows[0][0]
    # the worker's stage evaluation fills the snapshot the account lists read: time it too
    from datetime import datetime, timezone

    from sinks.store import Store
    from streams import stages

    started = time.perf_counter()
    stages.refresh(Store(client, "pulse"), datetime.now(timezone.utc))
    evaluation_s = time.perf_counter() - started
    from pulse.bench.reports import time_refreshes

    refreshed = time_refreshes(client, "pulse")  # the summary reports some pages read, computed on this store
    # the most active account: the Account page's worst case
    account = client.query("SELECT account_id FROM pulse.engagement_daily WHERE account_id != '' "
                           "GROUP BY account_id ORDER BY sum(touches) DESC LIMIT 1").result_rows[0][0]
    return {"touches": stored, "engagement_rows": engagement_rows, "generate_s": generated_s,
            "snapshot_evaluation_s": evaluation_s, "report_refresh_worst_s": refreshed["report_refresh_worst_s"],
            "report_refresh_worst": refreshed["report_refresh_worst"],
            **time_pages(reader, parser, account, repeats)}
