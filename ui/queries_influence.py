"""The Influence page's SQL, as named constants against the documented views of
sinks/migrations/0600_influence_views.sql (ui/queries.py holds the other pages')."""
from __future__ import annotations

# The summary reports (0900_reports.sql) the page reads: both of its views.
INFLUENCE_REPORTS = ("engagement_influence", "program_attribution")

# Closed opportunities of the last 365 days by how engaged their account was in the 90 days before each was
# created: q1..q4 (q4 the most engaged quarter), then engaged (>= 10 minutes) and not engaged; 6 rows.
INFLUENCE_SEGMENTS = """
SELECT segment, opportunities, won, win_rate, avg_deal_size, avg_cycle_days, min_minutes, max_minutes
FROM engagement_influence
"""

# One attribution model and period: every program, the most attributed pipeline first.
PROGRAM_ATTRIBUTION = """
SELECT program_id, name, attributed_pipeline, attributed_revenue, influenced_opportunities, influenced_pipeline,
       sourced_pipeline, cost, roi
FROM program_attribution
WHERE model = %(model)s AND period = %(period)s
ORDER BY attributed_pipeline DESC, influenced_pipeline DESC, program_id
"""

