-- Issue 17: how far the traffic behaviour pass (streams/traffic_job.py) has judged what was stored. A pass
-- judges the groups that took a touch stored since the previous pass; the leader kept that moment in memory,
-- so a restart, or a worker taking over the lead, looked a day back and judged all of it again (on a store
-- loaded within the day, every touch of it). A pass now starts from the latest mark of the store.
CREATE TABLE IF NOT EXISTS {database}.traffic_marks
(
    marked_at DateTime64(3, 'UTC') COMMENT 'When the pass finished',
    judged_to DateTime64(3, 'UTC') COMMENT 'The moment the pass began: touches stored before it (less a margin) are judged'
)
ENGINE = MergeTree
ORDER BY marked_at
TTL toDateTime(marked_at) + INTERVAL 7 DAY;
