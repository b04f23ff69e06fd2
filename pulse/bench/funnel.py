"""Funnel and sales activity latency (issue 16): 1,000,000 people with lifecycle history, 10M touches.

Why these sizes: a serious pulse customer is a B2B company with a HubSpot or Salesforce database of about a
million contacts with a lifecycle stage, of which a few hundred thousand were worked by sales over two years
(1,000,000 people, 3 to 4 stage changes each); 100 reps logging about 40 calls, emails and meetings a working
day for a year give 2,000,000 sales touches among the 10M touches of the queries section's mix.

The store is generated in SQL inside the engine, in a database of its own in the queries section's engine
directory (one engine per process), through the tables the worker writes, so the kept state of the funnel
migrations fills as it does in production. Then every query of the Funnel and Sales activity pages
(ui.queries.PAGES) and each view read whole are timed on a read-only session.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from pulse.bench.reports import time_refreshes
from schemas.settings import Settings

DATABASE = "funnel"
REPS = 100

# Person i: a first change within two years (recent ones likelier), then one change per stage up to the
# furthest reached (subscriber .. evangelist), 0 to 20 days apart; one in four jumps over a stage, one in 20
# also gets an `other`; source and owner from the person.
_CHANGES = """
INSERT INTO {db}.lifecycle_changes
WITH ['subscriber', 'lead', 'mql', 'sql', 'opportunity', 'customer', 'evangelist'] AS stages
SELECT generateUUIDv4(i * 10 + k) AS event_id, concat('p', toString(i), '@acc', toString(i % {accounts}), '.example'),
       if(i % 7 = 0, concat('a', toString(i % {accounts})), '') AS account_id,
       if(k = 8, 'other', stages[k]) AS stage,
       least(now64(3), first_at + toIntervalSecond((k - 1) * (cityHash64(i, 3) % (20 * 86400)))) AS occurred_at,
       now64(3) AS received_at, concat('rep', toString(i % {reps})) AS owner, '' AS lead_status,
       ['marketing', 'sales', 'partner'][1 + cityHash64(i, 4) % 3] AS source, '' AS payload, 'gen' AS writer
FROM
(
    SELECT number AS i, 1 + cityHash64(i, 1) % 2 AS low,
           least(7, low + [0, 1, 1, 2, 2, 2, 3, 4, 5][1 + cityHash64(i, 2) % 9]) AS top,
           now64(3) - toIntervalSecond(toUInt32(pow((cityHash64(i, 5) % 1000000) / 1e6, 1.5) * 730 * 86400)) AS first_at
    FROM numbers({people})
)
ARRAY JOIN arrayConcat(arrayFilter(k -> k = low OR k = top OR cityHash64(i, k) % 4 != 0, range(low, top + 1)),
                       if(i % 20 = 0, [8], [])) AS k
"""
# Sales touch n: call (60 %), outbound or inbound sales_email (30 %), meeting (10 %), at a person of the
# lifecycle history and their account, by one of the reps, within 13 months (the touches kept: PULSE_RETENTION_MONTHS).
_SALES = """
INSERT INTO {db}.touches (event_id, type, occurred_at, received_at, day, account_id, person, method, channel,
                          program_id, minutes, base_minutes, success, email, anonymous_id, ip, url, payload,
                          retracts, prev_account_id, prev_person, prev_minutes, prev_base_minutes, traffic,
                          traffic_reason, writer, batch_seq, version)
SELECT generateUUIDv4(number + 1000000000) AS event_id,
       multiIf(r < 60, 'call', r < 90, 'sales_email', 'meeting') AS type,
       now64(3) - toIntervalSecond(toUInt32(pow(rand(2) / 4294967295., 1.5) * 390 * 86400)) AS occurred_at,
       occurred_at AS received_at, toDate(occurred_at) AS day, concat('a', toString(p % {accounts})) AS account_id,
       concat('p', toString(p), '@acc', toString(p % {accounts}), '.example') AS person, 'contact' AS method,
       if(type = 'sales_email', 'email', type) AS channel, '' AS program_id, toDecimal64(0, 2) AS minutes,
       minutes AS base_minutes, 0 AS success, person AS email, '' AS anonymous_id, '' AS ip, '' AS url,
       concat('{{"rep":"rep', toString(rand(3) % {reps}), '"',
              multiIf(type = 'call', concat(',"direction":"outbound","outcome":"',
                                            ['no_answer', 'voicemail', 'connected', 'conversation', 'meeting_booked'][
                                                1 + rand(4) % 5], '"'),
                      type = 'sales_email', if(rand(5) % 4 = 0, ',"direction":"inbound"', ',"direction":"outbound"'),
                      ''), '}}') AS payload,
       0, '', '', toDecimal64(0, 2), toDecimal64(0, 2), 'person', '', 'gen', 1, 1
FROM (SELECT number, rand(1) % 100 AS r, rand(6) % {people} AS p FROM numbers({sales}))
"""
# Sales' decisions on one target account in three since they became MQA.
_DECISIONS = """
INSERT INTO {db}.account_statuses
SELECT generateUUIDv4(number + 2000000000), concat('a', toString(number * 10)),
       ['accepted', 'rejected', 'not_interested', 'reopened'][1 + number % 4],
       now64(3) - toIntervalSecond(cityHash64(number) % (300 * 86400)), now64(3), 'no budget', 'rep1', '', 'gen'
FROM numbers(intDiv({accounts}, 30))
"""
_MQAS = """
INSERT INTO {db}.stage_changes (change_id, account_id, stage_from, stage_to, changed_at)
SELECT concat('a', toString(number * 10), ':1'), concat('a', toString(number * 10)), 'engaged', 'mqa',
       now64(3) - toIntervalSecond(cityHash64(number) % (300 * 86400) + 86400)
FROM numbers(intDiv({accounts}, 10))
"""
# The reports among the funnel and sales views (0900_reports.sql): computed before their reads are timed.
REPORTS = ("funnel_summary", "funnel_counts", "funnel_conversion", "sales_activity_daily", "sales_activity_summary",
           "sales_coverage", "sla_by_owner", "account_mqa_decisions", "account_acceptance", "person_lifecycle",
           "lifecycle_history")
# Each view read whole, as an analyst's `SELECT *` on the SQL page runs it (besides the pages' queries).
VIEWS = {
    "funnel_counts": "SELECT * FROM funnel_counts",
    "funnel_conversion": "SELECT * FROM funnel_conversion",
    "funnel_summary": "SELECT * FROM funnel_summary",
    "lifecycle_history_one_account": "SELECT * FROM lifecycle_history WHERE account_id = 'a7'",
    "person_lifecycle_one_person": "SELECT * FROM person_lifecycle WHERE email = 'p7@acc7.example'",
    "sales_activity_summary": "SELECT * FROM sales_activity_summary",
    "sales_activity_daily_30d": "SELECT * FROM sales_activity_daily WHERE day > today() - 30",
    "sales_coverage": "SELECT * FROM sales_coverage",
    "sla_by_owner": "SELECT * FROM sla_by_owner",
    "account_acceptance": "SELECT * FROM account_acceptance",
}
PAGES = ("Funnel", "Sales activity")


def generate(client, people: int, sales: int, touches: int, db: str = DATABASE) -> None:
    from pulse.bench import queries as q

    accounts = max(100, people // 10)
    for sql in (q._REGISTRY, q._CONTACTS, q._PROGRAMS):
        client.command(sql.format(db=db, accounts=accounts, contacts=min(q.CONTACTS, 10 * accounts)))
    for sql in (_CHANGES, _SALES, _DECISIONS, _MQAS):
        client.command(sql.format(db=db, accounts=accounts, people=people, sales=sales, reps=REPS))
    q.generate(client, db, 0, touches)  # the engagement mix: page views for the visit-to-lead rate


def _statements() -> dict[str, tuple[str, dict]]:
    """The pages' queries (name -> SQL, parameters), then the views read whole."""
    from ui import queries

    out = {name: (getattr(queries, name), params) for page in PAGES for name, params in queries.PAGES[page]}
    return out | {name: (sql, {}) for name, sql in VIEWS.items()}


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def time_queries(reader, repeats: int) -> dict:
    from clickhouse_connect.driver.exceptions import DatabaseError

    out, failed, per_page = {}, [], {page: 0.0 for page in PAGES}
    for name, (sql, params) in _statements().items():
        timings = []
        try:
            reader.query(sql, parameters=params)  # warm: a dashboard refresh runs them compiled, marks loaded
            for _ in range(repeats):
                started = time.perf_counter()
                reader.query(sql, parameters=params)
                timings.append((time.perf_counter() - started) * 1000)
        except DatabaseError as exc:  # over the reader's limits (PULSE_QUERY_TIMEOUT_S): what the page shows
            failed.append(f"{name}: {str(exc).splitlines()[0][:160]}")
            continue
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = _pct(timings, 50), _pct(timings, 95)
    from ui import queries

    for page in PAGES:  # a page's refresh: the sum of its queries' p95 (an upper bound of the page's p95)
        per_page[page] = sum(out.get(f"{name}_p95_ms", float("inf")) for name, _ in queries.PAGES[page])
    timed = [n for n in _statements() if f"{n}_p95_ms" in out]
    worst = max(timed, key=lambda n: out[f"{n}_p95_ms"]) if timed else ""
    return out | {f"page {p} p95_ms": v for p, v in per_page.items()} | {
        "worst_p95_ms": out[f"{worst}_p95_ms"] if worst else None, "worst_query": worst, "failed": failed}


_COUNTS = """
SELECT (SELECT uniqExact(email) FROM {db}.lifecycle_changes) AS people,
       (SELECT count() FROM {db}.lifecycle_changes) AS lifecycle_changes,
       (SELECT count() FROM {db}.touches WHERE type IN ('call', 'meeting', 'sales_email')) AS sales_touches,
       (SELECT count() FROM {db}.touches) AS touches
"""


def _engine(data_dir: Path):
    """A migrated writer session and a read-only session (as the dashboard's) on the bench's database."""
    from sinks.client import engine_reader_client, writer_client
    from sinks.migrate import migrate

    settings = Settings(data_dir=data_dir, database=DATABASE)
    writer = writer_client(settings)
    migrate(writer, settings)
    reader = engine_reader_client(settings)
    reader.database = DATABASE
    return writer, reader


def measure(data_dir: Path, people: int, sales: int, touches: int, repeats: int) -> dict:
    """Generate the store in `data_dir` (the queries section's engine directory) and time the queries."""
    writer, reader = _engine(data_dir)
    started = time.perf_counter()
    generate(writer, people, sales, touches)
    sizes = next(writer.query(_COUNTS.format(db=DATABASE)).named_results()) | {"generate_s": time.perf_counter() - started}
    return sizes | time_refreshes(writer, DATABASE, REPORTS) | time_queries(reader, repeats)
