-- repeatable: the stage tick's views (issue 17; streams/stages.evaluate), re-created whenever this file changes.
--
-- Their tables are numbered migrations: person_days, person_state and account_state (0038),
-- person_day_minutes, account_daily and the change stamps (0040), contact_keys (0043). Each view gives,
-- for the part a tick names, what the full evaluation (account_engagement_eval, 0100_views.sql) gives;
-- tests/integration/sinks/test_rollup_incremental.py compares the two after every step of a random
-- history. Every read is by key ranges of the part named, so a tick costs what changed.

-- engagement_person_daily's caps (0100_views.sql; keep the two in step) over person_days, for the
-- person-days of one queue batch (batch != 0) or every person-day of a slice of the accounts.
CREATE OR REPLACE VIEW {database}.person_day_values AS
WITH assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(30, 2))
      FROM {database}.scoring_settings WHERE key = 'page_view_daily_cap')) AS cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit_daily_cap')) AS form_cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit')) AS form_base
SELECT account_id, person_key, day, channel,
       toDecimal128(if(channel = 'form' AND sum(n) * form_base > form_cap,
           toDecimal128(round(sum(m) * form_cap / (sum(n) * form_base), 2), 2),
           sum(m) - sum(pm)
           + if(sum(b) > cap,
                toDecimal128(round(sum(pm) * cap / sum(b), 2), 2),
                toDecimal128(sum(pm), 2))), 2) AS minutes,
       sum(n) AS touches,
       toUInt8(channel IN ('web', 'form') AND position(any(who), '@') > 0) AS claimed,
       toUInt8(position(any(who), '@') > 0) AS named
FROM (SELECT account_id, person_key, day, channel, person AS who, minutes AS m, touches AS n, pv_base AS b,
             pv_minutes AS pm
      FROM {database}.person_days
      WHERE if({batch:UInt64} = 0, modulo(cityHash64(account_id), {slices:UInt32}) = {slice:UInt32},
               (account_id, person_key, day) IN (SELECT account_id, person_key, day FROM {database}.person_day_queue
                                                 WHERE batch = {batch:UInt64} AND day < today() - 1))
      UNION ALL
      -- a batch's days from yesterday on (today's traffic) from their own table (0045_person_days_recent.sql)
      SELECT account_id, person_key, day, channel, person AS who, minutes AS m, touches AS n, pv_base AS b,
             pv_minutes AS pm
      FROM {database}.person_days_recent
      WHERE {batch:UInt64} != 0 AND day >= today() - 1
        AND (account_id, person_key, day) IN (SELECT account_id, person_key, day FROM {database}.person_day_queue
                                              WHERE batch = {batch:UInt64} AND day >= today() - 1))
GROUP BY account_id, person_key, day, channel;

-- person_windows: each person's values as at `today`, account_engagement_eval's per-person formula over
-- the capped person-days the tick keeps (person_day_minutes), for one slice of the accounts (batch = 0: a
-- rebuild) or for the people of one person_queue batch (a tick). From the kept person-days, not from the raw
-- person_days: a tick recomputes the person-days first and the people after, and touches stored in between
-- are in person_days but not yet in the kept person-days, whose difference the next tick adds to the people
-- (read from person_days, those touches were counted twice). A claimed email is confirmed by its hash in
-- contact_keys (among the batch's people only, in a tick), not by reading the people's emails again.
CREATE OR REPLACE VIEW {database}.person_windows AS
WITH {today:Date} AS today,
     -- the people: a slice of the accounts, or a batch of people (a range of the key each)
     if({batch:UInt64} = 0, modulo(cityHash64(account_id), {slices:UInt32}) = {slice:UInt32},
        (account_id, person_key) IN (SELECT account_id, person_key FROM {database}.person_queue
                                     WHERE batch = {batch:UInt64})) AS in_scope,
-- each person-day's capped minutes per channel as the tick kept them (their latest version)
capped AS
(
    SELECT account_id, person_key, day, channel, argMax(minutes, version) AS m, argMax(touches, version) AS n,
           argMax(claimed, version) AS claimed
    FROM {database}.person_day_minutes
    WHERE day > today - 400 AND day <= today AND in_scope
    GROUP BY account_id, person_key, day, channel
),
per_claim AS
(
    SELECT account_id, person_key, claimed,
           sumIf(m, day > today - 7)              AS c7,
           sumIf(m, day > today - 30)             AS c30,
           sumIf(m, day > today - 90)             AS c90,
           sumIf(m, day >= toStartOfMonth(today)) AS cmtd,
           sumIf(m, day >= toStartOfYear(today))  AS cytd,
           sumIf(m, day BETWEEN today - 34 AND today - 7) AS c_prior28,
           sum(n) AS n
    FROM capped
    GROUP BY account_id, person_key, claimed
),
per_person AS
(
    SELECT account_id, person_key,
           countIf(NOT claimed AND n != 0) > 0
               -- (a contact: by hashed email, among the batch's people only when a tick)
               OR person_key IN (SELECT person_key FROM {database}.contact_keys
                                 WHERE {batch:UInt64} = 0
                                    OR person_key IN (SELECT person_key FROM {database}.person_queue
                                                      WHERE batch = {batch:UInt64})) AS confirmed,
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
       -- (the person '': touches of nobody known, on the account but no one's)
       toUInt8(person_key != reinterpretAsUInt128(sipHash128('')) AND m90 > 0) AS engaged,
       toUInt8(person_key != reinterpretAsUInt128(sipHash128('')) AND m90 >= 20) AS over_20,
       toUInt8(confirmed) AS confirmed
FROM per_person;

-- account_engagement_tick: account_engagement_eval's columns for the accounts of one stage_queue batch,
-- the per-person rules from account_state (one row of sums per account), active days (re_engaged) from
-- account_daily, and last activity from the account's touches of the last hour, else since the day before
-- its last day with minutes (reading each account's last week instead cost ~750,000 touches for the
-- busiest account of the 100M bench store).
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
           minIf(day, day > today - 7 AND day <= today) AS first_recent,
           maxIf(day, day <= today - 7)                 AS before_recent,
           countIf(day > today - 7 AND day <= today)    AS recent_days,
           countIf(day <= today - 7)                    AS earlier_days
    FROM
    (
        SELECT account_id, day FROM {database}.account_daily
        WHERE account_id IN chosen
        GROUP BY account_id, day HAVING sum(minutes) > 0
    )
    GROUP BY account_id
),
-- The newest live touch with minutes, first among the last hour's touches (every version of a touch has
-- its time): an account a tick decides mostly has one, and the last hour of the busiest account is a
-- few thousand touches where its last two days are hundreds of thousands.
recent_activity AS
(
    SELECT account_id, max(at) AS last_activity_at
    FROM
    (
        SELECT account_id, event_id, argMax(occurred_at, version) AS at, argMax(minutes, version) AS m,
               argMax(is_deleted, version) AS gone
        FROM {database}.account_touches
        WHERE account_id IN chosen AND occurred_at >= {at:DateTime64(3, 'UTC')} - INTERVAL 1 HOUR
        GROUP BY account_id, event_id
    )
    WHERE gone = 0 AND m > 0
    GROUP BY account_id
),
-- Else it lies on or after the account's last day with minutes (a day's capped minutes are positive only
-- if one of its touches has minutes): read from the day before it (the reporting day is not UTC's); only
-- the accounts with no such day read all their touches.
unanswered AS
(
    SELECT account_id FROM chosen WHERE account_id NOT IN (SELECT account_id FROM recent_activity)
),
last_days AS
(
    SELECT account_id, max(day) AS last_day
    FROM
    (
        SELECT account_id, day FROM {database}.account_daily
        WHERE account_id IN unanswered
        GROUP BY account_id, day HAVING sum(minutes) > 0
    )
    GROUP BY account_id
),
touch_versions AS
(
    SELECT t.account_id AS account_id, t.event_id AS event_id, argMax(t.occurred_at, t.version) AS at,
           argMax(t.minutes, t.version) AS m, argMax(t.is_deleted, t.version) AS gone
    FROM {database}.account_touches AS t
    LEFT JOIN last_days AS d ON d.account_id = t.account_id
    WHERE t.account_id IN unanswered
      AND (d.account_id = '' OR t.occurred_at >= toDateTime(d.last_day, '{reporting_tz}') - INTERVAL 1 DAY)
    GROUP BY account_id, event_id
),
last_activity AS
(
    SELECT account_id, last_activity_at FROM recent_activity
    UNION ALL
    SELECT account_id, max(at) AS last_activity_at FROM touch_versions
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
