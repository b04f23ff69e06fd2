"""`pulse spend import` and `pulse goals import` into a running worker, through the broker: the rows
reach revenue_summary (spend, cac), sales_velocity (clv) and revenue_goals; the bad rows are named
(line, every field) and dead-lettered; a later import of a month and category wins."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import ROOT, env_for, sql_rows, wait_until
from report_helpers import REFRESH_SECONDS, refreshed_after_now
from ui_fixtures import dashboard, texts  # noqa: F401  (fixture)

TODAY = datetime.now(timezone.utc).date()
MONTH = TODAY.strftime("%Y-%m")
ACCOUNTS = ("account_id,name,domains,ip_ranges,tier,target,committee_size,owner\n"
            "acme,Acme,acme.example,,1,true,,\nbeta,Beta,beta.example,,2,true,,\n")
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
OPPORTUNITIES = ("opportunity_id,account_id,stage,amount,created_at,close_date,is_closed,is_won\n"
                 f"A,acme,Closed Won,1200.00,{YESTERDAY}T09:00:00+00:00,{TODAY},true,true\n"
                 f"B,beta,Closed Won,800.00,{YESTERDAY}T09:00:00+00:00,{TODAY},true,true\n")
SPEND = (f"month,category,amount\n{MONTH},salaries,900.00\n{MONTH},tools,100.50\n"
         "2026-13,=cmd|' /C calc'!A0,-3\n")
# The summary reports the Revenue page reads (revenue_goals is computed when read)
REVENUE_REPORTS = ("revenue_summary", "open_pipeline_by_stage", "revenue_monthly", "sales_velocity")
GOALS = f"month,metric,target\n{MONTH},won_amount,4000\n{MONTH},new_customers,1.5\n{MONTH},won_amount,1\n"


def pulse(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulse.cli", *args], env=env_for(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def spend_mtd(settings) -> Decimal:
    """The month's spend as stored (reporting_spend is read live), before the reports compute it."""
    return sql_rows(settings, "SELECT spend FROM reporting_spend WHERE period = 'mtd'")[0][0]


def summary(settings) -> list[tuple]:
    return sql_rows(settings, "SELECT audience, spend, new_customers, cac FROM revenue_summary "
                              "WHERE period = 'mtd' ORDER BY audience")


def test_spend_and_goals_reach_the_views_through_the_broker(settings, start, tmp_path, dashboard):
    settings = settings.replace(report_refresh_seconds=REFRESH_SECONDS)
    start("worker", settings)
    assert pulse(settings, "accounts", "import", write(tmp_path, "accounts.csv", ACCOUNTS)).returncode == 0
    assert pulse(settings, "opportunities", "import", write(tmp_path, "opps.csv", OPPORTUNITIES)).returncode == 0
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM opportunities") == [(2,)], 60, what="2 opportunities")
    refreshed_after_now(settings, *REVENUE_REPORTS)
    # opportunities but no goals yet: the Revenue page says how to import them
    at = dashboard(settings, "revenue")
    assert "No goals yet" in texts(at) and "pulse goals import goals.csv" in texts(at)
    assert "No spend in these periods" in texts(at) and "pulse spend import spend.csv" in texts(at)

    spend_csv = write(tmp_path, "spend.csv", SPEND)
    result = pulse(settings, "spend", "import", spend_csv)
    assert result.returncode == 1 and "spend: 2 rows sent, 1 rejected" in result.stdout, result
    assert f"{spend_csv}:4: month: '2026-13' is not a month" in result.stderr
    assert "category: starts with '='" in result.stderr and "amount: '-3' is negative" in result.stderr

    goals_csv = write(tmp_path, "goals.csv", GOALS)
    result = pulse(settings, "goals", "import", goals_csv)
    assert result.returncode == 1 and "goals: 1 rows sent, 2 rejected" in result.stdout, result
    assert f"{goals_csv}:3: target: '1.5': a number of customers is a whole number" in result.stderr
    assert f"{goals_csv}:4: metric: " in result.stderr and "is also on line 2" in result.stderr

    # 1000.50 of spend, two new customers (acme and beta, both target accounts): CAC 500.25
    expected = [("all", Decimal("1000.50"), 2, Decimal("500.25")), ("target", Decimal("1000.50"), 2, Decimal("500.25"))]
    wait_until(lambda: spend_mtd(settings) == Decimal("1000.50"), 60, what="the spend stored")
    refreshed_after_now(settings, *REVENUE_REPORTS)
    assert summary(settings) == expected
    goal = wait_until(lambda: sql_rows(settings, "SELECT month, metric, target, actual FROM revenue_goals"), 60,
                      what="the goal stored")
    assert goal == [(TODAY.replace(day=1), "won_amount", Decimal("4000.00"), Decimal("2000.00"))]
    # CLV: 2000 / 2 customers x 3 years (no renewal closed) - 500.25
    assert sql_rows(settings, "SELECT lifetime_years, clv FROM sales_velocity") == [(Decimal("3.00"),
                                                                                     Decimal("2499.75"))]
    at = dashboard(settings, "revenue")
    assert "No goals yet" not in texts(at) and "No spend in these periods" not in texts(at)
    assert [m.value for m in at.metric if m.label == "Won revenue · goal $4,000.00"] == ["$2,000.00"]
    assert [m.value for m in at.metric if m.label == "CAC, MTD"] == ["$500.25"]
    rejected = wait_until(lambda: r if len(r := sql_rows(settings, "SELECT source, reasons FROM rejected_events "
                                                           "FINAL")) == 3 else None, 60, what="3 rows dead-lettered")
    assert sorted((s, sorted(e["field"] for e in json.loads(r))) for s, r in rejected) == [
        ("goals import", ["$line", "metric"]), ("goals import", ["$line", "target"]),
        ("spend import", ["$line", "amount", "category", "month"])]

    # a later import of the month's tools replaces that row only; importing it again changes nothing more
    again = write(tmp_path, "spend-2.csv", f"month,category,amount\n{MONTH},tools,300.00\n")
    assert pulse(settings, "spend", "import", again).returncode == 0
    assert pulse(settings, "spend", "import", again).returncode == 0
    expected = [("all", Decimal("1200.00"), 2, Decimal("600.00")), ("target", Decimal("1200.00"), 2, Decimal("600.00"))]
    wait_until(lambda: spend_mtd(settings) == Decimal("1200.00"), 60, what="the later import stored")
    refreshed_after_now(settings, "revenue_summary")
    assert summary(settings) == expected


def test_files_that_cannot_be_read_are_refused_in_one_line_and_nothing_is_sent(settings, tmp_path):
    cases = {  # (command, file content, what stderr says); nothing of them is imported
        "empty.csv": ("spend", b"", "the file is empty"),
        "header.csv": ("goals", b"month,metric,target\n", "only a header row"),
        "twice.csv": ("spend", b"month,category,amount,Amount\n2026-01,x,1,2\n", "'amount' appears twice"),
        "missing.csv": ("goals", b"month,target\n2026-01,5\n", "missing: metric"),
        "latin1.csv": ("spend", "month,category,amount\n2026-01,caf\u00e9,1\n".encode("latin-1"), "--encoding"),
        "utf16.csv": ("goals", "month,metric,target\n".encode("utf-16"), "not utf-8-sig"),
        "nul.csv": ("spend", b"month,category,amount\n2026-01,a\x00b,1\n", "nul.csv:2: category: holds control"),
    }
    for name, (kind, content, says) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = pulse(settings, kind, "import", str(path))
        assert result.returncode == 1 and says in result.stderr and "Traceback" not in result.stderr, (name, result)
    assert pulse(settings, "spend", "import", str(tmp_path / "nowhere.csv")).stderr.endswith("does not exist\n")
