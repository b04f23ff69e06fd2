-- Issue 17: a new reporting day moves the accounts to it a slice a tick (a range of account ids: the state is
-- ordered by account), not all in one tick: on a store of 100M touches that tick took 96 s alone and 882 s
-- beside a busy worker, and held back every stage change meanwhile (BENCHMARKS.md). Between slices an account
-- is either as at the new day or as at the one before (day_from); a tick first moves the accounts it has
-- changes for, so a stage change follows its touch at the next tick still (streams/stages.py). Marks written
-- before this say day_from = today: nothing pending.
ALTER TABLE {database}.stage_marks
    ADD COLUMN IF NOT EXISTS day_from Date DEFAULT today
        COMMENT 'The day of the accounts not yet moved to today (today: every account is at today)',
    ADD COLUMN IF NOT EXISTS day_pending UInt64 DEFAULT 0
        COMMENT 'Accounts the new day still has to move (with rows on a day that entered or left a window)';

-- The accounts moved to a reporting day, by the tick (batch) that moved them.
CREATE TABLE IF NOT EXISTS {database}.day_moves
(
    today      Date,
    batch      UInt64,
    account_id String
)
ENGINE = MergeTree
ORDER BY (today, account_id)
TTL today + INTERVAL 7 DAY
COMMENT 'Accounts moved to a new reporting day, per stage tick (streams/stages.py)';
