"""The "as of" line of the summary reports (ui.format.reports_caption): pure formatting of report_refreshes rows."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from ui.format import every, reports_caption, reports_help

NOW = datetime(2026, 12, 2, 18, 43, 0, tzinfo=timezone.utc)
PAGE = ("revenue_summary", "sales_velocity")


def row(report: str, refreshed_at, error: str = "") -> dict:
    return {"report": report, "refreshed_at": refreshed_at, "error": error}


@pytest.mark.parametrize("rows, caption", [
    # the oldest report names the page's time (naive = UTC, as the engine answers; aware is converted)
    ([row("revenue_summary", pd.Timestamp("2026-12-02 18:42:05")),
      row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07"))],
     "Figures as of 18:42:05 UTC (recomputed every 60 s)"),
    ([row("revenue_summary", pd.Timestamp("2026-12-02 19:42:09", tz="Europe/Berlin")),
      row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07"))],
     "Figures as of 18:42:07 UTC (recomputed every 60 s)"),
    # another day than today: the date too (a report failing since yesterday)
    ([row("revenue_summary", pd.Timestamp("2026-12-01 23:59:59")),
      row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07"))],
     "Figures as of 1 Dec 23:59:59 UTC (recomputed every 60 s)"),
    # one not computed yet (NULL comes as NaT, or None), or no row for it at all
    ([row("revenue_summary", pd.NaT), row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07"))],
     "Computing the first figures…"),
    ([row("revenue_summary", None), row("sales_velocity", None)], "Computing the first figures…"),
    ([row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07"))], "Computing the first figures…"),
    # a report of another page does not count
    ([row("revenue_summary", pd.Timestamp("2026-12-02 18:42:05")),
      row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07")), row("funnel_counts", pd.NaT)],
     "Figures as of 18:42:05 UTC (recomputed every 60 s)"),
])
def test_caption(rows, caption):
    assert reports_caption(rows, PAGE, 60, NOW) == (caption, [])


def test_a_failed_refresh_is_named_with_its_error_and_the_time_still_shown():
    rows = [row("revenue_summary", pd.Timestamp("2026-12-02 18:41:05"),
                "Code: 241. DB::Exception: Memory limit exceeded\nStack trace: ..."),
            row("sales_velocity", pd.NaT, "Code: 47. Unknown identifier x")]
    caption, warnings = reports_caption(rows, PAGE, 60, NOW)
    assert caption == "Computing the first figures…"
    assert warnings == [
        "The report revenue_summary could not be recomputed: Code: 241. DB::Exception: Memory limit exceeded. "
        "It still shows its figures as of 18:41:05 UTC.",
        "The report sales_velocity could not be computed yet: Code: 47. Unknown identifier x"]


def test_a_failed_refresh_keeps_the_previous_time_in_the_caption():
    rows = [row("revenue_summary", pd.Timestamp("2026-12-02 18:41:05"), "timeout"),
            row("sales_velocity", pd.Timestamp("2026-12-02 18:42:07"))]
    caption, warnings = reports_caption(rows, PAGE, 300, NOW)
    assert caption == "Figures as of 18:41:05 UTC (recomputed every 5 min)"
    assert len(warnings) == 1 and "revenue_summary" in warnings[0] and "timeout" in warnings[0]


@pytest.mark.parametrize("seconds, text", [(1, "1 s"), (60, "60 s"), (90, "90 s"), (120, "2 min"), (300, "5 min"),
                                           (3600, "1 h"), (5400, "90 min"), (86400, "24 h")])
def test_every(seconds, text):
    assert every(seconds) == text


def test_help_names_the_reports_and_the_definition():
    text = reports_help(PAGE, 60)
    assert "`revenue_summary`, `sales_velocity`" in text and "every 60 s" in text
    assert "exact as of" in text and "oldest" in text
