-- Issue 17: the account-day rollup kept by differences of capped person-days (sinks/day_state.py).
--
-- Until now the stage tick re-folded account_daily for every (account, day) an insert touched, from all
-- of that day's rows: on the 100M bench store the busiest account's current day holds ~290,000 rows,
-- re-read to add one touch (16-21 s CPU of a 31 s tick; BENCHMARKS.md). The daily caps apply per
-- person-day, so a person-day's capped minutes depend on that person-day alone: the tick now recomputes
-- only the person-days an insert touched (person_day_changes), from person_days, keeps each one's
-- capped value (person_day_minutes), and adds the difference to account_daily, which becomes a sum.
--
-- Every write carries the tick's version, and a row for account '' (day 1970-01-01) carries only the
-- version, so that a tick that died half-way (a version its mark does not name) or a rebuild that died
-- after clearing (no version at all) is found and answered with a rebuild, as for person_state (0038).

-- Which person-days each insert into engagement_daily touched, stamped as it runs (replaces
-- person_changes: the people are these rows' (account, person) pairs). An erasure stamps its own.
CREATE TABLE IF NOT EXISTS {database}.person_day_changes
(
    changed_at DateTime64(3, 'UTC'),
    account_id String,
    person_key UInt128,
    day        Date
)
ENGINE = MergeTree
ORDER BY changed_at
TTL toDateTime(changed_at) + INTERVAL 7 DAY
COMMENT 'Person-days (hashed people) changed by each insert into engagement_daily, by insert time';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_day_changes_mv TO {database}.person_day_changes AS
SELECT now64(3, 'UTC') AS changed_at, account_id, person_key, day
FROM (SELECT account_id, reinterpretAsUInt128(sipHash128(person)) AS person_key, day FROM {database}.engagement_daily
      WHERE kind = 'touch' AND account_id != '' GROUP BY account_id, person_key, day);

DROP VIEW IF EXISTS {database}.person_changes_mv;

DROP TABLE IF EXISTS {database}.person_changes;

-- Each person-day's capped minutes and touches per channel as the tick last computed them.
CREATE TABLE IF NOT EXISTS {database}.person_day_minutes
(
    account_id String,
    person_key UInt128,
    day        Date,
    channel    LowCardinality(String),
    version    UInt64 COMMENT 'The tick that wrote it (stage_marks.state_version)',
    minutes    Decimal(38, 2) COMMENT 'Engagement minutes, daily caps applied',
    touches    Int64,
    INDEX idx_version version TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
-- by month: a tick's person-days are nearly all of this month, and a lookup's cost follows the marks of
-- the parts it searches
PARTITION BY toYYYYMM(day)
ORDER BY (account_id, person_key, day, channel)
TTL day + INTERVAL {retention_months} MONTH
SETTINGS index_granularity = 256
COMMENT 'Capped minutes per account, person (hashed), day and channel, kept by the stage tick; query with FINAL';

-- account_daily again, as sums of the person-days' differences (read with sum() GROUP BY, no FINAL).
DROP TABLE IF EXISTS {database}.account_daily;

CREATE TABLE IF NOT EXISTS {database}.account_daily
(
    account_id String,
    day        Date,
    channel    LowCardinality(String),
    minutes    SimpleAggregateFunction(sum, Decimal(38, 2)) COMMENT 'Engagement minutes, daily caps applied per person-day',
    touches    SimpleAggregateFunction(sum, Int64),
    version    SimpleAggregateFunction(max, UInt64) COMMENT 'The last tick that changed it'
)
ENGINE = AggregatingMergeTree
ORDER BY (account_id, day, channel)
-- (the version row is dated 1970: kept)
TTL day + INTERVAL {retention_months} MONTH DELETE WHERE account_id != ''
COMMENT 'Engagement per account, day and channel (caps applied per person-day), kept by the stage tick; read with sum() GROUP BY';

-- What a tick writes: per person-day and channel, the new values and the old ones they replace.
CREATE TABLE IF NOT EXISTS {database}.person_day_in
(
    account_id String, person_key UInt128, day Date, channel LowCardinality(String), version UInt64,
    minutes Decimal(38, 2), touches Int64, o_minutes Decimal(38, 2), o_touches Int64
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_day_minutes_mv TO {database}.person_day_minutes AS
SELECT account_id, person_key, day, channel, version, minutes, touches
FROM {database}.person_day_in WHERE account_id != '';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_daily_mv TO {database}.account_daily AS
SELECT account_id, day, channel, sum(minutes - o_minutes) AS minutes, sum(touches - o_touches) AS touches,
       max(version) AS version
FROM {database}.person_day_in
GROUP BY account_id, day, channel;

-- The person-days of one person_day_queue batch, or (batch = 0) of one slice of the accounts.
CREATE TABLE IF NOT EXISTS {database}.person_day_queue
(
    batch      UInt64,
    account_id String,
    person_key UInt128,
    day        Date
)
ENGINE = MergeTree
ORDER BY (batch, account_id, person_key, day)
TTL toDateTime(intDiv(batch, 1000)) + INTERVAL 1 DAY;

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
       sum(n) AS touches
FROM (SELECT account_id, person_key, day, channel, minutes AS m, touches AS n, pv_base AS b, pv_minutes AS pm
      FROM {database}.person_days
      WHERE if({batch:UInt64} = 0, modulo(cityHash64(account_id), {slices:UInt32}) = {slice:UInt32},
               (account_id, person_key, day) IN (SELECT account_id, person_key, day FROM {database}.person_day_queue
                                                 WHERE batch = {batch:UInt64})))
GROUP BY account_id, person_key, day, channel;

-- engagement rows stored before this migration: the next tick rebuilds account_daily and person_day_minutes
INSERT INTO {database}.engagement_changes SELECT 'refold_all', '', toDate(0), now64(3, 'UTC');

-- The tick's evaluation (0039), reading the new account_daily (sums: no FINAL), and each account's last
-- activity from its touches since its last day with minutes rather than from its last week: on the 100M
-- bench store the busiest account's week is ~750,000 touches. Same columns and values as
-- account_engagement_eval; tests/integration/sinks/test_rollup_incremental.py compares the two.
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
           countIf(day <= today - 7)                    AS earlier_days,
           max(day)                                     AS last_day
    FROM
    (
        SELECT account_id, day FROM {database}.account_daily
        WHERE account_id IN chosen
        GROUP BY account_id, day HAVING sum(minutes) > 0
    )
    GROUP BY account_id
),
-- The newest live touch with minutes lies on or after the account's last day with minutes (a day's
-- capped minutes are positive only if one of its touches has minutes): read from the day before it (the
-- reporting day is not UTC's), only the accounts with no such day read all their touches.
touch_versions AS
(
    SELECT t.account_id AS account_id, t.event_id AS event_id, argMax(t.occurred_at, t.version) AS at,
           argMax(t.minutes, t.version) AS m, argMax(t.is_deleted, t.version) AS gone
    FROM {database}.account_touches AS t
    LEFT JOIN active_days AS d ON d.account_id = t.account_id
    WHERE t.account_id IN chosen
      AND (d.account_id = '' OR t.occurred_at >= toDateTime(d.last_day, '{reporting_tz}') - INTERVAL 1 DAY)
    GROUP BY account_id, event_id
),
last_activity AS
(
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
