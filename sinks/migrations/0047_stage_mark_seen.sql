-- Issue 17: what each stage evaluation had already seen of the changes the next one reads again. A tick reads
-- the changes since the last mark less MARGIN (streams/stages.py: an insert is stamped as it starts and seen
-- once it commits). A re-fold stamp (a change of the scoring settings, a first start) or a contacts import in
-- that margin was re-folded (re-decided) by the tick that marked, and the next tick did it all again: on a
-- store of 100M touches each re-fold of every person-day takes about 26 minutes (BENCHMARKS.md). The next
-- tick now compares what it finds in the margin with these counts, taken before the marking tick read anything.
-- Rows written before this have 0: the next tick then does what it did before.
ALTER TABLE {database}.stage_marks
    ADD COLUMN IF NOT EXISTS refolds_seen UInt64 DEFAULT 0
        COMMENT 'Re-fold stamps (engagement_changes) from read_until less the margin on, visible when it started',
    ADD COLUMN IF NOT EXISTS contacts_seen UInt64 DEFAULT 0
        COMMENT 'Contacts written (contact_changes) from read_until less the margin on, visible when it started';
