-- Erasure (issue 19, README "Erasure"): `pulse forget` asks the workers to erase a person; each request
-- leaves a row here per identifier it erased, never the identifier itself.
-- {database} is filled in by the migration runner.

CREATE TABLE IF NOT EXISTS {database}.erasure_log
(
    identifier_hash String COMMENT 'hex SHA-256 of pulse-erasure:v1:<database>:<kind>:<normalised identifier> (README, Erasure)',
    kind            LowCardinality(String) COMMENT 'email or anonymous_id',
    request_id      String COMMENT 'One per identifier named on the command line',
    named           UInt8 COMMENT '1 = named in the request; 0 = linked to it by the identity graph (a cookie of the email, the email of the cookie)',
    requested_at    DateTime64(3, 'UTC'),
    erased_at       DateTime64(3, 'UTC') COMMENT 'When the rows were deleted',
    touches         UInt64 COMMENT 'Touches deleted (event ids, every version); on the named row: the whole request',
    identity_links  UInt64,
    contacts        UInt64,
    lifecycle_changes UInt64,
    rejected_events UInt64 COMMENT 'Dead letters whose raw input carried the identifier',
    engagement_rows UInt64 COMMENT 'engagement_daily rows of the person deleted (their minutes leave the totals)',
    minutes         Decimal(38, 2) COMMENT 'Engagement minutes the person held, taken out of their accounts',
    rows_erased     UInt64 COMMENT 'Sum of the counts; the version: a worker that finds the work done logs 0 and loses'
)
ENGINE = ReplacingMergeTree(rows_erased)
ORDER BY (identifier_hash, request_id)
COMMENT 'Who was erased (by hash) and when, with what was deleted. The workers drop events whose email or anonymous id hashes to a row here.';

CREATE TABLE IF NOT EXISTS {database}.erasure_drops
(
    day             Date COMMENT 'Day (UTC) the worker dropped them',
    identifier_hash String,
    source          LowCardinality(String) COMMENT 'touches (touches topic, a replay), deadletter, registry (a contact re-imported)',
    events          UInt64 COMMENT 'Events or records dropped; a re-delivered message counts again'
)
ENGINE = SummingMergeTree(events)
ORDER BY (day, identifier_hash, source)
COMMENT 'Input for an erased person that the workers dropped instead of storing (replays, re-deliveries).';
