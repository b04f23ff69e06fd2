"""Every SQL the dashboard runs, as named constants against the documented views.

Parameters use client-side binding (`%(name)s`), because the embedded read-only endpoint takes
plain SQL. Hot tiles read aggregate tables and the views of 0100/0200 (never raw touches with
FINAL); the few queries on the `events` view are bounded by account and by day.

`PAGES` lists which queries each page runs on every refresh, with example parameters, so that
`pulse bench` can time each query and a page's queries together.
"""
from __future__ import annotations

# ---------------------------------------------------------------- shared

# Freshness: the newest arrival among touches of this and the previous month, from the latest arrival
# kept per month of occurrence (touch_arrivals, 0031): a few rows, however many touches are stored.
FRESHNESS = """
SELECT max(latest) AS latest
FROM touch_arrivals
WHERE month >= toStartOfMonth(now() - INTERVAL 1 MONTH)
"""

# The "Figures as of" line and Data health's table of summary reports (ui/queries_reports.py).
from ui.queries_reports import REPORT_REFRESHES, REPORTS_AS_OF  # noqa: E402,F401
# Data health's stage evaluations (ui/queries_stages.py).
from ui.queries_stages import STAGE_EVALUATIONS, STAGE_REBUILD  # noqa: E402,F401

# ---------------------------------------------------------------- Overview

# The summary reports the Overview's journey and quarter tiles read (TARGET_JOURNEY, QUARTER_REVENUE).
OVERVIEW_REPORTS = ("account_journey", "revenue_summary")

# Target accounts per stage, as the worker recorded it: each account's latest stage change (its
# n-th change, n from change_id `account:n`, as streams/stages.py orders them; the worker
# re-evaluates stages every few seconds; no change = unaware). The
# same history the Alerts page reads, and a few thousand rows instead of re-scoring every touch
# on each refresh, which account_engagement does.
TARGET_STAGES = """
SELECT count() AS targets,
       countIf(s.stage IN ('aware', 'engaged', 'mqa')) AS aware,
       countIf(s.stage IN ('engaged', 'mqa')) AS engaged,
       countIf(s.stage = 'mqa') AS mqa
FROM (SELECT account_id FROM accounts FINAL WHERE is_target = 1) AS a
LEFT JOIN account_stage AS s ON s.account_id = a.account_id
"""

# Month to date and year to date of target accounts (daily cap applied, as in account_engagement).
TARGET_MINUTES = """
SELECT toFloat64(sum(minutes_mtd)) AS minutes_mtd, toFloat64(sum(minutes_ytd)) AS minutes_ytd
FROM account_engagement_snapshot FINAL
WHERE is_target = 1
"""

TARGET_STAGES_WEEK_AGO = "SELECT as_of, targets, aware, engaged, mqa, history_starts FROM target_stages_week_ago"

# Target accounts per journey stage (account_journey: customer, opportunity, else today's engagement stage).
TARGET_JOURNEY = """
SELECT journey_stage, count() AS accounts, toFloat64(sum(open_pipeline)) AS open_pipeline
FROM account_journey
WHERE is_target = 1
GROUP BY journey_stage
"""

# Target accounts only (the default): the worker's latest evaluation of target_channel_daily.
MINUTES_BY_CHANNEL = """
SELECT day, channel, toFloat64(minutes) AS minutes
FROM target_channel_daily_snapshot
WHERE evaluated_at = (SELECT max(evaluated_at) FROM target_channel_daily_snapshot)
  AND day > today() - %(days)s
ORDER BY day, channel
"""

# Every touch: target accounts, other registered accounts and unresolved visitors.
MINUTES_BY_CHANNEL_ALL = """
SELECT day, channel, toFloat64(sum(minutes)) AS minutes
FROM channel_trend
WHERE day > today() - %(days)s
GROUP BY day, channel
ORDER BY day, channel
"""

# ---------------------------------------------------------------- Accounts

FILTER_CHOICES = """
SELECT groupUniqArray(tier) AS tiers, groupUniqArray(owner) AS owners
FROM accounts FINAL
WHERE is_target = 1
"""

# Account lists read the worker's latest evaluation of account_engagement (a few seconds old,
# `evaluated_at`), not the view itself: the view re-scores every stored touch, seconds at 10M.
# Empty filters mean "all"; the flags avoid `IN ()` for an empty choice.
# With sales' latest decision on each account (account_sales_status: accepted, rejected, not_interested, reopened).
LEADERBOARD = """
SELECT l.*, s.status AS sales_status, s.reason AS sales_reason
FROM
(
SELECT account_id, account_name, tier, owner, stage,
       toFloat64(minutes_7d) AS minutes_7d, toFloat64(minutes_30d) AS minutes_30d,
       toFloat64(minutes_90d) AS minutes_90d, people_engaged_90d, surging, re_engaged, last_activity_at
FROM account_engagement_snapshot FINAL
WHERE is_target = 1
  AND (%(all_tiers)s OR tier IN %(tiers)s)
  AND (%(all_owners)s OR owner IN %(owners)s)
  AND (%(all_stages)s OR stage IN %(stages)s)
  AND (%(all_channels)s OR account_id IN (
        SELECT account_id FROM engagement_person_daily
        WHERE account_id != '' AND channel IN %(channels)s AND day > today() - 90
        GROUP BY account_id HAVING sum(minutes) > 0))
  AND (%(search)s = '' OR positionCaseInsensitiveUTF8(account_name, %(search)s) > 0
       OR positionCaseInsensitiveUTF8(account_id, %(search)s) > 0)
ORDER BY minutes_30d DESC, account_name
LIMIT %(limit)s
) AS l
LEFT JOIN (SELECT account_id, status, reason FROM account_sales_status) AS s ON s.account_id = l.account_id
ORDER BY l.minutes_30d DESC, l.account_name
"""

# A small trend per account: minutes per day over 30 days (zero days are filled in by the page), from
# the account-day rollup (account_daily, 0040: caps applied, kept as sums by the stage evaluator every few seconds).
ACCOUNT_TRENDS = """
SELECT account_id, day, toFloat64(sum(minutes)) AS minutes
FROM account_daily
WHERE account_id IN %(accounts)s AND day > today() - 30
GROUP BY account_id, day
"""

# ---------------------------------------------------------------- Account

# The account picker: registry names, target accounts with the most recent minutes first (a cheap
# 7-day sum of the daily aggregate, only to order the list).
ACCOUNT_SEARCH = """
SELECT a.account_id AS account_id, a.account_name AS account_name, a.is_target AS is_target
FROM
(
    SELECT account_id, name AS account_name, is_target
    FROM accounts FINAL
    WHERE %(search)s = '' OR positionCaseInsensitiveUTF8(name, %(search)s) > 0
       OR positionCaseInsensitiveUTF8(account_id, %(search)s) > 0
) AS a
LEFT JOIN
(
    SELECT account_id, sum(minutes) AS recent
    FROM engagement_daily
    WHERE kind = 'touch' AND account_id != '' AND day > today() - 7
    GROUP BY account_id
) AS r ON r.account_id = a.account_id
ORDER BY is_target DESC, r.recent DESC, account_name
LIMIT 50
"""

ACCOUNT_SUMMARY = """
SELECT account_id, account_name, tier, owner, is_target, stage, surging, re_engaged,
       toFloat64(minutes_7d) AS minutes_7d, toFloat64(minutes_30d) AS minutes_30d,
       toFloat64(minutes_90d) AS minutes_90d, toFloat64(minutes_mtd) AS minutes_mtd,
       toFloat64(minutes_ytd) AS minutes_ytd, people_engaged_90d, last_activity_at
FROM account_engagement_snapshot FINAL
WHERE account_id = %(account)s
"""

# One account's minutes and touches per day and channel over 90 days, from the account-day rollup
# (account_daily: one row per day and channel, not one per person, program and day).
ACCOUNT_DAILY = """
SELECT day, channel, toFloat64(sum(minutes)) AS minutes, sum(touches) AS touches
FROM account_daily
WHERE account_id = %(account)s AND day > today() - 90
GROUP BY day, channel
HAVING touches != 0
ORDER BY day
"""

ACCOUNT_PEOPLE = """
SELECT person, name, title, role, toFloat64(minutes_7d) AS minutes_7d, toFloat64(minutes_30d) AS minutes_30d,
       toFloat64(minutes_90d) AS minutes_90d, touches_90d, last_activity_day
FROM account_people
WHERE account_id = %(account)s
ORDER BY minutes_90d DESC, person
LIMIT 200
"""

# The newest touches of one account, from account_touches (ordered by account and time; migration
# 0004). The time of the account's 1,000th newest row bounds the read, read backwards in key order
# (~10 ms at 10M); every row from then on comes along, so every version of a touch comes with the
# others (they share occurred_at). Then the highest version of each, unless that one moved the touch
# to another account. (LIMIT ... WITH TIES would say the same, but reads the whole range: 77 ms.)
ACCOUNT_TIMELINE = """
SELECT occurred_at, argMax(type, version) AS type, argMax(channel, version) AS channel,
       argMax(person, version) AS person, toFloat64(argMax(minutes, version)) AS minutes,
       argMax(program_id, version) AS program_id, argMax(url, version) AS url, argMax(method, version) AS method,
       argMax(traffic, version) AS traffic, argMax(traffic_reason, version) AS traffic_reason
FROM account_touches
WHERE account_id = %(account)s AND occurred_at >= now() - INTERVAL 90 DAY
  AND occurred_at >= (SELECT min(occurred_at) FROM
                      (SELECT occurred_at FROM account_touches
                       WHERE account_id = %(account)s AND occurred_at >= now() - INTERVAL 90 DAY
                       ORDER BY occurred_at DESC LIMIT 1000))
GROUP BY event_id, occurred_at
HAVING argMax(is_deleted, version) = 0
ORDER BY occurred_at DESC
LIMIT 100
"""

# From the worker's snapshot (account_coverage evaluates every contact: ~100 ms for any account).
ACCOUNT_COVERAGE = """
SELECT contacts_known, committee_size, coverage_pct
FROM account_coverage_snapshot FINAL
WHERE account_id = %(account)s
"""

ACCOUNT_STAGE_HISTORY = """
SELECT changed_at, stage_from, stage_to
FROM stage_changes
WHERE account_id = %(account)s
ORDER BY changed_at DESC
LIMIT 100
"""

# ---------------------------------------------------------------- Reach and programs

PROGRAM_REACH = """
SELECT program_id, name, channel, target_accounts_reached, target_accounts_total,
       toFloat64(reach_pct) AS reach_pct, toFloat64(focus_pct) AS focus_pct,
       toFloat64(cost_per_reached_account) AS cost_per_reached_account
FROM program_reach_snapshot
WHERE evaluated_at = (SELECT max(evaluated_at) FROM program_reach_snapshot)
ORDER BY reach_pct DESC, name
"""

CHANNEL_AWARENESS = """
SELECT channel, target_accounts_aware, target_accounts_total, toFloat64(aware_pct) AS aware_pct
FROM channel_awareness_snapshot
WHERE evaluated_at = (SELECT max(evaluated_at) FROM channel_awareness_snapshot)
ORDER BY target_accounts_aware DESC, channel
"""

# ---------------------------------------------------------------- Alerts (ui/queries_alerts.py)

from ui.queries_alerts import FLAGGED_ACCOUNTS, MQA_COUNTS, NEW_MQAS  # noqa: E402,F401

# ---------------------------------------------------------------- Revenue (ui/queries_revenue.py)

from ui.queries_revenue import (ACCOUNT_OPPORTUNITIES, ACCOUNT_OPPORTUNITY_STAGES, GOAL_COUNT,  # noqa: E402,F401
                                GOALS_THIS_MONTH, MONTHLY_GOALS, OPEN_PIPELINE, OPPORTUNITY_COUNT, QUARTER_REVENUE,
                                REVENUE_PERIODS, REVENUE_REPORTS, SALES_VELOCITY)

# ---------------------------------------------------------------- Data health (the ingestion pipeline)

PIPELINE_WORKERS = """
SELECT worker, max(at) AS reported_at,
       argMax(events_in_per_s, at) AS events_in_per_s, argMax(events_out_per_s, at) AS events_out_per_s,
       argMax(consumer_lag, at) AS consumer_lag, argMax(oldest_unflushed_s, at) AS oldest_unflushed_s,
       argMax(dead_letters, at) AS dead_letters, argMax(sink_state, at) AS sink_state,
       argMax(broker_state, at) AS broker_state, argMax(last_error, at) AS last_error
FROM pipeline_health
WHERE at >= now() - INTERVAL 1 DAY
GROUP BY worker
ORDER BY worker
"""

# Per 10 s: each worker's average rate, then summed over workers.
PIPELINE_RATES = """
SELECT t AS at, sum(rate_in) AS events_in_per_s, sum(rate_out) AS events_out_per_s, sum(lag) AS consumer_lag
FROM
(
    SELECT toStartOfInterval(at, INTERVAL 10 SECOND) AS t, worker, avg(events_in_per_s) AS rate_in,
           avg(events_out_per_s) AS rate_out, max(consumer_lag) AS lag
    FROM pipeline_health
    WHERE at >= now() - INTERVAL 15 MINUTE
    GROUP BY t, worker
)
GROUP BY t
ORDER BY t
"""

DEAD_LETTER_COUNTS = """
SELECT countIf(rejected_at >= now() - INTERVAL 1 HOUR) AS last_hour,
       countIf(rejected_at >= now() - INTERVAL 24 HOUR) AS last_day,
       count() AS total
FROM rejected_events FINAL
"""

DEAD_LETTER_REASONS = """
SELECT JSONExtractString(item, 'field') AS field, JSONExtractString(item, 'reason') AS reason,
       count() AS events
FROM rejected_events FINAL
ARRAY JOIN JSONExtractArrayRaw(reasons) AS item
WHERE rejected_at >= now() - INTERVAL 7 DAY
GROUP BY field, reason
ORDER BY events DESC
LIMIT 10
"""

DEAD_LETTER_LATEST = """
SELECT rejected_at, source, reasons, payload
FROM rejected_events FINAL
ORDER BY rejected_at DESC
LIMIT 20
"""

UNRESOLVED = """
SELECT day, touches, unresolved, unresolved_pct
FROM resolution_daily
WHERE day > today() - 14
ORDER BY day
"""

# ---------------------------------------------------------------- SQL page examples

EXAMPLES = {
    "Target accounts by stage": "SELECT stage, count() AS accounts\nFROM account_engagement\nWHERE is_target\nGROUP BY stage\nORDER BY accounts DESC",
    "Top 20 target accounts, 30 days": "SELECT account_name, owner, stage, minutes_30d, people_engaged_90d\nFROM account_engagement\nWHERE is_target\nORDER BY minutes_30d DESC\nLIMIT 20",
    "Minutes per channel this month": "SELECT channel, sum(minutes) AS minutes\nFROM channel_trend\nWHERE audience = 'target' AND day >= toStartOfMonth(today())\nGROUP BY channel\nORDER BY minutes DESC",
    "Target accounts per owner": "SELECT *\nFROM owner_summary\nORDER BY mqa DESC, engaged DESC",
    "Reach per program": "SELECT name, channel, target_accounts_reached, reach_pct, focus_pct\nFROM program_reach\nORDER BY reach_pct DESC",
    "Most engaged people, 90 days": "SELECT account_id, person, role, minutes_90d\nFROM account_people\nORDER BY minutes_90d DESC\nLIMIT 20",
    "How touches were resolved, 7 days": "SELECT method, count() AS touches\nFROM events\nWHERE occurred_at >= now() - INTERVAL 7 DAY\nGROUP BY method\nORDER BY touches DESC",
    "Unresolved share per day": "SELECT *\nFROM resolution_daily\nORDER BY day DESC\nLIMIT 14",
    "Revenue this quarter, target accounts": "SELECT pipeline_created_amount, won_amount, win_rate, avg_deal_size, avg_cycle_days\nFROM revenue_summary\nWHERE period = 'qtd' AND audience = 'target'",
    "Open pipeline by stage": "SELECT stage, open_count, open_amount, weighted_open_amount\nFROM open_pipeline_by_stage\nWHERE audience = 'all'\nORDER BY open_amount DESC",
    "Target accounts per journey stage": "SELECT journey_stage, count() AS accounts, sum(open_pipeline) AS open_pipeline\nFROM account_journey\nWHERE is_target\nGROUP BY journey_stage\nORDER BY accounts DESC",
    "Goals and month-to-date pace this year": "SELECT month, metric, target, actual, pace\nFROM revenue_goals\nWHERE month >= toStartOfYear(today())\nORDER BY month, metric",
}

# ---------------------------------------------------------------- for `pulse bench`

_ALL = {"all_tiers": 1, "tiers": [""], "all_owners": 1, "owners": [""], "all_stages": 1, "stages": [""],
        "all_channels": 1, "channels": [""], "search": "", "limit": 200}
_DAYS = {"days": 30}

# The Funnel and Sales activity pages' queries (and the Account page's stage and sales parts), re-exported so
# that PAGES names every page's queries in one place.
from ui.queries_funnel import (ACCOUNT_PEOPLE_STAGES, FUNNEL_BY_SOURCE_COUNTS, FUNNEL_BY_SOURCE_STEPS,  # noqa: E402,F401
                               FUNNEL_COUNTS, FUNNEL_REPORTS, FUNNEL_SOURCES, FUNNEL_STEPS, LIFECYCLE_COUNT)
from ui.queries_influence import INFLUENCE_REPORTS, INFLUENCE_SEGMENTS, PROGRAM_ATTRIBUTION  # noqa: E402,F401
from ui.queries_sales import (ACCEPTANCE, ACCOUNT_ACTIVITY, ACCOUNT_SALES, ACCOUNT_SALES_ACTIVITY,  # noqa: E402,F401
                              ACCOUNT_SALES_REPORTS, COVERAGE, DECISIONS, SALES_ANY, SALES_REPORTS, SALES_SUMMARY, SLA)

_MTD = {"period": "mtd"}

# Each page's refresh: (query name, example parameters). `{account}` is filled with a real account id.
PAGES: dict[str, list[tuple[str, dict]]] = {
    "Overview": [("TARGET_STAGES", {}), ("TARGET_MINUTES", {}), ("TARGET_JOURNEY", {}), ("TARGET_STAGES_WEEK_AGO", {}), ("MINUTES_BY_CHANNEL", _DAYS),
                 ("QUARTER_REVENUE", {}), ("REPORTS_AS_OF", {"reports": list(OVERVIEW_REPORTS)}),
                 ("FRESHNESS", {})],
    "Accounts": [("LEADERBOARD", _ALL), ("ACCOUNT_TRENDS", {"accounts": ["{account}"]}), ("FRESHNESS", {})],
    "Account": [("ACCOUNT_SUMMARY", {"account": "{account}"}), ("ACCOUNT_DAILY", {"account": "{account}"}),
                ("ACCOUNT_PEOPLE", {"account": "{account}"}), ("ACCOUNT_TIMELINE", {"account": "{account}"}),
                ("ACCOUNT_COVERAGE", {"account": "{account}"}), ("ACCOUNT_STAGE_HISTORY", {"account": "{account}"}),
                ("ACCOUNT_OPPORTUNITIES", {"account": "{account}"}),
                ("ACCOUNT_OPPORTUNITY_STAGES", {"account": "{account}"}),
                ("ACCOUNT_PEOPLE_STAGES", {"account": "{account}"}), ("ACCOUNT_SALES", {"account": "{account}"}),
                ("ACCOUNT_SALES_ACTIVITY", {"account": "{account}"}),
                ("REPORTS_AS_OF", {"reports": list(ACCOUNT_SALES_REPORTS)})],
    "Reach and programs": [("PROGRAM_REACH", {}), ("CHANNEL_AWARENESS", {})],
    "Alerts": [("MQA_COUNTS", {}), ("NEW_MQAS", {"hours": 24}), ("FLAGGED_ACCOUNTS", {})],
    "Revenue": [("OPPORTUNITY_COUNT", {}), ("REVENUE_PERIODS", {"audience": "target"}),
                ("OPEN_PIPELINE", {"audience": "target"}), ("SALES_VELOCITY", {}), ("GOAL_COUNT", {}),
                ("MONTHLY_GOALS", {"since": "2026-01-01"}), ("GOALS_THIS_MONTH", {"month": "2026-12-01"}),
                ("REPORTS_AS_OF", {"reports": list(REVENUE_REPORTS)})],
    # the page's defaults: the linear model over the last 365 days
    "Influence": [("OPPORTUNITY_COUNT", {}), ("INFLUENCE_SEGMENTS", {}),
                  ("PROGRAM_ATTRIBUTION", {"model": "linear", "period": "365d"}),
                  ("REPORTS_AS_OF", {"reports": list(INFLUENCE_REPORTS)})],
    # the page's defaults: all sources, the split by source over the year to date; the sales page month to date
    "Funnel": [("LIFECYCLE_COUNT", {}), ("FUNNEL_SOURCES", {}), ("FUNNEL_COUNTS", {"source": "all"}),
               ("FUNNEL_STEPS", {"source": "all"}), ("FUNNEL_BY_SOURCE_COUNTS", {"period": "ytd"}),
               ("FUNNEL_BY_SOURCE_STEPS", {"period": "ytd"}), ("REPORTS_AS_OF", {"reports": list(FUNNEL_REPORTS)})],
    "Sales activity": [("SALES_ANY", {}), ("SALES_SUMMARY", _MTD), ("ACCOUNT_ACTIVITY", _MTD), ("COVERAGE", {}),
                       ("ACCEPTANCE", _MTD), ("DECISIONS", _MTD), ("SLA", _MTD),
                       ("REPORTS_AS_OF", {"reports": list(SALES_REPORTS)})],
    "Data health": [("PIPELINE_WORKERS", {}), ("PIPELINE_RATES", {}), ("DEAD_LETTER_COUNTS", {}),
                 ("DEAD_LETTER_REASONS", {}), ("DEAD_LETTER_LATEST", {}), ("UNRESOLVED", {}), ("FRESHNESS", {}),
                 ("REPORT_REFRESHES", {}), ("STAGE_EVALUATIONS", {"since_ms": 0}), ("STAGE_REBUILD", {})],
}
