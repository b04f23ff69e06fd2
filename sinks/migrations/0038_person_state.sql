-- Issue 17: each person's window sums, and each account's sum of them, kept up to date by the stage tick
-- (streams/stages.py, sinks/stage_state.py) so that deciding an account reads one row of sums, not every
-- person-day of its 400 days.
--
-- The rules that count people (people engaged in 90 days, people with 20 minutes) and the confirmation of
-- claimed emails are not sums over account-days, but they are sums over people of a value each person's
-- own days give. So the tick keeps, per (account, person), that value (`person_state`), and per account
-- the sum (`account_state`); when a person's days change (a touch, a retraction, an erasure) or a day
-- leaves one of their windows, it recomputes that person alone from `person_days` and adds the
-- difference to their account. The first tick, a contacts import and a change of the caps rebuild it all.
--
-- People are keyed by a 128-bit hash of who they are (`person_key`): the kept sums and the change stamps
-- never hold an email, so an erasure leaves nothing behind but a zero row under a hash.

-- engagement_daily's touch rows by account, person and day (the program dropped): one person's history
-- is a range of the primary key. Small granules: a tick looks up a few people among millions.
CREATE TABLE IF NOT EXISTS {database}.person_days
(
    account_id String,
    person_key UInt128 COMMENT 'sipHash128 of person',
    day        Date,
    channel    LowCardinality(String),
    person     SimpleAggregateFunction(any, String),
    minutes    SimpleAggregateFunction(sum, Decimal(38, 2)),
    touches    SimpleAggregateFunction(sum, Int64),
    pv_base    SimpleAggregateFunction(sum, Decimal(38, 2)),
    pv_minutes SimpleAggregateFunction(sum, Decimal(38, 2))
)
ENGINE = AggregatingMergeTree
ORDER BY (account_id, person_key, day, channel)
TTL day + INTERVAL {retention_months} MONTH
SETTINGS index_granularity = 256
COMMENT 'engagement_daily touch rows per account, person, day and channel (signed sums; the stage tick reads one person at a time)';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_days_mv TO {database}.person_days AS
SELECT account_id, reinterpretAsUInt128(sipHash128(who)) AS person_key, day, channel, any(who) AS person,
       sum(m) AS minutes, sum(n) AS touches, sum(b) AS pv_base, sum(pm) AS pv_minutes
FROM (SELECT account_id, person AS who, day, channel, minutes AS m, touches AS n, pv_base AS b, pv_minutes AS pm
      FROM {database}.engagement_daily WHERE kind = 'touch' AND account_id != '')
GROUP BY account_id, person_key, day, channel;

-- Which people each insert into engagement_daily touched, stamped as it runs (engagement_changes names
-- their accounts and days). An erasure stamps its people itself once their rows are gone.
CREATE TABLE IF NOT EXISTS {database}.person_changes
(
    changed_at DateTime64(3, 'UTC'),
    account_id String,
    person_key UInt128
)
ENGINE = MergeTree
ORDER BY changed_at
TTL toDateTime(changed_at) + INTERVAL 7 DAY
COMMENT 'People (hashed) changed by each insert into engagement_daily, by insert time';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_changes_mv TO {database}.person_changes AS
SELECT now64(3, 'UTC') AS changed_at, account_id, person_key
FROM (SELECT account_id, reinterpretAsUInt128(sipHash128(person)) AS person_key FROM {database}.engagement_daily
      WHERE kind = 'touch' AND account_id != '' GROUP BY account_id, person_key);

-- A person's contribution to their account as at `today` of the tick that wrote it (the latest
-- version wins): account_engagement_eval's per-person values, claimed minutes only once confirmed.
CREATE TABLE IF NOT EXISTS {database}.person_state
(
    account_id String,
    person_key UInt128,
    version    UInt64 COMMENT 'The tick that wrote it (stage_marks.state_version)',
    m7         Decimal(38, 2),
    m30        Decimal(38, 2),
    m90        Decimal(38, 2),
    mtd        Decimal(38, 2),
    ytd        Decimal(38, 2),
    m_prior28  Decimal(38, 2),
    engaged    UInt8 COMMENT 'A known person with minutes in 90 days',
    over_20    UInt8 COMMENT 'A known person with 20 minutes or more in 90 days',
    INDEX idx_version version TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (account_id, person_key)
SETTINGS index_granularity = 256
COMMENT 'Each person''s window sums as the stage tick last computed them; query with FINAL';

-- The sums over an account's people, added to by each tick (its new values less the old).
CREATE TABLE IF NOT EXISTS {database}.account_state
(
    account_id String,
    m7         SimpleAggregateFunction(sum, Decimal(38, 2)),
    m30        SimpleAggregateFunction(sum, Decimal(38, 2)),
    m90        SimpleAggregateFunction(sum, Decimal(38, 2)),
    mtd        SimpleAggregateFunction(sum, Decimal(38, 2)),
    ytd        SimpleAggregateFunction(sum, Decimal(38, 2)),
    m_prior28  SimpleAggregateFunction(sum, Decimal(38, 2)),
    engaged    SimpleAggregateFunction(sum, Int64),
    over_20    SimpleAggregateFunction(sum, Int64),
    version    SimpleAggregateFunction(max, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY account_id
COMMENT 'Per account, the sum of person_state over its people (kept as deltas: read with sum() GROUP BY)';

-- What a tick writes: per person, the new values and the old ones it replaces. One insert feeds both
-- tables; a tick that dies half-way leaves a version newer than its mark, which the next tick of a
-- process finds (sinks/stage_state.py, torn) and answers with a rebuild.
CREATE TABLE IF NOT EXISTS {database}.person_state_in
(
    account_id String, person_key UInt128, version UInt64,
    m7 Decimal(38, 2), m30 Decimal(38, 2), m90 Decimal(38, 2), mtd Decimal(38, 2), ytd Decimal(38, 2),
    m_prior28 Decimal(38, 2), engaged UInt8, over_20 UInt8,
    o_m7 Decimal(38, 2), o_m30 Decimal(38, 2), o_m90 Decimal(38, 2), o_mtd Decimal(38, 2), o_ytd Decimal(38, 2),
    o_m_prior28 Decimal(38, 2), o_engaged UInt8, o_over_20 UInt8
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_state_mv TO {database}.person_state AS
SELECT account_id, person_key, version, m7, m30, m90, mtd, ytd, m_prior28, engaged, over_20
FROM {database}.person_state_in;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_state_mv TO {database}.account_state AS
SELECT account_id, sum(m7 - o_m7) AS m7, sum(m30 - o_m30) AS m30, sum(m90 - o_m90) AS m90,
       sum(mtd - o_mtd) AS mtd, sum(ytd - o_ytd) AS ytd, sum(m_prior28 - o_m_prior28) AS m_prior28,
       sum(toInt64(engaged) - o_engaged) AS engaged, sum(toInt64(over_20) - o_over_20) AS over_20,
       max(version) AS version
FROM {database}.person_state_in
GROUP BY account_id;

-- People whose state a tick recomputes, one batch per tick.
CREATE TABLE IF NOT EXISTS {database}.person_queue
(
    batch      UInt64,
    account_id String,
    person_key UInt128
)
ENGINE = MergeTree
ORDER BY (batch, account_id, person_key)
TTL toDateTime(intDiv(batch, 1000)) + INTERVAL 1 DAY;

ALTER TABLE {database}.stage_marks
    ADD COLUMN IF NOT EXISTS state_version UInt64 DEFAULT 0
        COMMENT 'The version of person_state and account_state this evaluation left (0: none kept)';

-- engagement rows stored before this migration (the first tick after it rebuilds the state: the marks
-- before it have state_version 0)
INSERT INTO {database}.person_days
SELECT account_id, reinterpretAsUInt128(sipHash128(who)) AS person_key, day, channel, any(who) AS person,
       sum(m) AS minutes, sum(n) AS touches, sum(b) AS pv_base, sum(pm) AS pv_minutes
FROM (SELECT account_id, person AS who, day, channel, minutes AS m, touches AS n, pv_base AS b, pv_minutes AS pm
      FROM {database}.engagement_daily WHERE kind = 'touch' AND account_id != '')
GROUP BY account_id, person_key, day, channel;
