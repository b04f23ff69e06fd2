"""How long each summary report takes to compute on a bench store (sinks/migrations/0900_reports.sql).

A report's view answers from its latest result, so its read time is what the dashboard waits for, and its
compute time is how stale it can be: at most PULSE_REPORT_REFRESH_SECONDS plus one computation. The sections
that time the reports' reads call this first, which also fills them from the store just generated."""
from __future__ import annotations

import time

from sinks.reports import refresh_reports, report_views


_DURATION = "SELECT refresh_ms / 1000 FROM {db}.report_refreshes WHERE report = %(report)s"


def time_refreshes(client, database: str, only: tuple[str, ...] = ()) -> dict:
    """Compute each report (or those in `only`) now, one after the other; seconds per report, and the worst."""
    names = [v.removesuffix("_report") for v in report_views(client, database)]
    names = [n for n in names if not only or n in only]
    out = {}
    for name in names:
        started = time.perf_counter()
        refresh_reports(client, database, only=(name,))
        # the wall time includes waiting for a scheduled refresh already running; the engine's own duration
        # of the refresh asked for is what the report costs
        out[f"refresh {name} s"] = round(time.perf_counter() - started, 3)
        duration = client.query(_DURATION.format(db=database), parameters={"report": name})
        out[f"refresh {name} engine s"] = duration.result_rows[0][0]
    worst = max(names, key=lambda n: out[f"refresh {n} engine s"]) if names else ""
    return out | {"report_refresh_worst_s": out.get(f"refresh {worst} engine s"), "report_refresh_worst": worst,
                  "report_refresh_total_s": round(sum(out[f"refresh {n} engine s"] for n in names), 3)}
