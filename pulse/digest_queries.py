"""The daily digest's SQL, read through the SQL endpoint as the dashboard reads (sinks.client.reader_client).

Month to date and year to date come from the same views as the Overview and Revenue pages, so the digest and
the dashboard never disagree: account_engagement_snapshot (minutes), stage_changes (new MQAs), revenue_summary
(pipeline created, won revenue, new customers; target accounts) and reporting_periods (the reporting time zone).
"""
from __future__ import annotations

# Minutes (latest evaluation, like the Overview's tiles) and new MQAs of target accounts, this month and year.
ENGAGEMENT = """
SELECT m.minutes_mtd, m.minutes_ytd, c.mqas_mtd, c.mqas_ytd
FROM (SELECT toFloat64(sum(minutes_mtd)) AS minutes_mtd, toFloat64(sum(minutes_ytd)) AS minutes_ytd
      FROM account_engagement_snapshot FINAL WHERE is_target = 1) AS m
CROSS JOIN
(
    SELECT uniqExactIf(s.account_id, toDate(s.changed_at, %(tz)s) >= toStartOfMonth(toDate(now(), %(tz)s))) AS mqas_mtd,
           uniqExactIf(s.account_id, toDate(s.changed_at, %(tz)s) >= toStartOfYear(toDate(now(), %(tz)s))) AS mqas_ytd
    FROM stage_changes AS s FINAL
    INNER JOIN (SELECT account_id FROM accounts FINAL WHERE is_target = 1) AS t ON t.account_id = s.account_id
    WHERE s.stage_to = 'mqa'
) AS c
"""

# Pipeline created, won revenue and new customers of target accounts (the Revenue page's tiles).
REVENUE = """
SELECT period, pipeline_created_amount, won_amount, new_customers
FROM revenue_summary
WHERE audience = 'target' AND period IN ('mtd', 'ytd')
"""

# Target accounts by stage as last evaluated (the Overview's first tiles).
STAGES = """
SELECT count() AS targets, countIf(s.stage IN ('aware', 'engaged', 'mqa')) AS aware,
       countIf(s.stage IN ('engaged', 'mqa')) AS engaged, countIf(s.stage = 'mqa') AS mqa
FROM (SELECT account_id FROM accounts FINAL WHERE is_target = 1) AS a
LEFT JOIN account_stage AS s ON s.account_id = a.account_id
"""

# Accounts that became MQA since the last digest.
BECAME_MQA = """
SELECT s.account_id, if(a.name = '', s.account_id, a.name) AS name, a.owner, a.tier, max(s.changed_at) AS at,
       argMax(s.minutes_90d, s.changed_at) AS minutes_90d
FROM stage_changes AS s FINAL
LEFT JOIN (SELECT account_id, name, owner, tier FROM accounts FINAL) AS a ON a.account_id = s.account_id
WHERE s.stage_to = 'mqa' AND s.changed_at >= fromUnixTimestamp64Milli(%(since_ms)s, 'UTC')
GROUP BY s.account_id, name, a.owner, a.tier
ORDER BY at DESC
LIMIT 50
"""

# Target accounts surging now, with activity since the last digest.
SURGING = """
SELECT account_id, if(account_name = '', account_id, account_name) AS name, owner, tier, last_activity_at AS at,
       minutes_7d
FROM account_engagement_snapshot FINAL
WHERE is_target = 1 AND surging = 1 AND last_activity_at >= fromUnixTimestamp64Milli(%(since_ms)s, 'UTC')
ORDER BY minutes_7d DESC
LIMIT 50
"""
