"""The behaviour rules of traffic classification (issue 19), as one query over the rules' inputs.

Computed from what is stored, by event time (occurred_at), never from arrival order: the verdict of a
touch depends only on the set of stored touches around it, so a replay, a duplicate or a late arrival
leads to the same verdicts once everything is stored (README, "Traffic that is not a person").
Returned are only the touches whose stored behaviour verdict differs from the computed one; touches a
rule on the touch itself classified (user agent, ranges, internal) are left alone.

The rules work per group of one reporting day (a cookie's or a cookieless address's page views, an email's
opens and clicks of one campaign), and `traffic_inputs` (migration 0048) keeps each touch's inputs by its
group. So judging whole groups gives each of their touches its exact verdict, and {groups} says which:
every group of the days from `since` (DAYS_FROM: `pulse rescore`), or the groups that took a touch (a new one
or a version) since a moment on the days from first to last, or a slice of them (GROUPS_STORED: the pass every
30 s), read by their number whatever their day.

Parameters: since, or stored_ms, first, last, slices and slice; max_views (PULSE_BOT_MAX_VIEWS_PER_MINUTE),
scanner_ms (PULSE_SCANNER_SECONDS in ms), scanner_label (e.g. "10s", for the reasons).
"""

DAYS_FROM = "day >= %(since)s"
# A day with more stored than a pass judges in one query is judged in slices of its groups (modulo(grp, slices)):
# a group is in one slice, so each slice's verdicts are exact.
GROUPS_STORED = """day BETWEEN %(first)s AND %(last)s AND modulo(grp, %(slices)s) = %(slice)s AND (day, grp) IN (
        SELECT day, grp FROM {db}.traffic_inputs
        WHERE stored_at >= fromUnixTimestamp64Milli(%(stored_ms)s, 'UTC') AND day BETWEEN %(first)s AND %(last)s
          AND modulo(grp, %(slices)s) = %(slice)s)"""
# (day, touches stored since a moment) of the days that took any: how the pass splits a large backlog
STORED_PER_DAY = """
SELECT day, count() FROM {db}.traffic_inputs WHERE stored_at >= fromUnixTimestamp64Milli(%(stored_ms)s, 'UTC')
GROUP BY day ORDER BY day
"""

BEHAVIOUR_VERDICTS = """
WITH
-- One row per touch of the judged groups. Not FINAL (which merges the whole partition): the inputs of the
-- rules are the same in every version of a touch, so versions collapse by the table's key (a touch is in one
-- group), and the stored verdict is the latest version's.
touch AS
(
    SELECT day, rule, key, program_id, event_id, any(type) AS type, any(ms) AS ms, any(url) AS url,
           max(engaged) AS engaged, max(pixel) AS pixel,
           argMax(traffic, version) AS traffic, argMax(traffic_reason, version) AS traffic_reason
    FROM {db}.traffic_inputs
    WHERE {groups}
    GROUP BY day, rule, key, program_id, event_id
),
-- Each touch beside its group's figures, as windows over the group: the touches are read once.
-- Web (a cookie's, or a cookieless address's, page views of a day): the busiest calendar minute, the page
-- views, the largest engaged time. Email (a recipient's opens and clicks of a campaign and day; opens are
-- stored one per recipient, campaign and day): the first open and the first click, and how many of each.
per_minute AS
(
    SELECT *, countIf(type = 'page_view') OVER (PARTITION BY rule, key, program_id, day, intDiv(ms, 60000)) AS n
    FROM touch
),
grouped AS
(
    SELECT *, max(n) OVER g AS peak, countIf(type = 'page_view' AND NOT pixel) OVER g AS views,
           max(engaged) OVER g AS engaged_max,
           minIf(ms, type = 'email_open') OVER g AS first_open_ms,
           argMinIf(event_id, (ms, event_id), type = 'email_open') OVER g AS first_open,  -- ties: the smaller id
           countIf(type = 'email_open') OVER g AS opens,
           minIf(ms, type = 'email_click') OVER g AS first_click_ms,
           countIf(type = 'email_click') OVER g AS clicks
    FROM per_minute
    WINDOW g AS (PARTITION BY rule, key, program_id, day)
),
timed AS
(
    SELECT *, rule = 'mail' AND type = 'email_open' AND event_id = first_open AS is_first_open,
           rule = 'mail' AND opens > 0 AND abs(ms - first_open_ms) <= %(scanner_ms)s AS near_open,
           rule = 'mail' AND clicks > 0 AND ms - first_click_ms BETWEEN 0 AND %(scanner_ms)s AS near_click
    FROM grouped
),
-- The rules. More than max_views page views in one minute: every page view of that key on that day is a
-- bot's. A cookie with 3 or more page views on a day and no engaged second on any (the snippet reports
-- engaged time whenever a visible tab is left): a client that runs no page. Views of the no-script pixel
-- (/p.gif, source 'pixel') never report engaged time, so they are not judged by it. An email click, or a
-- later open, within the scanner's seconds of the first open (and that open, when such a click exists);
-- three or more links of one email clicked within those seconds of the first click.
judged AS
(
    SELECT event_id, traffic, traffic_reason,
           multiIf(rule != 'mail' AND type = 'page_view' AND peak > %(max_views)s,
                       concat('rate:', toString(peak), '/min'),
                   rule = 'web' AND type = 'page_view' AND views >= 3 AND engaged_max = 0, 'no_engaged_seconds',
                   (is_first_open AND clicked_near_open) OR (near_open AND NOT is_first_open)
                       OR (type = 'email_click' AND near_click AND link_burst),
                       multiIf(is_first_open, concat('scanner:click_within_', %(scanner_label)s, '_of_open'),
                               near_open, concat('scanner:within_', %(scanner_label)s, '_of_first_open'),
                               concat('scanner:links_within_', %(scanner_label)s)),
                   '') AS reason
    FROM
    (
        SELECT *,
               countIf(type = 'email_click' AND near_open) OVER g > 0 AS clicked_near_open,
               uniqExactIf(url, type = 'email_click' AND near_click) OVER g >= 3 AS link_burst
        FROM timed
        WINDOW g AS (PARTITION BY rule, key, program_id, day)
    )
)
SELECT event_id, multiIf(reason = '', '', startsWith(reason, 'scanner:'), 'scanner', 'bot') AS verdict, reason
FROM judged
WHERE traffic_reason != reason
  AND (traffic = 'person' OR traffic_reason = 'no_engaged_seconds'
       OR startsWith(traffic_reason, 'rate:') OR startsWith(traffic_reason, 'scanner:'))
"""
