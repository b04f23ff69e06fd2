"""The summary reports' refresh state (report_refreshes, sinks/migrations/0900_reports.sql) as the dashboard
reads it; ui/queries.py re-exports these, so `pulse bench` finds every page's queries in one place."""
from __future__ import annotations

# When each summary report a page shows was last computed (report_refreshes, 0900_reports.sql), for the
# page's "Figures as of" line (components.reports_as_of): the engine recomputes them in the background, so
# a report's figures are exact as of its refreshed_at, not as of the page's refresh.
REPORTS_AS_OF = """
SELECT report, toTimeZone(refreshed_at, 'UTC') AS refreshed_at, error
FROM report_refreshes
WHERE report IN %(reports)s
"""

# Every summary report: when it was computed, how long that took, when the next starts and the last error.
# Before its first refresh the engine's next time is the epoch plus the interval: no time rather than 1970.
REPORT_REFRESHES = """
SELECT report, status, toTimeZone(refreshed_at, 'UTC') AS refreshed_at, refresh_ms,
       if(next_refresh_at < toDateTime('2000-01-01 00:00:00', 'UTC'), NULL,
          toTimeZone(next_refresh_at, 'UTC')) AS next_refresh_at, error
FROM report_refreshes
ORDER BY report
"""
