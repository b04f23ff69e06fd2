"""The dashboard's lifecycle-funnel queries, as named constants: the Funnel page and the Account page's
people stages (views of sinks/migrations/0500_funnel_views.sql)."""
from __future__ import annotations

# The summary reports (0900_reports.sql) the Funnel page reads: FUNNEL_COUNTS, FUNNEL_STEPS and the split by source.
FUNNEL_REPORTS = ("funnel_counts", "funnel_conversion")

# Whether any lifecycle change has arrived (the page's empty state); the table without FINAL: a count only.
LIFECYCLE_COUNT = "SELECT count() AS changes FROM lifecycle_changes"

# The sources the split offers: every source a change named (people of none are in `all`), read from the table
# (a source only ever named by a later change is offered and shows zeros: the split is by the first change).
FUNNEL_SOURCES = "SELECT DISTINCT source FROM lifecycle_changes WHERE source != '' ORDER BY source"

# Period counts of every stage and period, for one source (`all` or one source), the visit-to-lead rate on lead.
FUNNEL_COUNTS = """
SELECT period, position, stage, reached, visitors, visit_to_lead_rate
FROM funnel_counts
WHERE source = %(source)s
ORDER BY period, position
"""

# Cohort conversion and time in stage of every step and period, for one source.
FUNNEL_STEPS = """
SELECT period, from_stage, to_stage, next_step, entered, converted, conversion_rate, moved_on, avg_days, median_days
FROM funnel_conversion
WHERE source = %(source)s
"""

# Each source side by side in one period: the period counts and the cohort conversion from lead.
FUNNEL_BY_SOURCE_COUNTS = """
SELECT source, stage, reached FROM funnel_counts WHERE period = %(period)s AND source != 'all'
"""
FUNNEL_BY_SOURCE_STEPS = """
SELECT source, from_stage, to_stage, next_step, entered, converted, conversion_rate
FROM funnel_conversion
WHERE period = %(period)s AND source != 'all'
"""

# The current lifecycle stage of the people of one account's people table (account_people's person is the
# email when known): the latest change of each, as person_lifecycle says, for those people only.
ACCOUNT_PEOPLE_STAGES = """
SELECT email AS person, argMax(stage, (occurred_at, toString(event_id))) AS lifecycle_stage
FROM lifecycle_changes FINAL
WHERE email IN (SELECT person FROM account_people WHERE account_id = %(account)s)
GROUP BY email
"""
