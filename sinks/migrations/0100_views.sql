-- repeatable: views are re-created whenever this file (or a setting it uses) changes.

-- `traffic` and `traffic_reason` (issue 19, migration 0015): who made the touch, person, bot, scanner,
-- privacy_proxy or internal, and why; every class but person is stored with 0 minutes and no success.
CREATE OR REPLACE VIEW {database}.events AS
SELECT event_id, type, occurred_at, received_at, day, account_id, person, method, channel,
       program_id, minutes, success, email, anonymous_id, ip, url, payload,
       rep, outcome, direction,  -- sales touches (migration 0014): the rep, a call's outcome, a call's or email's direction
       traffic, traffic_reason
FROM {database}.touches FINAL;

-- The traffic job re-evaluates the days that received touches since its last pass (a late arrival, a
-- replay, a backfill): this index lets it find them without reading every stored touch (parts are
-- written a batch at a time, so each granule spans a short stretch of received_at). Idempotent, so it
-- lives here; parts written before it get it as they merge.
ALTER TABLE {database}.touches ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;

-- Touches per day and traffic class over the last 90 days (reporting time zone), with each class's
-- share of the day's touches in percent: the Data-health page's chart. Heartbeats (page_engagement)
-- are not touches of their own and are left out.
CREATE OR REPLACE VIEW {database}.traffic_daily AS
SELECT day, traffic, touches, round(100 * touches / sum(touches) OVER (PARTITION BY day), 1) AS share
FROM
(
    SELECT day, traffic, count() AS touches
    FROM {database}.touches FINAL
    WHERE type != 'page_engagement'
      AND day > toDate(now(), '{reporting_tz}') - 90 AND day <= toDate(now(), '{reporting_tz}')
    GROUP BY day, traffic
);

-- Capped minutes per account, person, day and channel: page views count at most
-- `page_view_daily_cap` base minutes per person and day, form submissions at most
-- `form_submit_daily_cap` (role multiplier kept). Caps on sums, so the order touches came in
-- never matters. Every form_submit has the same base (`form_submit`), so touches x base is theirs.
CREATE OR REPLACE VIEW {database}.engagement_person_daily AS
WITH assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(30, 2))
      FROM {database}.scoring_settings WHERE key = 'page_view_daily_cap')) AS cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit_daily_cap')) AS form_cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit')) AS form_base
SELECT account_id, person, day, channel,
       toDecimal64(if(channel = 'form' AND sum(e.touches) * form_base > form_cap,
           toDecimal128(round(sum(e.minutes) * form_cap / (sum(e.touches) * form_base), 2), 2),
           sum(minutes) - sum(pv_minutes)
           + if(sum(pv_base) > cap,
                toDecimal128(round(sum(pv_minutes) * cap / sum(pv_base), 2), 2),
                toDecimal128(sum(pv_minutes), 2))), 2) AS minutes,
       sum(touches) AS touches,
       sum(successes) AS successes
FROM {database}.engagement_daily AS e
WHERE kind = 'touch'
GROUP BY account_id, person, day, channel;

-- account_engagement of the registered accounts of one slice (cityHash64(account_id) % slices = slice),
-- all of them (batch = 0) or those of one stage_queue batch, as at the moment `at`. Every read is by
-- account (the primary keys of engagement_daily and account_touches), so evaluating a few accounts
-- costs their own history, not the store's: the worker evaluates the accounts that changed
-- (streams/stages.py), and everything slice by slice, so memory stays bounded.
CREATE OR REPLACE VIEW {database}.account_engagement_eval AS
WITH toDate({at:DateTime64(3, 'UTC')}, '{reporting_tz}') AS today,
chosen AS
(
    SELECT account_id FROM {database}.accounts FINAL
    WHERE modulo(cityHash64(account_id), {slices:UInt32}) = {slice:UInt32}
      AND ({batch:UInt64} = 0
           OR account_id IN (SELECT account_id FROM {database}.stage_queue WHERE batch = {batch:UInt64}))
),
-- A claimed email does not count until it is confirmed (issue 13). Web and form touches of a person
-- known by an email rest on an email anyone can type into a page (identify, form_submit); they count
-- toward the stage only once that person is confirmed at the account: a known contact (the CRM), or
-- a person with a touch only signed input makes (email links, events, calls, meetings). Made-up
-- emails stay unconfirmed, so a script cannot move an account. Decided on the stored sums at each
-- evaluation, so duplicates, replays and arrival order cannot change it.
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
               -- the contacts among these accounts' people only (by key): not a set of every contact
               OR person IN (SELECT email FROM {database}.contacts FINAL
                             WHERE email IN (SELECT person FROM {database}.engagement_daily
                                             WHERE kind = 'touch' AND account_id IN chosen)) AS confirmed,
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
active_days AS
(
    SELECT account_id,
           minIf(day, day > today - 7)  AS first_recent,
           maxIf(day, day <= today - 7) AS before_recent,
           countIf(day > today - 7)     AS recent_days,
           countIf(day <= today - 7)    AS earlier_days
    FROM
    (
        SELECT account_id, day FROM {database}.engagement_person_daily
        WHERE account_id IN chosen AND day <= today
        GROUP BY account_id, day HAVING sum(minutes) > 0
    )
    GROUP BY account_id
),
-- the latest version of each touch the account holds (account_touches, 0004: a version that moved the
-- touch away is a tombstone under this account), as touches FINAL would give it, read by account
last_activity AS
(
    SELECT account_id, max(at) AS last_activity_at
    FROM
    (
        SELECT account_id, event_id, argMax(occurred_at, version) AS at, argMax(minutes, version) AS m,
               argMax(is_deleted, version) AS gone
        FROM {database}.account_touches
        WHERE account_id IN chosen
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

-- account_engagement now, for one slice of the accounts. Analysts query account_engagement (all slices).
CREATE OR REPLACE VIEW {database}.account_engagement_part AS
SELECT * FROM {database}.account_engagement_eval(slices = {slices:UInt32}, slice = {slice:UInt32}, batch = 0,
                                                 at = now64(3));

CREATE OR REPLACE VIEW {database}.account_engagement AS
SELECT * FROM {database}.account_engagement_part(slices = 1, slice = 0);

-- Every program success of all history: the engine reads it from engagement_daily's projection
-- successes_by_program (0051_program_reach_projection.sql), one row per program and account and part.
CREATE OR REPLACE VIEW {database}.program_reach AS
WITH (SELECT count() FROM {database}.accounts FINAL WHERE is_target = 1) AS targets_total,
per_program AS
(
    SELECT s.program_id AS program_id,
           uniqExactIf(s.account_id, t.is_target = 1) AS reached,
           sum(s.successes) AS successes,
           sumIf(s.successes, t.is_target = 1) AS target_successes
    FROM
    (
        SELECT program_id, account_id, sum(successes) AS successes
        FROM {database}.engagement_daily
        WHERE kind = 'touch' AND program_id != ''
        GROUP BY program_id, account_id
        HAVING successes > 0
    ) AS s
    LEFT JOIN (SELECT account_id, is_target FROM {database}.accounts FINAL) AS t ON t.account_id = s.account_id
    GROUP BY s.program_id
)
SELECT if(p.program_id != '', p.program_id, s.program_id)            AS program_id,
       p.name                                                       AS name,
       p.channel                                                    AS channel,
       s.reached                                                    AS target_accounts_reached,
       targets_total                                                AS target_accounts_total,
       if(targets_total = 0, 0, round(100 * s.reached / targets_total, 1))           AS reach_pct,
       if(s.successes = 0, NULL, round(100 * s.target_successes / s.successes, 1))   AS focus_pct,
       if(p.cost IS NULL OR s.reached = 0, NULL, toDecimal64(p.cost / s.reached, 2)) AS cost_per_reached_account
FROM (SELECT * FROM {database}.programs FINAL) AS p
FULL OUTER JOIN per_program AS s ON s.program_id = p.program_id;

CREATE OR REPLACE VIEW {database}.channel_awareness AS
WITH toDate(now(), '{reporting_tz}') AS today,
     (SELECT count() FROM {database}.accounts FINAL WHERE is_target = 1) AS targets_total
SELECT e.channel AS channel,
       uniqExact(e.account_id) AS target_accounts_aware,
       targets_total AS target_accounts_total,
       if(targets_total = 0, 0, round(100 * uniqExact(e.account_id) / targets_total, 1)) AS aware_pct
FROM
(
    SELECT account_id, channel FROM {database}.engagement_person_daily
    WHERE account_id != '' AND day > today - 90 AND day <= today
    GROUP BY account_id, channel HAVING sum(minutes) > 0
) AS e
INNER JOIN (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1) AS t ON t.account_id = e.account_id
GROUP BY e.channel;

CREATE OR REPLACE VIEW {database}.account_coverage AS
WITH known AS
(
    SELECT if(c.account_id != '', c.account_id, d.account_id) AS account_id, uniqExact(c.email) AS contacts_known
    FROM (SELECT email, account_id FROM {database}.contacts FINAL) AS c
    LEFT JOIN
    (
        SELECT arrayJoin(domains) AS domain, any(account_id) AS account_id
        FROM {database}.accounts FINAL GROUP BY domain
    ) AS d ON d.domain = splitByChar('@', c.email)[2]
    GROUP BY account_id
)
SELECT a.account_id                                  AS account_id,
       a.is_target                                   AS is_target,
       k.contacts_known                              AS contacts_known,
       a.committee_size                              AS committee_size,
       if(a.committee_size IS NULL OR a.committee_size = 0, NULL,
          round(least(100, 100 * k.contacts_known / a.committee_size), 1)) AS coverage_pct
FROM {database}.accounts AS a FINAL
LEFT JOIN known AS k ON k.account_id = a.account_id;

-- Engagement minutes of target accounts per day and channel over the last 90 days (daily cap applied).
CREATE OR REPLACE VIEW {database}.target_channel_daily AS
SELECT day, channel, sum(minutes) AS minutes
FROM {database}.engagement_person_daily
WHERE account_id IN (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1)
  AND day > toDate(now(), '{reporting_tz}') - 90 AND day <= toDate(now(), '{reporting_tz}')
GROUP BY day, channel;

-- The stage of each account as recorded at a moment: its latest change at or before `at` (a
-- change_id is account:n, the n-th change, so the highest n wins, whatever the clock said).
-- `changes` counts them: the next change of the account is number changes + 1.
CREATE OR REPLACE VIEW {database}.account_stage_as_of AS
SELECT account_id,
       argMax(stage_to, toUInt64OrZero(splitByChar(':', change_id)[-1])) AS stage,
       uniqExact(change_id) AS changes
FROM {database}.stage_changes
WHERE changed_at <= {at:DateTime64(3, 'UTC')}
GROUP BY account_id;

-- The stage of each account as last recorded (no row: never changed, so unaware).
CREATE OR REPLACE VIEW {database}.account_stage AS
SELECT account_id, stage, changes FROM {database}.account_stage_as_of(at = '2299-12-31 23:59:59');

-- The reporting periods the revenue and funnel summaries count in: each period's first day up to
-- today (reporting time zone; 90d and 365d are today and the 89 or 364 days before), in report order.
CREATE OR REPLACE VIEW {database}.reporting_periods AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT tupleElement(p, 1) AS period, tupleElement(p, 2) AS start, tupleElement(p, 3) AS ordinal
FROM (SELECT arrayJoin([('mtd', toStartOfMonth(today), 1), ('qtd', toStartOfQuarter(today), 2),
                        ('ytd', toStartOfYear(today), 3), ('90d', today - 89, 4),
                        ('365d', today - 364, 5)]) AS p);

-- The reporting day (reporting time zone) of a moment: the stage evaluator's clock (streams/stages.py).
CREATE OR REPLACE VIEW {database}.reporting_day AS
SELECT toDate({at:DateTime64(3, 'UTC')}, '{reporting_tz}') AS day;
