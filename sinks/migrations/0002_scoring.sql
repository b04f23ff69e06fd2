-- Tables for scoring: programs, identity links, stage history, and the scoring settings in force.

CREATE TABLE IF NOT EXISTS {database}.programs
(
    program_id    String COMMENT 'Campaign or program id (campaigns and events share one id space)',
    name          String,
    channel       LowCardinality(String) COMMENT 'email, webinar, event, web, call, ...',
    starts_at     Nullable(DateTime64(3, 'UTC')),
    ends_at       Nullable(DateTime64(3, 'UTC')),
    cost          Nullable(Decimal(18, 2)) COMMENT 'Spend on the program, for cost per reached account',
    audience_size Nullable(UInt32) COMMENT 'People the program was sent or shown to',
    updated_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY program_id
COMMENT 'Campaigns and events (dimension). Fed from the registry topic.';

CREATE TABLE IF NOT EXISTS {database}.identities
(
    anonymous_id  String COMMENT 'Website cookie',
    email         String COMMENT 'The person an identify tied the cookie to',
    identified_at DateTime64(3, 'UTC') COMMENT 'occurred_at of the identify; the latest wins',
    stored_at     DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'When a worker stored it (other workers sync from here)'
)
ENGINE = ReplacingMergeTree(identified_at)
ORDER BY anonymous_id
COMMENT 'Identity stitching: anonymous visits count for the identified person.';

CREATE TABLE IF NOT EXISTS {database}.stage_changes
(
    change_id   String COMMENT 'Stable id: account and its n-th change (consumers of the topic dedupe on it)',
    account_id  String,
    stage_from  LowCardinality(String),
    stage_to    LowCardinality(String),
    changed_at  DateTime64(3, 'UTC') COMMENT 'When the change was observed',
    minutes_90d Decimal(38, 2) COMMENT 'Engagement minutes over 90 days at that moment'
)
ENGINE = ReplacingMergeTree
ORDER BY (account_id, change_id)
COMMENT 'Every engagement stage change of an account (unaware, aware, engaged, mqa), once each.';

CREATE TABLE IF NOT EXISTS {database}.scoring_settings
(
    key        String,
    value      String,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY key
COMMENT 'Scoring settings in force (weights hash, page-view daily cap), written by the worker.';
