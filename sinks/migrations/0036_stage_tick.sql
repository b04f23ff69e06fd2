-- Issue 17: the incremental tick's evaluation (streams/stages.evaluate), as first made in 0032.
--
-- 0033 and 0034 kept person-days (person_daily) and each person's window sums (person_windows) for it;
-- measured on the bench store (pulse bench rollups: a person for about every touch, so an account has
-- about as many people as person-days) the tick re-folding them cost more than the evaluation they
-- saved (10M touches, a tick after 1,000 new touches: 16-20 s CPU against 10-11 s without them; see
-- BENCHMARKS.md). They are dropped here, with what they held per person, and the tick reads
-- engagement_person_daily again.
DROP VIEW IF EXISTS {database}.person_windows_eval;

DROP TABLE IF EXISTS {database}.person_windows;

DROP TABLE IF EXISTS {database}.person_queue;

DROP TABLE IF EXISTS {database}.person_daily;

-- The tick's evaluation: account_engagement_eval's formula (0100_views.sql, the full evaluation and the
-- reference the tests compare with) for the accounts of one stage_queue batch, reading less of each
-- account's history:
-- - the days an account was active (re_engaged) from account_daily, which the tick has just re-folded
--   (a row per day and channel), not from every person-day of its history;
-- - its last activity from the last week's versions of its touches in account_touches (by account and
--   time: a range of the primary key) when the account has a valid one there (a latest version under
--   it, not moved away, minutes > 0), else, for accounts quiet for a week, from all its touches: the
--   newest valid touch is the same either way, and the accounts a tick re-decides are mostly active.
-- Same columns and values as account_engagement_eval; tests/integration/sinks/test_rollup_incremental.py
-- compares the two after every step of a random history.
CREATE OR REPLACE VIEW {database}.account_engagement_tick AS
WITH toDate({at:DateTime64(3, 'UTC')}, '{reporting_tz}') AS today,
chosen AS
(
    SELECT account_id FROM {database}.accounts FINAL
    WHERE account_id IN (SELECT account_id FROM {database}.stage_queue WHERE batch = {batch:UInt64})
),
per_person_claim AS
(
    SELECT account_id, person, channel IN ('web', 'form') AND position(person, '@') > 0 AS claimed,
           sumIf(minutes, day > today - 7)              AS c7,
           sumIf(minutes, day > today - 30)             AS c30,
           sumIf(minutes, day > today - 90)             AS c90,
           sumIf(minutes, day >= toStartOfMonth(today)) AS cmtd,
           sumIf(minutes, day >= toStartOfYear(today))  AS cytd,
           sumIf(minutes, day BETWEEN today - 34 AND today - 7) AS c_prior28,
           sum(touches) AS n
    FROM {database}.engagement_person_daily
    WHERE account_id IN chosen AND day > today - 400 AND day <= today
    GROUP BY account_id, person, claimed
),
per_person AS
(
    SELECT account_id, person,
           countIf(NOT claimed AND n != 0) > 0
               -- (the contacts among the people with claimed touches of the 400 days: only theirs count)
               OR person IN (SELECT email FROM {database}.contacts FINAL
                             WHERE email IN (SELECT person FROM {database}.engagement_daily
                                             WHERE kind = 'touch' AND account_id IN chosen
                                               AND day > today - 400 AND day <= today
                                               AND channel IN ('web', 'form'))) AS confirmed,
           sumIf(c7, NOT claimed) + if(confirmed, sumIf(c7, claimed), 0) AS m7,
           sumIf(c30, NOT claimed) + if(confirmed, sumIf(c30, claimed), 0) AS m30,
           sumIf(c90, NOT claimed) + if(confirmed, sumIf(c90, claimed), 0) AS m90,
           sumIf(cmtd, NOT claimed) + if(confirmed, sumIf(cmtd, claimed), 0) AS mtd,
           sumIf(cytd, NOT claimed) + if(confirmed, sumIf(cytd, claimed), 0) AS ytd,
           sumIf(c_prior28, NOT claimed) + if(confirmed, sumIf(c_prior28, claimed), 0) AS m_prior28
    FROM per_person_claim
    GROUP BY account_id, person
),
per_account AS
(
    SELECT account_id,
           sum(m7) AS minutes_7d, sum(m30) AS minutes_30d, sum(m90) AS minutes_90d,
           sum(mtd) AS minutes_mtd, sum(ytd) AS minutes_ytd, sum(m_prior28) AS minutes_prior28,
           countIf(person != '' AND m90 > 0)  AS people_engaged_90d,
           countIf(person != '' AND m90 >= 20) AS people_20min_90d
    FROM per_person
    GROUP BY account_id
),
-- account_daily's minutes of a day are its person-days' (caps applied) summed per channel
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
-- the newest valid touch among those of the week before `at` (and any dated after it) ...
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
-- ... else among all of the account's touches
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
       p.people_engaged_90d                          AS people_engaged_90d,
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
