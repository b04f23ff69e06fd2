-- Pipeline health: one row per worker every few seconds, written by the worker (streams/health.py),
-- read by `pulse status` fallbacks and the dashboard's pipeline page. Kept a few days only.

CREATE TABLE IF NOT EXISTS {database}.pipeline_health
(
    at                 DateTime64(3, 'UTC') COMMENT 'When the worker took this reading',
    worker             String COMMENT 'PULSE_WORKER_ID of the worker that wrote the row',
    events_in_per_s    Float64 COMMENT 'Events taken from the touches topic per second (last ~10 s)',
    events_out_per_s   Float64 COMMENT 'Events durably handled per second: stored, duplicates skipped or dead-lettered (last ~10 s)',
    consumer_lag       UInt64 COMMENT 'Messages in the touches topic not yet committed by the consumer group, all partitions',
    oldest_unflushed_s Float64 COMMENT 'Age (by Kafka timestamp) of the oldest event taken but not yet written; 0 when none',
    dead_letters       UInt64 COMMENT 'Events this worker sent to rejected_events since it started',
    sink_state         String COMMENT 'ok, or retrying while ClickHouse refuses writes (consumption paused)',
    last_error         String COMMENT 'The last ClickHouse error of the sink, empty when none yet',
    broker_state       String COMMENT 'ok, or the error of the last attempt to read offsets from Kafka'
)
ENGINE = MergeTree
PARTITION BY toDate(at)
ORDER BY (worker, at)
TTL toDateTime(at) + INTERVAL 3 DAY
COMMENT 'Worker health readings every few seconds (events/s, lag, sink and broker state); TTL 3 days.';
