-- Issue 17: a tick moves the people whose person-days changed by the differences, instead of recomputing
-- each of them from 400 days of person_days (sinks/stage_state.py, PersonState.update): at 100M touches that
-- recomputation was 0.75 s of a 4-5 s tick for 900 people, a primary-key lookup per person in every part.
--
-- person_day_batch: each tick's changed person-days with their new and old capped minutes. The tick
-- writes them here first, then into person_day_in from here (sinks/day_state.py), so its people step
-- reads the same differences that account_daily took.
CREATE TABLE IF NOT EXISTS {database}.person_day_batch
(
    batch      UInt64,
    account_id String,
    person_key UInt128,
    day        Date,
    channel    LowCardinality(String),
    minutes    Decimal(38, 2),
    touches    Int64,
    o_minutes  Decimal(38, 2) COMMENT 'The value it replaces (0: a new person-day)',
    o_touches  Int64,
    claimed    UInt8,
    named      UInt8 COMMENT 'The person is an email (only then may a confirmation move their claimed minutes)'
)
ENGINE = MergeTree
ORDER BY (batch, account_id, person_key, day, channel)
TTL toDateTime(intDiv(batch, 1000)) + INTERVAL 1 DAY;

-- person_state_before: the kept state of a batch's people before the tick moves them, looked up once
-- (the people to recompute whole and the moves both read it).
CREATE TABLE IF NOT EXISTS {database}.person_state_before
(
    batch      UInt64,
    account_id String,
    person_key UInt128,
    m7 Decimal(38, 2), m30 Decimal(38, 2), m90 Decimal(38, 2), mtd Decimal(38, 2), ytd Decimal(38, 2),
    m_prior28 Decimal(38, 2), engaged UInt8, over_20 UInt8, confirmed UInt8
)
ENGINE = MergeTree
ORDER BY (batch, account_id, person_key)
TTL toDateTime(intDiv(batch, 1000)) + INTERVAL 1 DAY;
