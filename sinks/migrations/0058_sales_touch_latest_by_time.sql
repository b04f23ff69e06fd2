-- Issue 17: the kept sales touches (0026) ordered by time, so that sales_activity_daily (one row per day, rep and
-- account, 0700) is grouped a day at a time as the rows are read, instead of in a hash table of every (day, rep,
-- account) at once: at 100M touches that was 4M groups and 2.1 GB, the largest of the summary reports
-- (BENCHMARKS.md). Reading a period is a range of the key as well.
--
-- A touch's occurred_at never changes between versions (it comes from the event), so (occurred_at, event_id)
-- names one touch as event_id did, and FINAL keeps its highest version as before. The stored `day` may (a version
-- scored after PULSE_REPORTING_TZ changed), so it is no part of the key: the views take the day from occurred_at.
-- Erasure deletes a person's rows here as it does in touches (sinks/erasure.py); the writer's start-up repair
-- repeats the view's SELECT (sinks/touch_copies_sql.py).

DROP VIEW IF EXISTS {database}.sales_touch_latest_mv;

DROP TABLE IF EXISTS {database}.sales_touch_latest;

CREATE TABLE {database}.sales_touch_latest
(
    event_id    UUID COMMENT 'The touch (touches.event_id)',
    version     UInt64 COMMENT 'touches.version: the highest is the current attribution',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When it happened',
    day         Date COMMENT 'occurred_at as a day in the reporting time zone of this version''s scoring (touches.day)',
    account_id  String COMMENT 'The account this version resolves it to ('''' when unresolved)',
    email       String COMMENT 'The person called, met or written to ('''' when the touch named none)',
    person      String COMMENT 'touches.person of this version (erasure deletes by it)',
    type        LowCardinality(String) COMMENT 'call, meeting or sales_email',
    rep         LowCardinality(String) COMMENT 'The rep ('''' when not given)',
    outcome     LowCardinality(String) COMMENT 'A call''s outcome; '''' otherwise',
    direction   LowCardinality(String) COMMENT 'outbound or inbound for a call or sales_email; '''' otherwise'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
COMMENT 'One row per sales touch after merges (read with FINAL): its latest version, by time, fed by sales_touch_latest_mv';

CREATE MATERIALIZED VIEW {database}.sales_touch_latest_mv TO {database}.sales_touch_latest AS
SELECT event_id, version, occurred_at, day, account_id, email, person, type, rep, outcome, direction
FROM {database}.touches
WHERE type IN ('call', 'meeting', 'sales_email');

-- The history so far (the view above already takes what arrives meanwhile; a row twice is harmless).
INSERT INTO {database}.sales_touch_latest
SELECT event_id, version, occurred_at, day, account_id, email, person, type, rep, outcome, direction
FROM {database}.touches
WHERE type IN ('call', 'meeting', 'sales_email');
