-- Issue 17: two of the dashboard's snapshots (streams/jobs.py, stages.snapshot_views) from account_daily.
--
-- channel_awareness and target_channel_daily (0100_views.sql) re-cap every person-day of every target
-- account's 90 days (engagement_person_daily): with the program and reach snapshots a round took 559 s
-- on the 100M bench store. account_daily holds the same capped minutes summed over people (0040), kept
-- by the stage tick, so these give the same answers from one row per account, day and channel. The
-- snapshot thread reads them while account_daily is in step with the latest stage mark, else (a rebuild
-- under way) the views above. Analysts' queries on those views stay exact and live.
CREATE OR REPLACE VIEW {database}.channel_awareness_rollup AS
WITH toDate(now(), '{reporting_tz}') AS today,
     (SELECT count() FROM {database}.accounts FINAL WHERE is_target = 1) AS targets_total
SELECT e.channel AS channel,
       uniqExact(e.account_id) AS target_accounts_aware,
       targets_total AS target_accounts_total,
       if(targets_total = 0, 0, round(100 * uniqExact(e.account_id) / targets_total, 1)) AS aware_pct
FROM
(
    SELECT account_id, channel FROM {database}.account_daily
    WHERE account_id != '' AND day > today - 90 AND day <= today
    GROUP BY account_id, channel HAVING sum(minutes) > 0
) AS e
INNER JOIN (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1) AS t ON t.account_id = e.account_id
GROUP BY e.channel;

CREATE OR REPLACE VIEW {database}.target_channel_daily_rollup AS
SELECT day, channel, sum(minutes) AS minutes
FROM {database}.account_daily
WHERE account_id IN (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1)
  AND day > toDate(now(), '{reporting_tz}') - 90 AND day <= toDate(now(), '{reporting_tz}')
GROUP BY day, channel;
