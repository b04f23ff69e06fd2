"""The Alerts page's queries: the MQA moments and flagged accounts, and its deliveries (alert_deliveries,
migration 0016: the latest attempt of each rule's alert in the window, so a retried-then-sent alert shows once,
as sent, with its attempts). ui/queries.py re-exports the first three for `pulse bench` (queries.PAGES)."""
from __future__ import annotations

# Inner aliases differ from the columns: ClickHouse would otherwise read `attempts` in argMax as the aggregate.
ALERT_DELIVERIES = """
SELECT d.rule AS rule, d.k AS kind, d.acc AS account_id, if(a.name = '', d.acc, a.name) AS account_name,
       d.dest AS destination, d.st AS status, d.n AS attempts, d.err AS last_error,
       d.last_at AS attempted_at, d.sent AS sent_at, d.nxt AS next_at, d.change_id AS change_id
FROM
(
    SELECT rule, change_id, argMax(kind, attempts) AS k, argMax(account_id, attempts) AS acc,
           argMax(destination, attempts) AS dest, argMax(status, attempts) AS st, max(attempts) AS n,
           argMax(last_error, attempts) AS err, max(attempted_at) AS last_at,
           argMax(sent_at, attempts) AS sent, argMax(next_at, attempts) AS nxt
    FROM alert_deliveries
    WHERE attempted_at >= now() - INTERVAL %(hours)s HOUR
    GROUP BY rule, change_id
) AS d
LEFT JOIN (SELECT account_id, name FROM accounts FINAL) AS a ON a.account_id = d.acc
ORDER BY d.last_at DESC
LIMIT 500
"""

NEW_MQAS = """
SELECT s.changed_at AS changed_at, s.account_id AS account_id, a.name AS account_name, a.owner AS owner,
       a.tier AS tier, s.stage_from AS stage_from
FROM stage_changes AS s
LEFT JOIN (SELECT account_id, argMax(name, updated_at) AS name, argMax(owner, updated_at) AS owner,
                  argMax(tier, updated_at) AS tier
           FROM accounts GROUP BY account_id) AS a ON a.account_id = s.account_id
WHERE s.stage_to = 'mqa' AND s.changed_at >= now() - INTERVAL %(hours)s HOUR
ORDER BY s.changed_at DESC
LIMIT 200
"""

# Surging and re-engaged are current flags; the window is on the account's latest activity. One
# read of account_engagement serves both windows (the page counts and filters the 24 hours itself).
FLAGGED_ACCOUNTS = """
SELECT account_id, account_name, owner, tier, stage, surging, re_engaged,
       toFloat64(minutes_7d) AS minutes_7d, toFloat64(minutes_30d) AS minutes_30d, last_activity_at
FROM account_engagement_snapshot FINAL
WHERE is_target = 1 AND (surging = 1 OR re_engaged = 1)
  AND last_activity_at >= now() - INTERVAL 7 DAY
ORDER BY minutes_7d DESC
"""

MQA_COUNTS = """
SELECT uniqExactIf(account_id, changed_at >= now() - INTERVAL 24 HOUR) AS mqa_24h,
       uniqExact(account_id) AS mqa_7d
FROM stage_changes
WHERE stage_to = 'mqa' AND changed_at >= now() - INTERVAL 7 DAY
"""
