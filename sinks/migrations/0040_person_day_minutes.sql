-- Issue 17: the account-day rollup kept by differences of capped person-days (sinks/day_state.py).
--
-- Until now the stage tick re-folded account_daily for every (account, day) an insert touched, from all
-- of that day's rows: on the 100M bench store the busiest account's current day holds ~290,000 rows,
-- re-read to add one touch (16-21 s CPU of a 31 s tick; BENCHMARKS.md). The daily caps apply per
-- person-day, so a person-day's capped minutes depend on that person-day alone: the tick now recomputes
-- only the person-days an insert touched (person_day_changes), from person_days, keeps each one's
-- capped value (person_day_minutes), and adds the difference to account_daily, which becomes a sum
-- (the views that compute the values: 0150_stage_tick_views.sql).
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
    claimed    UInt8 COMMENT 'A web or form touch of a person known by an email: counts once the person is confirmed',
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
    minutes Decimal(38, 2), touches Int64, o_minutes Decimal(38, 2), o_touches Int64, claimed UInt8
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_day_minutes_mv TO {database}.person_day_minutes AS
SELECT account_id, person_key, day, channel, version, minutes, touches, claimed
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



-- engagement rows stored before this migration: the next tick rebuilds account_daily and person_day_minutes
INSERT INTO {database}.engagement_changes SELECT 'refold_all', '', toDate(0), now64(3, 'UTC');
