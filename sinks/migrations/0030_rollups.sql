-- Issue 17: what the stage evaluator needs to work only on what changed (streams/stages.py).
--
-- engagement_changes: which (account, day) each insert into engagement_daily touched, stamped when
-- it was inserted: the writer's signed rows, re-attribution's retractions and re-additions, the
-- traffic job's and re-scoring's versions all arrive as such inserts. A registry import of accounts
-- re-evaluates those accounts; one of contacts (a contact confirms a claimed email) re-evaluates
-- every account; a change of the scoring settings (the daily caps) re-folds every day as well.
-- Read over a margin (an insert that began earlier may become visible later); kept for a week.
CREATE TABLE IF NOT EXISTS {database}.engagement_changes
(
    scope      Enum8('account' = 1, 'evaluate_all' = 2, 'refold_all' = 3),
    account_id String,
    day        Date,
    changed_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY changed_at
TTL toDateTime(changed_at) + INTERVAL 7 DAY
COMMENT 'Accounts and days changed by each insert into engagement_daily (and registry imports), by insert time';

-- (grouped in a subquery: in the outer SELECT the aliases would hide the columns)
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_changes_mv TO {database}.engagement_changes AS
SELECT 'account' AS scope, account_id, day, now64(3, 'UTC') AS changed_at
FROM (SELECT account_id, day FROM {database}.engagement_daily
      WHERE kind = 'touch' AND account_id != '' GROUP BY account_id, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_changes_accounts_mv TO {database}.engagement_changes AS
SELECT 'account' AS scope, account_id, toDate(0) AS day, now64(3, 'UTC') AS changed_at
FROM (SELECT DISTINCT account_id FROM {database}.accounts);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_changes_contacts_mv TO {database}.engagement_changes AS
SELECT 'evaluate_all' AS scope, '' AS account_id, toDate(0) AS day, now64(3, 'UTC') AS changed_at
FROM (SELECT count() FROM {database}.contacts);

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_changes_settings_mv TO {database}.engagement_changes AS
SELECT 'refold_all' AS scope, '' AS account_id, toDate(0) AS day, now64(3, 'UTC') AS changed_at
FROM (SELECT count() FROM {database}.scoring_settings);

-- The account-day rollup: engagement_person_daily (page-view and form caps applied per person-day)
-- summed per account, day and channel. Re-folded by the stage evaluator for the (account, day) pairs
-- engagement_changes names, so its cost follows what changed, not the history. The latest fold of
-- a key wins (FINAL); a key whose touches all moved away is folded to zeros.
CREATE TABLE IF NOT EXISTS {database}.account_daily
(
    account_id String,
    day        Date,
    channel    LowCardinality(String),
    minutes    Decimal(38, 2) COMMENT 'Engagement minutes, daily caps applied per person-day',
    touches    Int64,
    successes  Int64,
    folded_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(folded_at)
ORDER BY (account_id, day, channel)
TTL day + INTERVAL {retention_months} MONTH
COMMENT 'Engagement per account, day and channel (caps applied), kept by the stage evaluator; query with FINAL';

-- The same keys by day: which accounts had rows on a day, so that at a day boundary the evaluator
-- re-decides only the accounts whose windows lost (or gained) a day.
CREATE TABLE IF NOT EXISTS {database}.account_days_by_day
(
    day        Date,
    account_id String
)
ENGINE = ReplacingMergeTree
ORDER BY (day, account_id)
TTL day + INTERVAL {retention_months} MONTH
COMMENT 'Accounts with engagement rows per day (a superset: a day whose touches moved away stays)';

-- Accounts to evaluate, one batch per incremental evaluation (account_engagement_eval reads them).
CREATE TABLE IF NOT EXISTS {database}.stage_queue
(
    batch      UInt64,
    account_id String,
    queued_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (batch, account_id)
TTL toDateTime(queued_at) + INTERVAL 1 DAY;

-- How far the evaluator has read engagement_changes and the reporting day it evaluated at.
CREATE TABLE IF NOT EXISTS {database}.stage_marks
(
    marked_at  DateTime64(3, 'UTC'),
    read_until DateTime64(3, 'UTC') COMMENT 'Changes stamped before this (less a margin) are folded and evaluated',
    today      Date COMMENT 'The reporting day of that evaluation'
)
ENGINE = MergeTree
ORDER BY marked_at
TTL toDateTime(marked_at) + INTERVAL 30 DAY;
