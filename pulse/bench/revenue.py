"""Revenue view latency (issue 15): 100,000 accounts, 1,000,000 opportunity snapshots, 10M touches.

The store is generated in SQL inside the engine, as for the queries section (pulse/bench/queries.py,
whose registry and touch generator it reuses, in a database of its own in the same engine directory:
one engine per process). Opportunities get four snapshots each (three open stages, then won, lost or
still open), inserted through the table the worker writes, so the state tables of
0017_opportunity_state.sql fill as they do in production. Then each revenue view is timed on a
read-only session, as the SQL endpoint and the dashboard run it.
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from pulse.bench.reports import time_refreshes
from schemas.settings import Settings

DATABASE = "revenue"
SNAPSHOTS_PER_OPPORTUNITY = 4

# Snapshot k (0..3) of opportunity `o`: created within two years, a step of up to 20 days between
# snapshots, the last one closed won (40 %), closed lost (30 %) or still open; one in 50 on an
# account that is not registered.
_OPPORTUNITIES = """
INSERT INTO {db}.opportunity_snapshots
SELECT generateUUIDv4(number) AS event_id, concat('opp-', toString(o)) AS opportunity_id,
       if(o % 50 = 0, concat('ghost-', toString(o % 1000)), concat('a', toString(o % {accounts}))) AS account_id,
       least(now64(3), created_at + toIntervalSecond(k * (cityHash64(o, 3) % (20 * 86400)))) AS occurred_at,
       now64(3) AS received_at,
       if(k < 3, ['Prospecting', 'Qualification', 'Proposal'][k + 1],
          multiIf(fate < 4, 'Closed Won', fate < 7, 'Closed Lost', 'Negotiation')) AS stage,
       k = 3 AND fate < 7 AS is_closed, k = 3 AND fate < 4 AS is_won,
       toDecimal64(1000 + cityHash64(o, 4) % 100000, 2) AS amount, 'USD' AS currency,
       now64(3) - toIntervalSecond(cityHash64(o, 1) % (730 * 86400)) AS created_at,
       if(is_closed, toDate(occurred_at), toDate(created_at) + 90) AS close_date,
       concat('Deal ', toString(o)) AS name, concat('rep', toString(o % 25)) AS owner,
       ['marketing', 'sales', 'partner'][1 + cityHash64(o, 5) % 3] AS source,
       multiIf(cityHash64(o, 6) % 10 < 2, 'renewal', cityHash64(o, 6) % 10 < 3, 'expansion', 'new_business') AS type,
       concat('cmp-', toString(cityHash64(o, 7) % 20)) AS program_id,
       if(is_closed, NULL, toNullable(toUInt8([10, 25, 50, 75][k + 1]))) AS probability,
       '' AS payload, 'gen' AS writer
FROM (SELECT number, intDiv(number, {per}) AS o, number % {per} AS k, cityHash64(o, 2) % 10 AS fate
      FROM numbers({snapshots}))
"""
# The reports among the revenue views (0900_reports.sql): computed before their reads are timed.
REPORTS = ("revenue_summary", "open_pipeline_by_stage", "sales_velocity", "revenue_monthly", "account_journey",
           "engagement_influence", "program_attribution")
QUERIES = {
    "revenue_summary": "SELECT * FROM revenue_summary",
    "sales_velocity": "SELECT * FROM sales_velocity",
    "open_pipeline_by_stage": "SELECT * FROM open_pipeline_by_stage",
    "revenue_monthly": "SELECT * FROM revenue_monthly",
    "account_opportunities": "SELECT * FROM opportunities WHERE account_id = 'a1'",
    "engagement_influence": "SELECT * FROM engagement_influence",
    "program_attribution": "SELECT * FROM program_attribution",
}


def generate(client, accounts: int, snapshots: int, touches: int, db: str = DATABASE) -> None:
    from pulse.bench import queries as q

    for sql in (q._REGISTRY, q._CONTACTS, q._PROGRAMS):
        client.command(sql.format(db=db, accounts=accounts, contacts=min(q.CONTACTS, 10 * accounts)))
    client.command(_OPPORTUNITIES.format(db=db, accounts=accounts, per=SNAPSHOTS_PER_OPPORTUNITY,
                                         snapshots=snapshots))
    q.generate(client, db, 0, touches)


def time_queries(reader, repeats: int) -> dict:
    def pct(values, p):
        return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]

    from clickhouse_connect.driver.exceptions import DatabaseError

    out, failed = {}, []
    for name, sql in QUERIES.items():
        timings = []
        try:
            reader.query(sql)  # the first run compiles and loads marks: a dashboard refresh runs them warm
            for _ in range(repeats):
                started = time.perf_counter()
                reader.query(sql)
                timings.append((time.perf_counter() - started) * 1000)
        except DatabaseError as exc:  # over the reader's limits (PULSE_QUERY_TIMEOUT_S): what the page shows
            failed.append(f"{name}: {str(exc).splitlines()[0][:160]}")
            continue
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = pct(timings, 50), pct(timings, 95)
    timed = [n for n in QUERIES if f"{n}_p95_ms" in out]
    worst = max(timed, key=lambda n: out[f"{n}_p95_ms"]) if timed else ""
    return out | {"worst_p95_ms": out[f"{worst}_p95_ms"] if worst else None, "worst_query": worst, "failed": failed}


def measure(data_dir: Path, accounts: int, snapshots: int, touches: int, repeats: int) -> dict:
    """Generate the store in `data_dir` (the queries section's engine directory) and time the views."""
    from sinks.client import engine_reader_client, writer_client
    from sinks.migrate import migrate

    settings = Settings(data_dir=data_dir, database=DATABASE)
    client = writer_client(settings)
    migrate(client, settings)
    started = time.perf_counter()
    generate(client, accounts, snapshots, touches)
    generated_s = time.perf_counter() - started
    refreshed = time_refreshes(client, DATABASE, REPORTS)  # fills the reports the views answer from
    reader = engine_reader_client(settings)
    reader.database = DATABASE
    count = lambda sql: client.query(sql).result_rows[0][0]  # noqa: E731
    return {"accounts": accounts, "snapshots": count(f"SELECT count() FROM {DATABASE}.opportunity_snapshots"),
            "opportunities": count(f"SELECT count() FROM {DATABASE}.opportunities"),
            "touches": count(f"SELECT count() FROM {DATABASE}.touches"), "generate_s": generated_s,
            **refreshed, **time_queries(reader, repeats)}
