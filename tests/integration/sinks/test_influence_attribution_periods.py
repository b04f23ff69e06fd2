"""program_attribution (0600_influence_views.sql: attribution_credits read once, each opportunity under the latest
period start on or before its day, influenced and sourced counted once per program and opportunity) against the
straightforward computation over attribution_credits: every credit row joined to every period it falls in, then
grouped per program, model, period and opportunity. Random histories (late snapshots, every period boundary) and
random program successes, several per program and account, on accounts with and without opportunities."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from revenue_random import TODAY, boundary_days, history, insert_shuffled
from schemas.rows import TouchRow
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter

STRAIGHTFORWARD = """
SELECT g.program_id, g.model, g.period, toDecimal128(ifNull(c.pipeline, 0), 2), toDecimal128(ifNull(c.revenue, 0), 2),
       ifNull(c.influenced, 0), toDecimal128(ifNull(c.amount, 0), 2), toDecimal128(ifNull(c.sourced, 0), 2)
FROM (SELECT DISTINCT program_id, model, period FROM {db}.program_attribution) AS g
LEFT JOIN
(
    SELECT program_id, model, period, sum(credit) AS pipeline, sumIf(credit, is_won) AS revenue, count() AS influenced,
           sum(opportunity_amount) AS amount, sumIf(opportunity_amount, first_is_program) AS sourced
    FROM
    (
        SELECT c.program_id AS program_id, c.model AS model, p.period AS period, c.opportunity_id AS opportunity_id,
               sum(c.credit) AS credit, any(c.amount) AS opportunity_amount, any(c.is_won) AS is_won,
               max(c.position = 1 AND c.source = 'marketing') AS first_is_program
        FROM {db}.attribution_credits AS c CROSS JOIN {db}.reporting_periods AS p
        WHERE toDate(c.created_at, 'UTC') BETWEEN p.start AND toDate(now(), 'UTC')
        GROUP BY program_id, model, period, opportunity_id
    )
    GROUP BY program_id, model, period
) AS c ON c.program_id = g.program_id AND c.model = g.model AND c.period = g.period
SETTINGS join_use_nulls = 1
"""
VIEW = """
SELECT program_id, model, period, attributed_pipeline, attributed_revenue, influenced_opportunities,
       influenced_pipeline, sourced_pipeline
FROM {db}.program_attribution
"""


def successes(rng: random.Random, n: int) -> list[TouchRow]:
    # within the retention (13 months): older touches leave touches and program_successes by TTL, each table
    # at its own merge, so they would come and go between two reads
    days = [d for d in boundary_days() if d > TODAY - timedelta(days=380)]
    rows = []
    for _ in range(n):
        day = rng.choice(days + [TODAY - timedelta(days=rng.randint(0, 380))])
        at = datetime.combine(day, time(rng.randint(0, 23), rng.choice([0, 30])), timezone.utc)
        account = rng.choice(["t-1", "t-2", "n-1", "n-2", "ghost", "late", "none"])
        rows.append(TouchRow(uuid.UUID(int=rng.getrandbits(128)), "email_click", at, at, day, account, "p@x.example",
                             "contact", "email", rng.choice(["p1", "p2", "p3", "p4"]), Decimal(1), Decimal(1),
                             rng.choice([1, 1, 1, 0]), "p@x.example", "", "", "", "{}"))
    return rows


@pytest.mark.parametrize("seed", [5, 6])
def test_program_attribution_equals_the_per_period_computation(engine, seed):
    client, settings = engine
    db, rng = settings.database, random.Random(seed)
    insert_shuffled(client, db, rng, history(rng, 40, 3))
    writer = ClickHouseWriter(client, db, "w-attribution")
    writer.start()
    writer.write(successes(rng, 400))
    refresh_reports(client, db, only=("program_attribution",))  # STRAIGHTFORWARD takes its groups from it too
    expected = sorted(client.query(STRAIGHTFORWARD.format(db=db)).result_rows)
    # the opportunities fall in several periods, with touchpoints of one program more than once
    assert len({r[2] for r in expected if r[5] > 0}) == 5 and any(r[5] > 0 and r[7] > 0 for r in expected)
    assert client.query(f"SELECT max(n) FROM (SELECT count() AS n FROM {db}.attribution_credits WHERE model = "
                        f"'linear' GROUP BY opportunity_id, program_id)").result_rows[0][0] > 1
    assert sorted(client.query(VIEW.format(db=db)).result_rows) == expected
