"""The behaviour rules of traffic classification (issue 19), as one query over the stored touches.

Computed from what is stored, by event time (occurred_at), never from arrival order: the verdict of a
touch depends only on the set of stored touches around it, so a replay, a duplicate or a late arrival
leads to the same verdicts once everything is stored (README, "Traffic that is not a person").
Returned are only the touches whose stored behaviour verdict differs from the computed one; touches a
rule on the touch itself classified (user agent, ranges, internal) are left alone.

Parameters: since (first reporting day evaluated), max_views (PULSE_BOT_MAX_VIEWS_PER_MINUTE),
scanner_ms (PULSE_SCANNER_SECONDS in ms), scanner_label (e.g. "10s", for the reasons).
"""

BEHAVIOUR_VERDICTS = """
WITH
base AS
(
    SELECT event_id, type, occurred_at, day, anonymous_id, ip, email, program_id, url, payload, traffic,
           traffic_reason, toUnixTimestamp64Milli(occurred_at) AS ms
    FROM {db}.touches FINAL
    WHERE day >= %(since)s AND type IN ('page_view', 'page_engagement', 'email_open', 'email_click')
),
-- More than max_views page views of one cookie (or, for cookieless views, one stored address) in a
-- calendar minute: every page view of that key on that day is a bot's.
rate AS
(
    SELECT key, day, max(n) AS peak
    FROM
    (
        SELECT if(anonymous_id != '', anonymous_id, concat('ip:', ip)) AS key, day,
               toStartOfMinute(occurred_at) AS minute, count() AS n
        FROM base
        WHERE type = 'page_view' AND (anonymous_id != '' OR ip != '')
        GROUP BY key, day, minute
    )
    GROUP BY key, day
    HAVING peak > %(max_views)s
),
-- A cookie with 3 or more page views on a day and no engaged second on any of them (the snippet
-- reports engaged time whenever a visible tab is left): a client that runs no page.
idle AS
(
    SELECT anonymous_id AS key, day
    FROM base
    WHERE anonymous_id != '' AND type IN ('page_view', 'page_engagement')
    GROUP BY key, day
    HAVING countIf(type = 'page_view') >= 3 AND max(JSONExtractUInt(payload, 'engaged_seconds')) = 0
),
web AS
(
    SELECT b.event_id AS event_id, 'bot' AS traffic,
           if(r.peak > 0, concat('rate:', toString(r.peak), '/min'), 'no_engaged_seconds') AS reason
    FROM (SELECT * FROM base WHERE type = 'page_view') AS b
    LEFT JOIN rate AS r ON r.key = if(b.anonymous_id != '', b.anonymous_id, concat('ip:', b.ip)) AND r.day = b.day
    LEFT JOIN idle AS i ON i.key = b.anonymous_id AND i.day = b.day
    WHERE r.peak > 0 OR (b.anonymous_id != '' AND i.key != '')
),
-- Every stored open and click of the emails (recipient, campaign) touched in the evaluated days,
-- whenever stored: an email's first open may lie before them.
mail AS
(
    SELECT event_id, type, email, program_id, url, toUnixTimestamp64Milli(occurred_at) AS ms
    FROM {db}.touches FINAL
    WHERE type IN ('email_open', 'email_click') AND email != ''
      AND (email, program_id) IN (SELECT email, program_id FROM base WHERE type IN ('email_open', 'email_click'))
),
emails AS
(
    SELECT email, program_id,
           minIf(ms, type = 'email_open') AS first_open_ms,
           argMinIf(event_id, ms, type = 'email_open') AS first_open,
           countIf(type = 'email_open') AS opens,
           minIf(ms, type = 'email_click') AS first_click_ms,
           countIf(type = 'email_click') AS clicks
    FROM mail
    GROUP BY email, program_id
),
timed AS
(
    SELECT m.event_id AS event_id, m.type AS type, m.url AS url, m.ms AS ms, e.first_open AS first_open,
           e.opens > 0 AND abs(m.ms - e.first_open_ms) <= %(scanner_ms)s AS near_open,
           e.clicks > 0 AND m.ms - e.first_click_ms BETWEEN 0 AND %(scanner_ms)s AS near_click,
           e.email AS email, e.program_id AS program_id
    FROM mail AS m
    INNER JOIN emails AS e ON e.email = m.email AND e.program_id = m.program_id
),
per_email AS
(
    SELECT email, program_id,
           countIf(type = 'email_click' AND near_open) > 0 AS clicked_near_open,
           uniqExactIf(url, type = 'email_click' AND near_click) >= 3 AS link_burst
    FROM timed
    GROUP BY email, program_id
),
scanned AS
(
    SELECT t.event_id AS event_id, 'scanner' AS traffic,
           multiIf(t.type = 'email_open' AND t.event_id = t.first_open,
                       concat('scanner:click_within_', %(scanner_label)s, '_of_open'),
                   t.near_open, concat('scanner:within_', %(scanner_label)s, '_of_first_open'),
                   concat('scanner:links_within_', %(scanner_label)s)) AS reason
    FROM timed AS t
    INNER JOIN per_email AS p ON p.email = t.email AND p.program_id = t.program_id
    WHERE (t.type = 'email_open' AND t.event_id = t.first_open AND p.clicked_near_open)
       OR (t.near_open AND NOT (t.type = 'email_open' AND t.event_id = t.first_open))
       OR (t.type = 'email_click' AND t.near_click AND p.link_burst)
),
verdicts AS
(
    SELECT event_id, any(traffic) AS traffic, min(reason) AS reason
    FROM (SELECT * FROM web UNION ALL SELECT * FROM scanned)
    GROUP BY event_id
)
SELECT b.event_id, v.traffic, v.reason
FROM base AS b
LEFT JOIN verdicts AS v ON v.event_id = b.event_id
WHERE b.traffic_reason != v.reason
  AND (b.traffic = 'person' OR b.traffic_reason = 'no_engaged_seconds'
       OR startsWith(b.traffic_reason, 'rate:') OR startsWith(b.traffic_reason, 'scanner:'))
"""
