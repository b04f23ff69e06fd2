-- Each sales touch's latest version kept as the touches arrive (issue 16), so that the sales views (0700) read a
-- narrow table of the sales touches only instead of taking argMax over every version of the calls, meetings and
-- sales_emails among all touches. A version re-attributes a touch (account_id, person); it never changes
-- its type, email, occurred_at or payload (rep, outcome, direction): the table holds every version the touches
-- insert brings and keeps the highest (ReplacingMergeTree by version), so a touch or version stored twice
-- changes nothing. Read it with FINAL. Erasure deletes a person's rows here as it does in touches
-- (sinks/erasure.py); TTL and partitions as touches'.
CREATE TABLE IF NOT EXISTS {database}.sales_touch_latest
(
    event_id    UUID COMMENT 'The touch (touches.event_id)',
    version     UInt64 COMMENT 'touches.version: the highest is the current attribution',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When it happened',
    day         Date COMMENT 'occurred_at as a day in the reporting time zone (touches.day)',
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
ORDER BY event_id
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
COMMENT 'One row per sales touch after merges (read with FINAL): its latest version, fed by sales_touch_latest_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_touch_latest_mv TO {database}.sales_touch_latest AS
SELECT event_id, version, occurred_at, day, account_id, email, person, type, rep, outcome, direction
FROM {database}.touches
WHERE type IN ('call', 'meeting', 'sales_email');

-- The history so far (the view already takes what arrives meanwhile; a row twice is harmless).
INSERT INTO {database}.sales_touch_latest
SELECT event_id, version, occurred_at, day, account_id, email, person, type, rep, outcome, direction
FROM {database}.touches
WHERE type IN ('call', 'meeting', 'sales_email');
