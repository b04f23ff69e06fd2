"""Every SQL the dashboard runs, as named constants against the documented views."""

TARGET_STAGES = """
SELECT countIf(stage != 'unaware') AS aware,
       countIf(stage IN ('engaged', 'mqa')) AS engaged,
       countIf(stage = 'mqa') AS mqa,
       count() AS targets
FROM account_engagement
WHERE is_target = 1
"""

MINUTES_BY_CHANNEL = """
SELECT day, channel, sum(minutes) AS minutes
FROM engagement_daily
WHERE kind = 'touch' AND account_id != '' AND day > today() - 30
GROUP BY day, channel
ORDER BY day, channel
"""

LEADERBOARD = """
SELECT account_name, tier, owner, stage, minutes_7d, minutes_30d, minutes_90d, people_engaged_90d,
       last_activity_day
FROM account_engagement
WHERE is_target = 1
ORDER BY minutes_30d DESC, account_name
LIMIT 50
"""

FRESHNESS = "SELECT max(received_at) AS latest FROM touches"
