-- Issue 17: the kept page views (0027) ordered by person, so that funnel_counts' visitors (each person's last
-- page-view day, 0500) are grouped as they are read, in key order, instead of in a hash table of every person.
-- At 100M touches that table held 6.7M people: the report took 1.7 GB, grouped in order 0.7 GB (BENCHMARKS.md, "The
-- summary reports grouped in order").
--
-- A page view's person may change between versions (a cookie stitched to an email), and its row moves with it
-- to another key, so the rows are kept as program_successes' are (0020): every version writes a row under the
-- person it names, and a version that takes the page view from another person (retracts = 1, prev_person) also
-- writes a tombstone (is_deleted = 1) under the person it leaves. The highest version of (person, event_id) is
-- what that person holds now: read with FINAL, skip is_deleted. A page view's occurred_at and day never change
-- between versions. Page views with no person (IP only) are no visitor of anyone: not kept.
-- Erasure deletes a person's rows here as it does in touches (sinks/erasure.py); the writer's start-up repair
-- repeats the two views' SELECTs (sinks/touch_copies_sql.py).

DROP VIEW IF EXISTS {database}.page_view_latest_mv;

DROP TABLE IF EXISTS {database}.page_view_latest;

CREATE TABLE {database}.page_view_latest
(
    person      String COMMENT 'touches.person of this version: the email, else the cookie',
    event_id    UUID COMMENT 'The page view (touches.event_id)',
    version     UInt64 COMMENT 'touches.version: the highest row of (person, event_id) is what the person holds',
    is_deleted  UInt8 COMMENT '1 = from this version on, the page view is no longer this person''s',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When it happened',
    day         Date COMMENT 'occurred_at as a day in the reporting time zone (touches.day)',
    traffic     LowCardinality(String) COMMENT 'touches.traffic of this version: person, bot, scanner, ...'
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (person, event_id)
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
COMMENT 'Each person''s page views by version (read with FINAL, skip is_deleted), fed by page_view_latest_mv and _moved_mv';

CREATE MATERIALIZED VIEW {database}.page_view_latest_mv TO {database}.page_view_latest AS
SELECT person, event_id, version, toUInt8(0) AS is_deleted, occurred_at, day, traffic
FROM (SELECT * FROM {database}.touches WHERE type = 'page_view' AND person != '');

CREATE MATERIALIZED VIEW {database}.page_view_latest_moved_mv TO {database}.page_view_latest AS
SELECT prev_person AS person, event_id, version, toUInt8(1) AS is_deleted, occurred_at, day, traffic
FROM (SELECT * FROM {database}.touches
      WHERE type = 'page_view' AND retracts = 1 AND prev_person != person AND prev_person != '');

-- The history so far, every version still stored (a merge of touches keeps the latest only, which gives the same
-- state); the views above already take what arrives meanwhile, and a row twice is harmless.
INSERT INTO {database}.page_view_latest
SELECT person, event_id, version, 0, occurred_at, day, traffic
FROM {database}.touches WHERE type = 'page_view' AND person != '';

INSERT INTO {database}.page_view_latest
SELECT prev_person, event_id, version, 1, occurred_at, day, traffic
FROM {database}.touches WHERE type = 'page_view' AND retracts = 1 AND prev_person != person AND prev_person != '';
