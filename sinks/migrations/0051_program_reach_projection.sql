-- Issue 17: program_reach (0100_views.sql) sums every program success of every account's history from
-- engagement_daily, whose key (kind, account_id, day, ...) does not lead with the program: at 100M stored
-- touches it read 100M rows, 6.1 s of the dashboard's 10 s snapshot round (BENCHMARKS.md). This projection
-- keeps those sums per program and account (2M rows there) inside each part, so the engine answers the view
-- from it without a change to the view or its readers.
--
-- The engine keeps it exact by itself: an insert writes it with its part; a merge, a TTL merge and a
-- mutation (an erasure's DELETE) rebuild it from the part they write ('rebuild': an AggregatingMergeTree's
-- merge combines rows, so it must); and a query reads the raw rows of any part that has no projection yet.
-- So the MATERIALIZE below, for the parts stored before this, runs in the background
-- (mutations_sync = 0) and does not hold up the worker's start.
ALTER TABLE {database}.engagement_daily MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';

ALTER TABLE {database}.engagement_daily
    ADD PROJECTION IF NOT EXISTS successes_by_program
    (
        SELECT kind, program_id, account_id, sum(successes)
        GROUP BY kind, program_id, account_id
    );

ALTER TABLE {database}.engagement_daily MATERIALIZE PROJECTION successes_by_program SETTINGS mutations_sync = 0;
