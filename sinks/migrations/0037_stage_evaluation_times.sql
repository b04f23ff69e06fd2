-- Issue 17: each stage evaluation says how long it took, how many accounts it decided and why, beside its mark.
-- A stage change is published one evaluation after the tick that starts once its touch is stored, and ticks
-- are spaced by what the last evaluation took (streams/stages.py), so these are what an operator reads to
-- know how late stage changes and alerts can be (Data health, "Stage evaluation"), and what the bench reads
-- to say where a stage change's time went. Rows written before this have 0 and ''.
ALTER TABLE {database}.stage_marks
    ADD COLUMN IF NOT EXISTS took_ms UInt32 DEFAULT 0 COMMENT 'Wall time of the evaluation (fold and decide)',
    ADD COLUMN IF NOT EXISTS decided UInt32 DEFAULT 0 COMMENT 'Accounts whose stage this evaluation decided',
    ADD COLUMN IF NOT EXISTS kind LowCardinality(String) DEFAULT ''
        COMMENT 'full (every account), changed (those changed since the last), day (also those a new day moves)';
