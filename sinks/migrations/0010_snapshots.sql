-- Snapshots of the views the dashboard refreshes every few seconds, written by the worker's stage
-- evaluator (every few seconds; less often as the store grows: an evaluation takes at most a fifth
-- of the time). Readers take the latest evaluation (`evaluated_at = max(evaluated_at)`, or FINAL
-- where one row per key is kept), so a row whose key disappeared from a newer evaluation is never
-- shown. Their columns are the views' (0100_views.sql) after `evaluated_at`: a view that gains a
-- column needs a numbered migration that adds it here too.

CREATE TABLE IF NOT EXISTS {database}.account_engagement_snapshot
(
    evaluated_at DateTime64(3, 'UTC'),
    account_id String,
    account_name String,
    tier LowCardinality(String),
    owner String,
    is_target UInt8,
    minutes_7d Decimal(18, 2),
    minutes_30d Decimal(18, 2),
    minutes_90d Decimal(18, 2),
    minutes_mtd Decimal(18, 2),
    minutes_ytd Decimal(18, 2),
    people_engaged_90d UInt64,
    stage String,
    surging UInt8,
    re_engaged UInt8,
    last_activity_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY account_id
COMMENT 'Latest evaluation of account_engagement per account (evaluated_at says when); query with FINAL';

CREATE TABLE IF NOT EXISTS {database}.channel_awareness_snapshot
(
    evaluated_at DateTime64(3, 'UTC'),
    channel LowCardinality(String),
    target_accounts_aware UInt64,
    target_accounts_total Nullable(UInt64),
    aware_pct Nullable(Float64)
)
ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY channel
COMMENT 'Latest evaluations of channel_awareness';

CREATE TABLE IF NOT EXISTS {database}.program_reach_snapshot
(
    evaluated_at DateTime64(3, 'UTC'),
    program_id String,
    name String,
    channel LowCardinality(String),
    target_accounts_reached UInt64,
    target_accounts_total Nullable(UInt64),
    reach_pct Nullable(Float64),
    focus_pct Nullable(Float64),
    cost_per_reached_account Nullable(Decimal(18, 2))
)
ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY program_id
COMMENT 'Latest evaluations of program_reach';

-- The Account page reads one account's coverage; the view evaluates every contact for it (~100 ms at
-- 1M contacts, whatever the account). It changes only with the registry, so a snapshot will do.
CREATE TABLE IF NOT EXISTS {database}.account_coverage_snapshot
(
    evaluated_at DateTime64(3, 'UTC'),
    account_id String,
    is_target UInt8,
    contacts_known UInt64,
    committee_size Nullable(UInt16),
    coverage_pct Nullable(Float64)
)
ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY account_id
COMMENT 'Latest evaluations of account_coverage; query with FINAL';

CREATE TABLE IF NOT EXISTS {database}.target_channel_daily_snapshot
(
    evaluated_at DateTime64(3, 'UTC'),
    day Date,
    channel LowCardinality(String),
    minutes Decimal(38, 2)
)
ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY (day, channel)
COMMENT 'Latest evaluations of target_channel_daily';
