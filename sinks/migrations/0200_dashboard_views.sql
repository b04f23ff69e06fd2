-- repeatable: the views the dashboard pages read (ui/queries.py), re-created whenever this file changes.
-- They read the daily aggregates (engagement_person_daily of 0100: minutes with the page-view daily
-- cap applied, so they agree with account_engagement) and the dimension tables, never raw touches
-- with FINAL, so the live tiles stay cheap. Each column is explained on its line and in the README
-- ("Dashboard"). Signed rows: retractions are negative rows, so every figure here is a sum.

CREATE OR REPLACE VIEW {database}.channel_trend AS
WITH targets AS
(
    SELECT account_id, argMax(is_target, updated_at) AS is_target
    FROM {database}.accounts
    GROUP BY account_id
)
SELECT d.day                                            AS day,        -- day in the reporting time zone
       d.channel                                        AS channel,    -- web, email, event, call, meeting, form
       multiIf(d.account_id = '', 'unresolved',
               t.is_target = 1, 'target', 'other')      AS audience,   -- target account, other registered account, or no account found
       sum(d.minutes)                                   AS minutes,    -- engagement minutes (role multiplier applied)
       sum(d.touches)                                   AS touches,    -- number of touches
       sum(d.successes)                                 AS successes   -- touches that were a program success (reach)
FROM {database}.engagement_person_daily AS d
LEFT JOIN targets AS t ON t.account_id = d.account_id
GROUP BY day, channel, audience
COMMENT 'Engagement per day, channel and audience (target / other / unresolved): the trend charts';

CREATE OR REPLACE VIEW {database}.account_people AS
WITH toDate(now(), '{reporting_tz}') AS today,
contact AS
(
    SELECT email, argMax(name, updated_at) AS name, argMax(title, updated_at) AS title,
           argMax(role, updated_at) AS role
    FROM {database}.contacts
    GROUP BY email
)
SELECT p.account_id                                   AS account_id,        -- resolved account
       p.person                                       AS person,            -- email, else anonymous id
       ifNull(c.name, '')                             AS name,              -- from the contact record, empty when unknown
       ifNull(c.title, '')                            AS title,             -- job title from the contact record
       if(c.role = '' OR c.role IS NULL, 'unknown', c.role) AS role,        -- buying role: c_level, vp, director, manager, other, unknown
       toUInt8(c.email IS NOT NULL AND c.email != '')  AS is_contact,       -- 1 = a known contact (in the registry)
       p.minutes_7d                                   AS minutes_7d,        -- engagement minutes, today and the 6 days before
       p.minutes_30d                                  AS minutes_30d,       -- engagement minutes, 30 days
       p.minutes_90d                                  AS minutes_90d,       -- engagement minutes, 90 days (the stage window)
       p.touches_90d                                  AS touches_90d,       -- touches in 90 days
       p.last_activity_day                            AS last_activity_day  -- last day with minutes above 0
FROM
(
    SELECT account_id, person,
           sumIf(minutes, day > today - 7)     AS minutes_7d,
           sumIf(minutes, day > today - 30)    AS minutes_30d,
           sum(minutes)                        AS minutes_90d,
           sum(touches)                        AS touches_90d,
           maxIf(day, minutes > 0)             AS last_activity_day
    FROM {database}.engagement_person_daily
    WHERE account_id != '' AND person != '' AND day > today - 90 AND day <= today
    GROUP BY account_id, person
    HAVING minutes_90d > 0
) AS p
LEFT JOIN contact AS c ON c.email = p.person
SETTINGS join_use_nulls = 1
COMMENT 'People engaged at each account in the last 90 days, with role and minutes (the Account page)';

CREATE OR REPLACE VIEW {database}.owner_summary AS
SELECT owner                                   AS owner,            -- account owner (sales rep); empty = unassigned
       count()                                 AS target_accounts,  -- target accounts this owner holds
       countIf(stage != 'unaware')             AS aware,            -- of them: any engagement in 90 days
       countIf(stage IN ('engaged', 'mqa'))    AS engaged,          -- of them: engaged or MQA
       countIf(stage = 'mqa')                  AS mqa,              -- of them: marketing-qualified accounts
       sum(minutes_30d)                        AS minutes_30d       -- their engagement minutes, 30 days
FROM {database}.account_engagement
WHERE is_target = 1
GROUP BY owner
COMMENT 'Target accounts per owner and stage (the owner filter and the owners chart)';

CREATE OR REPLACE VIEW {database}.resolution_daily AS
SELECT day                                              AS day,            -- day in the reporting time zone
       all_touches                                      AS touches,        -- every stored touch
       unresolved_touches                               AS unresolved,     -- touches no account was found for
       if(all_touches = 0, 0, round(100 * unresolved_touches / all_touches, 1)) AS unresolved_pct -- share unresolved, in %
FROM
(
    SELECT day, sum(touches) AS all_touches, sumIf(touches, account_id = '') AS unresolved_touches
    FROM {database}.engagement_daily
    WHERE kind = 'touch'
    GROUP BY day
)
COMMENT 'Touches per day and the share that resolved to no account (the Pipeline page)';

CREATE OR REPLACE VIEW {database}.target_stages_week_ago AS
WITH now() - INTERVAL 7 DAY AS week_ago
SELECT week_ago                                       AS as_of,    -- the moment the counts describe (7 days ago)
       count()                                        AS targets,  -- target accounts registered now
       countIf(s.stage IN ('aware', 'engaged', 'mqa')) AS aware,   -- stage aware or higher at that moment
       countIf(s.stage IN ('engaged', 'mqa'))          AS engaged,  -- stage engaged or MQA at that moment
       countIf(s.stage = 'mqa')                        AS mqa,      -- stage MQA at that moment
       (SELECT minOrNull(changed_at) FROM {database}.stage_changes) AS history_starts -- first recorded change (NULL: none); counts before it are not known
FROM (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1) AS a
LEFT JOIN {database}.account_stage_as_of(at = week_ago) AS s ON s.account_id = a.account_id
SETTINGS join_use_nulls = 0
COMMENT 'Target accounts per stage as recorded 7 days ago (the latest stage change at or before then, from stage_changes; none = unaware): the change on the Overview tiles. Reads only the small history table.';
