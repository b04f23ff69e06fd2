"""The summary reports (sinks/migrations/0900_reports.sql): views answered from a result the engine recomputes
in the background every PULSE_REPORT_REFRESH_SECONDS. Here: computing them now, for what must read them
exact at once (tests, the bench, an erasure that must not wait for the next refresh)."""
from __future__ import annotations

from clickhouse_connect.driver.client import Client

# The reports whose rows name a person (an email or a cookie): an erasure waits until they are computed again.
PERSON_REPORTS = ("person_lifecycle", "lifecycle_history")

# Bound on the client (%(name)s): the shared store's HTTP endpoint (pulse store serve) takes plain SQL.
REPORT_VIEWS = """
SELECT view FROM system.view_refreshes WHERE database = %(database)s ORDER BY view
"""


def report_views(client: Client, database: str) -> list[str]:
    """The reports' refreshable views (`<report>_report`) in the database."""
    return [row[0] for row in client.query(REPORT_VIEWS, parameters={"database": database}).result_rows]


def refresh_reports(client: Client, database: str, wait: bool = True, only: tuple[str, ...] = (),
                    wait_for: tuple[str, ...] = ()) -> list[str]:
    """Start a refresh of every report (or of those named in `only`, e.g. ("revenue_summary",)) now; with wait,
    return once each (or each named in `wait_for`) has completed one that started after this call (a refresh
    already running finishes, then the engine runs the one asked for). A report whose refresh fails raises here,
    with the engine's error."""
    views = [v for v in report_views(client, database) if not only or v.removesuffix("_report") in only]
    if only and len(views) != len(set(only)):
        raise ValueError(f"not a report: {sorted(set(only) - {v.removesuffix('_report') for v in views})}")
    for view in views:
        client.command(f"SYSTEM REFRESH VIEW {database}.{view}")
    if wait:
        for view in views:
            if not wait_for or view.removesuffix("_report") in wait_for:
                client.command(f"SYSTEM WAIT VIEW {database}.{view}")
    return views
