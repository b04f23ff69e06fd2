-- Alert deliveries (issue 19): one row per attempt to deliver one rule's alert for one account moment, written
-- by the leader worker's alert job (streams/alerts_job.py). {database} is filled in by the migration runner.
-- A (rule, change_id) with a `sent` row is never sent again: a restart or a replay re-reads this table first.

CREATE TABLE IF NOT EXISTS {database}.alert_deliveries
(
    rule         LowCardinality(String) COMMENT 'The rule''s name in alerts.toml',
    change_id    String COMMENT 'The moment alerted on: a stage change''s change_id, or account:kind:key for the others',
    kind         LowCardinality(String) COMMENT 'became_mqa, surging, re_engaged, first_meeting or sla_breach',
    account_id   String,
    destination  LowCardinality(String) COMMENT 'slack, webhook or email',
    status       LowCardinality(String) COMMENT 'sent; retrying (this attempt failed, another follows); failed (gave up)',
    attempts     UInt16 COMMENT 'Attempts so far, this one included',
    last_error   String COMMENT 'Why this attempt failed ('''' when sent); never holds a URL or a secret',
    sent_at      Nullable(DateTime64(3, 'UTC')) COMMENT 'When the destination accepted it (status sent)',
    attempted_at DateTime64(3, 'UTC') COMMENT 'When this attempt was made',
    next_at      Nullable(DateTime64(3, 'UTC')) COMMENT 'When the next attempt is due (status retrying)'
)
ENGINE = MergeTree
ORDER BY (rule, change_id, attempts)
COMMENT 'Every alert delivery and failure, one row per attempt; the latest attempt of a (rule, change_id) is its state.';
