"""The dashboard's revenue queries, as named constants: the Revenue page, the Overview's quarter tiles
and the Account page's opportunities (views of sinks/migrations/0400_revenue_views.sql). ui/queries.py
re-exports them, so `pulse bench` finds every page's queries in one place (queries.PAGES)."""
from __future__ import annotations

# The summary reports (0900_reports.sql) the Revenue page reads: REVENUE_PERIODS, OPEN_PIPELINE, MONTHLY_GOALS,
# SALES_VELOCITY (revenue_goals, of GOALS_THIS_MONTH, is computed when read).
REVENUE_REPORTS = ("revenue_summary", "open_pipeline_by_stage", "revenue_monthly", "sales_velocity")

# Whether any opportunity has arrived (the page's empty state); the table without FINAL: a count only.
OPPORTUNITY_COUNT = "SELECT count() AS snapshots FROM opportunity_snapshots"

# This month, quarter and year side by side, for one audience (`target` or `all`).
REVENUE_PERIODS = """
SELECT period, pipeline_created_count, pipeline_created_amount, won_count, won_amount, lost_count, win_rate,
       avg_deal_size, avg_cycle_days, median_cycle_days, new_customers, spend, cac
FROM revenue_summary
WHERE audience = %(audience)s AND period IN ('mtd', 'qtd', 'ytd')
"""

# Open opportunities per stage, the likeliest last (a funnel; the CRM's stages are free text).
OPEN_PIPELINE = """
SELECT stage, open_count, open_amount, weighted_open_amount, without_probability, avg_probability
FROM open_pipeline_by_stage
WHERE audience = %(audience)s
ORDER BY isNull(avg_probability) DESC, avg_probability, open_amount DESC, stage
"""

SALES_VELOCITY = """
SELECT open_count, open_amount, weighted_open_amount, win_rate_365d, avg_deal_size_365d, avg_cycle_days_365d,
       velocity_per_day, retention_365d, renewals_won, renewals_closed, won_customers_365d,
       revenue_per_customer_year, lifetime_years, cac_365d, clv
FROM sales_velocity
"""

# Whether any goal was imported (the goals chart's empty state).
GOAL_COUNT = "SELECT count() AS goals FROM goals"

# Pipeline created, won revenue and new customers in each of the 12 months from %(since)s (the first of a
# month, reporting time zone), each with its goal where one was imported (NULL otherwise: the goals are
# Nullable, so the join's default for a month without one is NULL; readers may not set join_use_nulls).
MONTHLY_GOALS = """
SELECT c.month AS month, m.pipeline_created_amount AS pipeline_created_amount, m.won_amount AS won_amount,
       m.new_customers AS new_customers,
       g.pipeline_goal AS pipeline_goal, g.won_goal AS won_goal, g.customers_goal AS customers_goal
FROM (SELECT addMonths(toDate(%(since)s), toInt32(arrayJoin(range(12)))) AS month) AS c
LEFT JOIN revenue_monthly AS m ON m.month = c.month
LEFT JOIN
(
    SELECT month,
           anyIf(toNullable(target), metric = 'pipeline_created_amount') AS pipeline_goal,
           anyIf(toNullable(target), metric = 'won_amount') AS won_goal,
           anyIf(toNullable(target), metric = 'new_customers') AS customers_goal
    FROM goals FINAL GROUP BY month
) AS g ON g.month = c.month
ORDER BY month
"""

# This month's goals: actual against target and the month-to-date pace.
GOALS_THIS_MONTH = """
SELECT metric, target, actual, expected_to_date, pace, attainment, elapsed_days, days_in_month
FROM revenue_goals
WHERE month = %(month)s
ORDER BY indexOf(['won_amount', 'pipeline_created_amount', 'new_customers'], metric)
"""

# The Overview's revenue tiles: this quarter, target accounts.
QUARTER_REVENUE = """
SELECT pipeline_created_count, pipeline_created_amount, won_count, won_amount
FROM revenue_summary
WHERE period = 'qtd' AND audience = 'target'
"""

# One account's opportunities, the open ones first, then the latest closed: the opportunities view, which reads
# the kept latest snapshot of each (opportunity_latest, 0018_opportunity_latest.sql), never every snapshot.
ACCOUNT_OPPORTUNITIES = """
SELECT opportunity_id, name, stage, multiIf(is_won, 'won', is_closed, 'lost', 'open') AS status, amount,
       type, created_at, close_date, owner, probability, cycle_days
FROM opportunities
WHERE account_id = %(account)s
ORDER BY is_closed, close_date DESC, opportunity_id
"""

# The stage history of those same opportunities: the ones the kept state puts at the account now (one moved
# here by the CRM brings its whole history; one moved away takes it along), not every snapshot ever there.
ACCOUNT_OPPORTUNITY_STAGES = """
SELECT opportunity_id, stage, entered_at, left_at, days_in_stage
FROM opportunity_stages
WHERE opportunity_id IN (SELECT opportunity_id FROM opportunity_latest FINAL WHERE account_id = %(account)s)
ORDER BY opportunity_id, entered_at
"""
