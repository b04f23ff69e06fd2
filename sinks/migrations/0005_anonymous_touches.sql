-- Re-stitching reads the stored rows of a newly identified cookie's anonymous touches, to write their
-- new versions. 0003 made finding their ids cheap, but the rows were then read from `touches` by
-- event_id: one granule of 8,192 rows (every column, payload included) per id, as ids are random.
-- Measured at 10M stored touches: 2-3 s per batch with identifies, growing with the store. This
-- table holds those rows themselves, every version, ordered by cookie in small granules: a lookup
-- reads about the cookie's own rows, whatever the size of the store. It replaces cookie_touches.

CREATE TABLE IF NOT EXISTS {database}.anonymous_touches
(
    anonymous_id String,
    event_id     UUID,
    type         LowCardinality(String),
    occurred_at  DateTime64(3, 'UTC'),
    received_at  DateTime64(3, 'UTC'),
    day          Date,
    account_id   String,
    person       String,
    method       LowCardinality(String),
    channel      LowCardinality(String),
    program_id   String,
    minutes      Decimal(18, 2),
    base_minutes Decimal(18, 2),
    success      UInt8,
    email        String,
    ip           String,
    url          String,
    payload      String,
    retracts     UInt8,
    prev_account_id String,
    prev_person  String,
    prev_minutes Decimal(18, 2),
    prev_base_minutes Decimal(18, 2),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (anonymous_id, event_id)
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
SETTINGS index_granularity = 1024
COMMENT 'Stored touches with a cookie and no email, every version, by cookie: what an identify re-stitches. Read the highest version per event_id.';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.anonymous_touches_mv TO {database}.anonymous_touches AS
SELECT anonymous_id, event_id, type, occurred_at, received_at, day, account_id, person, method, channel, program_id,
       minutes, base_minutes, success, email, ip, url, payload, retracts, prev_account_id, prev_person, prev_minutes,
       prev_base_minutes, version
FROM {database}.touches
WHERE anonymous_id != '' AND email = '';

INSERT INTO {database}.anonymous_touches
SELECT anonymous_id, event_id, type, occurred_at, received_at, day, account_id, person, method, channel, program_id,
       minutes, base_minutes, success, email, ip, url, payload, retracts, prev_account_id, prev_person, prev_minutes,
       prev_base_minutes, version
FROM {database}.touches
WHERE anonymous_id != '' AND email = '';

DROP VIEW IF EXISTS {database}.cookie_touches_mv;

DROP TABLE IF EXISTS {database}.cookie_touches;
