"""Reading the summary reports (sinks/migrations/0900_reports.sql) from a running worker: each answers from a
result the engine recomputes every PULSE_REPORT_REFRESH_SECONDS, so a test that has just seen its data land
waits for a refresh that started after that before comparing a report with its expected rows."""
from __future__ import annotations

from conftest import sql_rows, wait_until
from schemas.settings import Settings

# What a system test that reads reports gives its worker: a refresh of all 18 reports costs about 1.5 s of CPU
# on a small store, so not less; the default (60 s) would leave such a test waiting a minute per comparison.
REFRESH_SECONDS = 3

STATE = "SELECT report, toUnixTimestamp(refreshed_at), error FROM report_refreshes ORDER BY report"


def refreshed_after_now(settings: Settings, *reports: str, timeout: float = 60) -> None:
    """Return once every report named has been recomputed by a refresh that started after this call, so
    it holds everything stored before the call; fail with the reports' refresh state if one has not.

    report_refreshes.refreshed_at (when the refresh started) has whole seconds: a refresh counts when it
    started in a later second than the engine's clock read here, hence after this call."""
    since = sql_rows(settings, "SELECT toUnixTimestamp(now())")[0][0]
    seen: dict[str, tuple] = {}

    def done() -> bool:
        seen.clear()
        seen.update((report, (at, error)) for report, at, error in sql_rows(settings, STATE) if report in reports)
        return len(seen) == len(reports) and all(at is not None and at > since for at, _ in seen.values())

    try:
        wait_until(done, timeout, 0.5, what=f"a refresh of {', '.join(reports)} after {since} (unix time)")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; report -> (refreshed_at, error): {seen}") from None
