-- Re-stitching looks up the stored anonymous touches of a newly identified cookie. `touches` is
-- ordered by event_id, so that lookup scanned most of it (a bloom filter cannot skip granules when
-- cookies are spread over all of them) once per batch with an identify: cost growing with the store.
-- This index is ordered by cookie; the view fills it on every insert into touches.

CREATE TABLE IF NOT EXISTS {database}.cookie_touches
(
    anonymous_id String,
    event_id     UUID,
    occurred_at  DateTime64(3, 'UTC') COMMENT 'For the retention TTL, as in touches'
)
ENGINE = ReplacingMergeTree
ORDER BY (anonymous_id, event_id)
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
COMMENT 'Stored touches that carry a cookie and no email, by cookie: what an identify may re-stitch.';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.cookie_touches_mv TO {database}.cookie_touches AS
SELECT anonymous_id, event_id, occurred_at
FROM {database}.touches
WHERE anonymous_id != '' AND email = '';

-- touches stored before this migration (a repeated pair from a concurrent insert collapses: ReplacingMergeTree)
INSERT INTO {database}.cookie_touches
SELECT anonymous_id, event_id, occurred_at
FROM {database}.touches
WHERE anonymous_id != '' AND email = '';

-- the bloom filter it replaces served only that lookup, and cost every insert
ALTER TABLE {database}.touches DROP INDEX IF EXISTS idx_anonymous_id;
