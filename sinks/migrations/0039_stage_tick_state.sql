-- Issue 17: the stage tick's views over the kept per-person state (0038_person_state.sql).
--
-- person_windows: each person's values as at `today`, account_engagement_eval's per-person formula
-- (0100_views.sql) over person_days, for one slice of the accounts (batch = 0: a rebuild) or for the
-- people of one person_queue batch (a tick). Either way every read is a range of person_days' key.
CREATE OR REPLACE VIEW {database}.person_windows AS
WITH {today:Date} AS today,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(30, 2))
      FROM {database}.scoring_settings WHERE key = 'page_view_daily_cap')) AS cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit_daily_cap')) AS form_cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit')) AS form_base,
     -- the people: a slice of the accounts, or a batch of people (a range of the key each)
     if({batch:UInt64} = 0, modulo(cityHash64(account_id), {slices:UInt32}) = {slice:UInt32},
        (account_id, person_key) IN (SELECT account_id, person_key FROM {database}.person_queue
                                     WHERE batch = {batch:UInt64})) AS in_scope,
-- engagement_person_daily's caps, per person-day and channel
capped AS
(
    SELECT account_id, person_key, any(person) AS who, day, channel,
           toDecimal64(if(channel = 'form' AND sum(touches) * form_base > form_cap,
               toDecimal128(round(sum(minutes) * form_cap / (sum(touches) * form_base), 2), 2),
               sum(minutes) - sum(pv_minutes)
               + if(sum(pv_base) > cap,
                    toDecimal128(round(sum(pv_minutes) * cap / sum(pv_base), 2), 2),
                    toDecimal128(sum(pv_minutes), 2))), 2) AS m,
           sum(touches) AS n
    FROM {database}.person_days
    WHERE day > today - 400 AND day <= today AND in_scope
    GROUP BY account_id, person_key, day, channel
),
per_claim AS
(
    SELECT account_id, person_key, who, channel IN ('web', 'form') AND position(who, '@') > 0 AS claimed,
           sumIf(m, day > today - 7)              AS c7,
           sumIf(m, day > today - 30)             AS c30,
           sumIf(m, day > today - 90)             AS c90,
           sumIf(m, day >= toStartOfMonth(today)) AS cmtd,
           sumIf(m, day >= toStartOfYear(today))  AS cytd,
           sumIf(m, day BETWEEN today - 34 AND today - 7) AS c_prior28,
           sum(n) AS n
    FROM capped
    GROUP BY account_id, person_key, who, claimed
),
per_person AS
(
    SELECT account_id, person_key, any(who) AS person,
           countIf(NOT claimed AND n != 0) > 0
               -- (the contacts among the people with claimed touches: read from person_days again, which
               -- costs less than per_claim again: a WITH query is computed where it is named)
               OR person IN (SELECT email FROM {database}.contacts FINAL
                             WHERE email IN (SELECT person FROM {database}.person_days
                                             WHERE day > today - 400 AND day <= today AND in_scope
                                               AND channel IN ('web', 'form'))) AS confirmed,
           sumIf(c7, NOT claimed) + if(confirmed, sumIf(c7, claimed), 0) AS m7,
           sumIf(c30, NOT claimed) + if(confirmed, sumIf(c30, claimed), 0) AS m30,
           sumIf(c90, NOT claimed) + if(confirmed, sumIf(c90, claimed), 0) AS m90,
           sumIf(cmtd, NOT claimed) + if(confirmed, sumIf(cmtd, claimed), 0) AS mtd,
           sumIf(cytd, NOT claimed) + if(confirmed, sumIf(cytd, claimed), 0) AS ytd,
           sumIf(c_prior28, NOT claimed) + if(confirmed, sumIf(c_prior28, claimed), 0) AS m_prior28
    FROM per_claim
    GROUP BY account_id, person_key
)
SELECT account_id, person_key,
       toDecimal128(m7, 2) AS m7, toDecimal128(m30, 2) AS m30, toDecimal128(m90, 2) AS m90,
       toDecimal128(mtd, 2) AS mtd, toDecimal128(ytd, 2) AS ytd, toDecimal128(m_prior28, 2) AS m_prior28,
       toUInt8(person != '' AND m90 > 0) AS engaged, toUInt8(person != '' AND m90 >= 20) AS over_20
FROM per_person;

-- The tick's evaluation (streams/stages.evaluate), as 0032 and 0036 made it, but the per-person rules read from
-- account_state (one row of sums per account) instead of every person-day of the account's 400 days.
-- Same columns and values as account_engagement_eval; tests/integration/sinks/test_rollup_incremental.py
-- compares the two after every step of a random history.
CREATE OR REPLACE VIEW {database}.account_engagement_tick AS
WITH toDate({at:DateTime64(3, 'UTC')}, '{reporting_tz}') AS today,
chosen AS
(
    SELECT account_id FROM {database}.accounts FINAL
    WHERE account_id IN (SELECT account_id FROM {database}.stage_queue WHERE batch = {batch:UInt64})
),
per_account AS
(
    SELECT account_id,
           sum(m7) AS minutes_7d, sum(m30) AS minutes_30d, sum(m90) AS minutes_90d,
           sum(mtd) AS minutes_mtd, sum(ytd) AS minutes_ytd, sum(m_prior28) AS minutes_prior28,
           sum(engaged) AS people_engaged_90d, sum(over_20) AS people_20min_90d
    FROM {database}.account_state
    WHERE account_id IN chosen
    GROUP BY account_id
),
active_days AS
(
    SELECT account_id,
           minIf(day, day > today - 7)  AS first_recent,
           maxIf(day, day <= today - 7) AS before_recent,
           countIf(day > today - 7)     AS recent_days,
           countIf(day <= today - 7)    AS earlier_days
    FROM
    (
        SELECT account_id, day FROM {database}.account_daily FINAL
        WHERE account_id IN chosen AND day <= today
        GROUP BY account_id, day HAVING sum(minutes) > 0
    )
    GROUP BY account_id
),
recent_activity AS
(
    SELECT account_id, max(at) AS last_activity_at
    FROM
    (
        SELECT account_id, event_id, argMax(occurred_at, version) AS at, argMax(minutes, version) AS m,
               argMax(is_deleted, version) AS gone
        FROM {database}.account_touches
        WHERE account_id IN chosen AND occurred_at >= {at:DateTime64(3, 'UTC')} - INTERVAL 7 DAY
        GROUP BY account_id, event_id
    )
    WHERE gone = 0 AND m > 0
    GROUP BY account_id
),
last_activity AS
(
    SELECT account_id, last_activity_at FROM recent_activity
    UNION ALL
    SELECT account_id, max(at) AS last_activity_at
    FROM
    (
        SELECT account_id, event_id, argMax(occurred_at, version) AS at, argMax(minutes, version) AS m,
               argMax(is_deleted, version) AS gone
        FROM {database}.account_touches
        WHERE account_id IN chosen AND account_id NOT IN (SELECT account_id FROM recent_activity)
        GROUP BY account_id, event_id
    )
    WHERE gone = 0 AND m > 0
    GROUP BY account_id
)
SELECT a.account_id                                  AS account_id,
       a.name                                        AS account_name,
       a.tier                                        AS tier,
       a.owner                                       AS owner,
       a.is_target                                   AS is_target,
       toDecimal64(p.minutes_7d, 2)                  AS minutes_7d,
       toDecimal64(p.minutes_30d, 2)                 AS minutes_30d,
       toDecimal64(p.minutes_90d, 2)                 AS minutes_90d,
       toDecimal64(p.minutes_mtd, 2)                 AS minutes_mtd,
       toDecimal64(p.minutes_ytd, 2)                 AS minutes_ytd,
       toUInt64(p.people_engaged_90d)                AS people_engaged_90d,
       multiIf(p.minutes_90d >= 100 AND p.people_20min_90d >= 2, 'mqa',
               p.minutes_90d >= 10, 'engaged',
               p.minutes_90d > 0, 'aware',
               'unaware')                            AS stage,
       toUInt8(p.minutes_7d >= 10 AND p.minutes_7d >= 2 * p.minutes_prior28 / 4) AS surging,
       toUInt8(d.recent_days > 0 AND d.earlier_days > 0
               AND dateDiff('day', d.before_recent, d.first_recent) > 60)     AS re_engaged,
       if(l.account_id = '', NULL, l.last_activity_at) AS last_activity_at
FROM {database}.accounts AS a FINAL
LEFT JOIN per_account AS p ON p.account_id = a.account_id
LEFT JOIN active_days AS d ON d.account_id = a.account_id
LEFT JOIN last_activity AS l ON l.account_id = a.account_id
WHERE a.account_id IN chosen;
