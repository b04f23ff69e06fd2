-- Each page view's latest version kept as the touches arrive (issue 16), for funnel_counts' visitors (distinct
-- people with a page view in each period, 0500): a narrow table of the page views only, instead of every touch
-- read with FINAL. A version may give a page view another person (a cookie stitched to an email) or another
-- traffic class (re-classification); the table holds every version the touches insert brings and keeps the
-- highest (ReplacingMergeTree by version), so a page view or version stored twice changes nothing, and a person
-- whose page views all moved to someone else (or became a bot's) is no visitor any more. Read it with FINAL.
-- Erasure deletes a person's rows here as it does in touches (sinks/erasure.py); TTL and partitions as touches'.
CREATE TABLE IF NOT EXISTS {database}.page_view_latest
(
    event_id    UUID COMMENT 'The page view (touches.event_id)',
    version     UInt64 COMMENT 'touches.version: the highest is the current one',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When it happened',
    day         Date COMMENT 'occurred_at as a day in the reporting time zone (touches.day)',
    person      String COMMENT 'touches.person of this version: the email, else the cookie ('''' for IP only)',
    traffic     LowCardinality(String) COMMENT 'touches.traffic of this version: person, bot, scanner, ...'
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
COMMENT 'One row per page view after merges (read with FINAL): its latest version, fed by page_view_latest_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.page_view_latest_mv TO {database}.page_view_latest AS
SELECT event_id, version, occurred_at, day, person, traffic FROM {database}.touches WHERE type = 'page_view';

-- The history so far (the view already takes what arrives meanwhile; a row twice is harmless).
INSERT INTO {database}.page_view_latest
SELECT event_id, version, occurred_at, day, person, traffic FROM {database}.touches WHERE type = 'page_view';
