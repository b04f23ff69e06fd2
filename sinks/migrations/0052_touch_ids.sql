-- Issue 17: the writer's duplicate check for ids it does not hold in memory (a touch that occurred before
-- the days it holds, or any id on a shared store) asks whether the id is stored. touches is ordered by
-- event_id, but in granules of 8,192 wide rows: at 100M stored touches one check of 60 late ids read about
-- 500 granules, 4M rows (0.12-0.37 s a batch, a third of the sink's time there; BENCHMARKS.md). This
-- table holds only the ids and their times, in granules of 256, for that check: a few hundred thousand rows.
--
-- A projection of touches cannot do it: the engine picks a projection only when it reads fewer marks,
-- and finer granules mean more marks for the same rows. An erasure deletes the ids of the touches it
-- deletes (sinks/erasure.py), as it does every kept copy; the workers drop an erased person's replays.
CREATE TABLE IF NOT EXISTS {database}.touch_ids
(
    event_id    UUID,
    occurred_at DateTime64(3, 'UTC') COMMENT 'The partition key, as in touches: a check by time reads its months'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
SETTINGS index_granularity = 256
COMMENT 'Every stored touch id (the writer''s duplicate check), kept with touches by touch_ids_mv';

-- Every version: a merge of touches keeps only the latest one of an id, which may be a new version
-- (re-attribution), so no version may be left out; a merge here keeps one row an id.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.touch_ids_mv TO {database}.touch_ids AS
SELECT event_id, occurred_at FROM {database}.touches;

-- touches stored before this migration (an insert running meanwhile lands twice: a merge keeps one)
INSERT INTO {database}.touch_ids SELECT event_id, occurred_at FROM {database}.touches;
