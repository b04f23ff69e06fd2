-- The engagement fold, inside the touches insert (issue 18).
--
-- Until now the writer folded a batch in Python and wrote it as a second insert, after the touches
-- (writer, checkpoint). A worker killed between the two left touches whose aggregates only a restart
-- under the same PULSE_WORKER_ID could fold; a replacement under another id (a new container) never
-- did, since the partition's new owner skips stored touches as duplicates. This view makes the fold
-- part of the one insert into touches: a worker that dies either sent the insert (the server writes
-- the touches and their aggregates) or did not (neither is written).
--
-- Each touch row becomes up to three tuples, summed per key over the inserted block: what it gives
-- (its account, person, minutes), what a re-attribution version takes back (retracts = 1: the prev_*
-- columns, negated), and its writer's checkpoint (the batch's sequence number), so the aggregates and
-- the checkpoint land in one part. What ClickHouse cannot make atomic across two tables (the store
-- itself dying between the touches part and this view's part) is found by the checkpoint: the writer
-- folds touches newer than it at start and after any retried insert (sinks/writer.py, recover()).
-- Same arithmetic as sinks/fold.py (which recover() still uses): keep the two in step.
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_fold_mv TO {database}.engagement_daily AS
SELECT f.1 AS kind, f.2 AS account_id, f.3 AS day, f.4 AS channel, f.5 AS program_id, f.6 AS person,
       sum(f.7) AS minutes, sum(f.8) AS touches, sum(f.9) AS successes, sum(f.10) AS pv_base,
       sum(f.11) AS pv_minutes, max(f.12) AS batch_seq
FROM
(
    SELECT arrayJoin(arrayFilter(x -> x.1 != '', [
        -- what the touch gives (a heartbeat is stored but is no touch of its own)
        (if(type = 'page_engagement', '', 'touch'), account_id, day, toString(channel), program_id, person,
         toDecimal128(minutes, 2), toInt64(1), toInt64(success),
         if(type = 'page_view', toDecimal128(base_minutes, 2), toDecimal128(0, 2)),
         if(type = 'page_view', toDecimal128(minutes, 2), toDecimal128(0, 2)), toUInt64(0)),
        -- what a new version takes back from the attribution it replaces
        (if(retracts = 1 AND type != 'page_engagement', 'touch', ''), prev_account_id, day, toString(channel),
         program_id, prev_person, -toDecimal128(prev_minutes, 2), toInt64(-1), -toInt64(prev_success),
         if(type = 'page_view', -toDecimal128(prev_base_minutes, 2), toDecimal128(0, 2)),
         if(type = 'page_view', -toDecimal128(prev_minutes, 2), toDecimal128(0, 2)), toUInt64(0)),
        -- the writer's checkpoint: this batch is folded
        ('checkpoint', '', toDate('1970-01-01'), '', '', toString(writer), toDecimal128(0, 2), toInt64(0),
         toInt64(0), toDecimal128(0, 2), toDecimal128(0, 2), batch_seq)
    ])) AS f
    FROM {database}.touches
)
GROUP BY f.1, f.2, f.3, f.4, f.5, f.6
-- a retraction and its replacement on the same key cancel out: nothing to write (as sinks/fold.py)
HAVING kind = 'checkpoint' OR touches != 0 OR minutes != 0 OR successes != 0 OR pv_base != 0 OR pv_minutes != 0;
