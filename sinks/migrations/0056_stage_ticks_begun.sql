-- Issue 17: each incremental stage tick notes its state version as it begins (streams/stage_repair.py). A tick
-- that died part-way (a stop past the 4 s deadline, a kill, the engine gone) left writes its mark does not name,
-- and the next tick rebuilt everything: at 100M touches about twenty minutes beside the worker's other jobs, in
-- which no stage changed, and a tick of changed accounts runs most of the time under load. Such a tick wrote only
-- what it computed from the kept state, so what it left is repaired instead: the sums of the keys it wrote set
-- to their kept parts, its people recomputed from their kept person-days. A version written with no note here
-- (a full tick's are in stage_rebuild_steps, anything else is not the tick's) still means a rebuild.
CREATE TABLE IF NOT EXISTS {database}.stage_ticks_begun
(
    version  UInt64 COMMENT 'The highest state version the tick writes',
    today    Date COMMENT 'Its reporting day',
    begun_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version
TTL toDateTime(begun_at) + INTERVAL 7 DAY
COMMENT 'The incremental stage ticks begun, by the version they write, for repairing one that died part-way';
