-- Issue 17: how far a full stage tick got (sinks/rebuild_steps.py, streams/stage_rebuild.py). A full tick (the
-- first, a change of the scoring settings, a large contacts import, a torn state) rebuilds the kept state slice
-- by slice: at 100M touches about ten minutes alone (BENCHMARKS.md). A worker stopped meanwhile (the stop
-- deadline is 4 s) or killed left a state no mark names, and its next start rebuilt it from the first slice:
-- restarted often enough, it never finished. Each step is noted here with the tick's plan, so the next start
-- resumes the same rebuild where it stopped.
CREATE TABLE IF NOT EXISTS {database}.stage_rebuild_steps
(
    version       UInt64 COMMENT 'The full tick''s state version (stage_marks.state_version once it marks)',
    started_at    DateTime64(3, 'UTC') COMMENT 'Its moment: the accounts are decided as at it',
    read_until    DateTime64(3, 'UTC') COMMENT 'What its mark says it read until: the engine''s clock as it began',
    today         Date COMMENT 'The reporting day the people are rebuilt at',
    refolds_seen  UInt64,
    contacts_seen UInt64,
    refold        UInt8 COMMENT 'Whether it re-folds the person-days before rebuilding the people',
    slices        UInt32,
    step          LowCardinality(String) COMMENT 'plan, days, people or decide',
    slice         Int32 COMMENT '-1: the step''s tables cleared; otherwise the slice done',
    noted_at      DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (version, step, slice)
TTL toDateTime(noted_at) + INTERVAL 30 DAY
COMMENT 'The plan and the steps done of each full stage tick, for resuming one that was stopped';
