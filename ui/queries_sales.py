"""The Sales activity page's queries, as named constants (views of sinks/migrations/0700_sales_activity_views.sql).
Every query takes the reporting period (`mtd`, `qtd`, `ytd`, `90d`, `365d`) as %(period)s."""
from __future__ import annotations

# The summary reports (0900_reports.sql) the page reads: every query below but SALES_ANY; the Account page's
# sales part reads two of them (ACCOUNT_SALES, ACCOUNT_SALES_ACTIVITY).
SALES_REPORTS = ("sales_activity_summary", "sales_activity_daily", "sales_coverage", "account_acceptance",
                 "account_mqa_decisions", "sla_by_owner")
ACCOUNT_SALES_REPORTS = ("sales_coverage", "sales_activity_daily")

# Whether anything sales-side has arrived (the page's empty state): one row of each source at most.
SALES_ANY = """
SELECT (SELECT count() FROM (SELECT 1 FROM touches WHERE type IN ('call', 'meeting', 'sales_email') LIMIT 1))
       + (SELECT count() FROM (SELECT 1 FROM account_statuses LIMIT 1))
       + (SELECT count() FROM (SELECT 1 FROM lifecycle_changes LIMIT 1)) AS sources
"""

# Per rep and `all`: calls, conversations, meetings and the rates.
SALES_SUMMARY = """
SELECT rep, calls, connected_calls, conversations, meetings_booked, meetings_held, emails_out, emails_in,
       target_attempts, call_to_conversation_rate, call_to_meeting_rate, actions_per_target_account_per_day
FROM sales_activity_summary
WHERE period = %(period)s
"""

# Per target account with sales activity in the period, the most called first.
ACCOUNT_ACTIVITY = """
SELECT d.account_id AS account_id, a.name AS account_name, sum(d.calls) AS calls,
       sum(d.conversations) AS conversations, sum(d.meetings_booked) AS meetings_booked,
       sum(d.meetings_held) AS meetings_held, sum(d.emails_out) AS emails_out, sum(d.emails_in) AS emails_in,
       if(calls = 0, NULL, round(conversations / calls, 4)) AS call_to_conversation_rate,
       if(calls = 0, NULL, round(meetings_booked / calls, 4)) AS call_to_meeting_rate
FROM sales_activity_daily AS d
INNER JOIN (SELECT account_id, name FROM accounts FINAL WHERE is_target = 1) AS a ON a.account_id = d.account_id
WHERE d.day >= (SELECT start FROM reporting_periods WHERE period = %(period)s)
GROUP BY d.account_id, a.name
ORDER BY calls DESC, meetings_held DESC, account_name
LIMIT 200
"""

# Every target account: covered or not, and why not.
COVERAGE = """
SELECT account_id, account_name, owner, covered, last_sales_activity_at, reason
FROM sales_coverage
WHERE is_target = 1
ORDER BY covered, reason, account_name
"""

ACCEPTANCE = """
SELECT mqas, accepted, rejected, not_interested, undecided, acceptance_rate, rejection_rate, undecided_rate,
       accepted_per_1000_targets
FROM account_acceptance
WHERE period = %(period)s
"""

# The target accounts that became MQA in the period and sales' decision on each, the rejections first.
DECISIONS = """
SELECT account_id, account_name, mqa_at, status, reason, decided_by, decided_at
FROM account_mqa_decisions
WHERE period = %(period)s
ORDER BY status IN ('rejected', 'not_interested') DESC, status, mqa_at DESC
LIMIT 500
"""

SLA = """
SELECT owner, mqls, worked, worked_pct, worked_in_time_pct, median_hours_to_first_touch, avg_attempts,
       attempts_met_pct, connected_pct, pending, meets_sla
FROM sla_by_owner
WHERE period = %(period)s
"""

# ---------------------------------------------------------------- Account page

# One account: sales' latest decision (account_sales_status) and its coverage (sales_coverage).
ACCOUNT_SALES = """
SELECT c.covered AS covered, c.reason AS coverage_reason, c.last_sales_activity_at AS last_sales_activity_at,
       s.status AS status, s.reason AS reason, s.owner AS decided_by, s.status_at AS status_at
FROM (SELECT * FROM sales_coverage WHERE account_id = %(account)s) AS c
LEFT JOIN (SELECT * FROM account_sales_status WHERE account_id = %(account)s) AS s ON s.account_id = c.account_id
"""

# One account's sales activity over the last 90 days, per rep.
ACCOUNT_SALES_ACTIVITY = """
SELECT rep, sum(calls) AS calls, sum(connected_calls) AS connected_calls, sum(conversations) AS conversations,
       sum(meetings_booked) AS meetings_booked, sum(meetings_held) AS meetings_held, sum(emails_out) AS emails_out,
       sum(emails_in) AS emails_in
FROM sales_activity_daily
WHERE account_id = %(account)s AND day > today() - 90
GROUP BY rep
ORDER BY calls + meetings_held + emails_out DESC, rep
"""
