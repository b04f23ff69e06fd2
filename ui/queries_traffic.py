"""The Data-health page's traffic queries (issue 19): who made the touches, per day and class."""

# Share of each traffic class per day, 30 days (traffic_daily: touches FINAL, heartbeats left out).
TRAFFIC_DAILY = """
SELECT day, traffic, touches, share
FROM traffic_daily
WHERE day > today() - 30
ORDER BY day, traffic
"""

# The most common reasons of the last 7 days, for the classes that are not a person.
TRAFFIC_REASONS = """
SELECT traffic, traffic_reason, count() AS touches
FROM touches FINAL
WHERE day > today() - 7 AND traffic != 'person' AND type != 'page_engagement'
GROUP BY traffic, traffic_reason
ORDER BY touches DESC
LIMIT 20
"""
