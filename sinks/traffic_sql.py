"""The behaviour rules of traffic classification (issue 19), as one query over the stored touches.

Computed from what is stored, by event time (occurred_at), never from arrival order: the verdict of a
touch depends only on the set of stored touches around it, so a replay, a duplicate or a late arrival
leads to the same verdicts once everything is stored (README, "Traffic that is not a person").
Returned are only the touches whose stored behaviour verdict differs from the computed one; touches a
rule on the touch itself classified (user agent, ranges, internal) are left alone.

The rules work per reporting day (a minute, a cookie's day, an email's opens of a day), so evaluating
whole days from `since` gives every touch of those days its exact verdict.

Parameters: since (first reporting day evaluated), max_views (PULSE_BOT_MAX_VIEWS_PER_MINUTE),
scanner_ms (PULSE_SCANNER_SECONDS in ms), scanner_label (e.g. "10s", for the reasons).
"""

BEHAVIOUR_VERDICTS = """
WITH
-- One row per stored touch of the evaluated days. Not FINAL (which merges the whole partition): the
-- inputs of the rules are the same in every version of a touch, so versions collapse by event_id, and
-- the stored verdict is the latest version's.
touch AS
(
    SELECT event_id, any(v_type) AS type, any(v_at) AS occurred_at, any(v_day) AS day,
           any(v_cookie) AS anonymous_id, any(v_ip) AS ip, any(v_email) AS email, any(v_program) AS program_id,
           any(v_url) AS url, max(v_engaged) AS engaged, any(v_ms) AS ms, any(v_pixel) AS pixel,
           argMax(v_traffic, version) AS traffic, argMax(v_reason, version) AS traffic_reason
    FROM
    (
        SELECT event_id, type AS v_type, occurred_at AS v_at, day AS v_day, anonymous_id AS v_cookie, ip AS v_ip,
               email AS v_email, program_id AS v_program, url AS v_url, traffic AS v_traffic,
               traffic_reason AS v_reason, version, toUnixTimestamp64Milli(occurred_at) AS v_ms,
               if(type IN ('page_view', 'page_engagement'), JSONExtractUInt(payload, 'engaged_seconds'), 0) AS v_engaged,
               type = 'page_view' AND JSONExtractString(payload, 'source') = 'pixel' AS v_pixel
        FROM {db}.touches
        WHERE day >= %(since)s AND type IN ('page_view', 'page_engagement', 'email_open', 'email_click')
    )
    GROUP BY event_id
),
-- Web, per cookie (or, for cookieless views, stored address) and day: the busiest calendar minute,
-- the page views, the largest engaged time.
web_keys AS
(
    SELECT key, day, max(n) AS peak, sum(scripted) AS views, max(engaged_max) AS engaged_max
    FROM
    (
        SELECT if(anonymous_id != '', anonymous_id, concat('ip:', ip)) AS key, day,
               toStartOfMinute(occurred_at) AS minute, countIf(type = 'page_view') AS n,
               countIf(type = 'page_view' AND NOT pixel) AS scripted, max(engaged) AS engaged_max
        FROM touch
        WHERE type IN ('page_view', 'page_engagement') AND (anonymous_id != '' OR ip != '')
        GROUP BY key, day, minute
    )
    GROUP BY key, day
),
-- More than max_views page views in one minute: every page view of that key on that day is a bot's.
-- A cookie with 3 or more page views on a day and no engaged second on any (the snippet reports
-- engaged time whenever a visible tab is left): a client that runs no page. Views of the no-script
-- pixel (/p.gif, source 'pixel') never report engaged time, so they are not judged by it.
web AS
(
    SELECT t.event_id AS event_id, 'bot' AS traffic,
           if(k.peak > %(max_views)s, concat('rate:', toString(k.peak), '/min'), 'no_engaged_seconds') AS reason
    FROM (SELECT * FROM touch WHERE type = 'page_view') AS t
    INNER JOIN web_keys AS k ON k.key = if(t.anonymous_id != '', t.anonymous_id, concat('ip:', t.ip)) AND k.day = t.day
    WHERE k.peak > %(max_views)s OR (t.anonymous_id != '' AND k.views >= 3 AND k.engaged_max = 0)
),
-- Email, per recipient, campaign and day (opens are stored one per recipient, campaign and day).
mail AS
(
    SELECT event_id, type, email, program_id, day, url, ms FROM touch
    WHERE type IN ('email_open', 'email_click') AND email != ''
),
emails AS
(
    SELECT email, program_id, day,
           minIf(ms, type = 'email_open') AS first_open_ms,
           argMinIf(event_id, ms, type = 'email_open') AS first_open,
           countIf(type = 'email_open') AS opens,
           minIf(ms, type = 'email_click') AS first_click_ms,
           countIf(type = 'email_click') AS clicks
    FROM mail
    GROUP BY email, program_id, day
),
timed AS
(
    SELECT m.event_id AS event_id, m.type AS type, m.url AS url, m.email AS email, m.program_id AS program_id,
           m.day AS day, m.type = 'email_open' AND m.event_id = e.first_open AS is_first_open,
           e.opens > 0 AND abs(m.ms - e.first_open_ms) <= %(scanner_ms)s AS near_open,
           e.clicks > 0 AND m.ms - e.first_click_ms BETWEEN 0 AND %(scanner_ms)s AS near_click
    FROM mail AS m
    INNER JOIN emails AS e ON e.email = m.email AND e.program_id = m.program_id AND e.day = m.day
),
scanned AS
(
    SELECT event_id, 'scanner' AS traffic,
           multiIf(is_first_open, concat('scanner:click_within_', %(scanner_label)s, '_of_open'),
                   near_open, concat('scanner:within_', %(scanner_label)s, '_of_first_open'),
                   concat('scanner:links_within_', %(scanner_label)s)) AS reason
    FROM
    (
        SELECT *,
               countIf(type = 'email_click' AND near_open) OVER w > 0 AS clicked_near_open,
               uniqExactIf(url, type = 'email_click' AND near_click) OVER w >= 3 AS link_burst
        FROM timed
        WINDOW w AS (PARTITION BY email, program_id, day)
    )
    WHERE (is_first_open AND clicked_near_open) OR (near_open AND NOT is_first_open)
       OR (type = 'email_click' AND near_click AND link_burst)
),
verdicts AS
(
    SELECT event_id, any(traffic) AS traffic, min(reason) AS reason
    FROM (SELECT * FROM web UNION ALL SELECT * FROM scanned)
    GROUP BY event_id
)
SELECT t.event_id, v.traffic, v.reason
FROM touch AS t
LEFT JOIN verdicts AS v ON v.event_id = t.event_id
WHERE t.traffic_reason != v.reason
  AND (t.traffic = 'person' OR t.traffic_reason = 'no_engaged_seconds'
       OR startsWith(t.traffic_reason, 'rate:') OR startsWith(t.traffic_reason, 'scanner:'))
"""
