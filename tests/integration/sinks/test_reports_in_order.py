"""The two summary reports with the most groups read their kept copy in its key's order and group as they read
(optimize_aggregation_in_order in the report's own query, 0900_reports.sql): funnel_counts' visitors one person at
a time (page_view_latest by person, 0057), sales_activity_daily a day at a time (sales_touch_latest by time, 0058).
At 100M touches a hash table of every group took 1.7 GB and 2.1 GB (BENCHMARKS.md). The plan is read, not timed:
the numbers themselves are checked against the previous SQL in test_funnel_visitors.py and
test_sales_activity_kept.py."""
from __future__ import annotations

import pytest

from sinks.writer import ClickHouseWriter
from test_funnel_metrics import page_view
from tests.integration.sinks.test_sales_activity_views import NOW, D, call, email_in


def some_touches() -> list:
    """Two page views and two sales touches on different days (an empty table is planned as no read at all)."""
    return [page_view("e0@x.com", 0), page_view("c0", -1, email=False),
            call(NOW - D, "p@x.co", "acme", "ana", "connected"), email_in(NOW - 3 * D, "q@x.co", "acme", "bo")]


@pytest.mark.parametrize("report", ["funnel_counts", "sales_activity_daily"])
def test_the_report_groups_in_the_order_its_rows_are_kept(engine, report):
    client, settings = engine
    db = settings.database
    writer = ClickHouseWriter(client, db, "w-plan")
    writer.start()
    writer.write(some_touches())
    query = client.query(f"SELECT as_select FROM system.tables WHERE database = '{db}' AND name = '{report}_report'"
                         ).result_rows[0][0]
    plan = "\n".join(r[0] for r in client.query(f"EXPLAIN PIPELINE {query}").result_rows)
    assert "AggregatingInOrderTransform" in plan, plan
