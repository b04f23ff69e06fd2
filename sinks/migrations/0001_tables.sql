-- Core tables. {database}, {retention_months} are filled in by the migration runner.

CREATE TABLE IF NOT EXISTS {database}.accounts
(
    account_id     String COMMENT 'Account key, as in the CRM',
    name           String,
    domains        Array(String) COMMENT 'Email/web domains that resolve to this account',
    ip_ranges      Array(String) COMMENT 'CIDR ranges (IPv4 and IPv6) that resolve to this account',
    tier           LowCardinality(String),
    is_target      UInt8 COMMENT '1 = on the target account list',
    committee_size Nullable(UInt16) COMMENT 'Expected size of the buying committee; NULL when unknown',
    owner          String COMMENT 'Account owner (sales rep)',
    updated_at     DateTime64(3, 'UTC') COMMENT 'Version: the latest import wins'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY account_id
COMMENT 'Target-account registry (dimension). Fed from the registry topic.';

CREATE TABLE IF NOT EXISTS {database}.contacts
(
    email      String COMMENT 'Normalised (trimmed, lower-case) email',
    account_id String COMMENT 'Explicit account, or empty: then the account its domain resolves to',
    name       String,
    title      String,
    role       LowCardinality(String) COMMENT 'Buying role: c_level, vp, director, manager, other',
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY email
COMMENT 'Known people at accounts (dimension).';

CREATE TABLE IF NOT EXISTS {database}.touches
(
    event_id     UUID COMMENT 'Producer id, or derived from content: one row per event (dedup key)',
    type         LowCardinality(String) COMMENT 'page_view, page_engagement (heartbeat: engaged time only), email_open, email_click, event_attendance, call, meeting, form_submit, identify',
    occurred_at  DateTime64(3, 'UTC') COMMENT 'When the touch happened (not when it arrived); windows key on it',
    received_at  DateTime64(3, 'UTC') COMMENT 'When the hook accepted it',
    day          Date COMMENT 'occurred_at as a day in the reporting time zone',
    account_id   String COMMENT 'Resolved account; empty when unresolved',
    person       String COMMENT 'Email, else anonymous id, else empty (IP-only touches have no person)',
    method       LowCardinality(String) COMMENT 'How the account was found: account_id, contact, domain, stitched, ip, unresolved',
    channel      LowCardinality(String) COMMENT 'web, email, event, call, meeting, form',
    program_id   String COMMENT 'Campaign or program the touch belongs to, if any',
    minutes      Decimal(18, 2) COMMENT 'Engagement minutes this touch is worth (role multiplier applied, before the page-view daily cap)',
    base_minutes Decimal(18, 2) COMMENT 'Minutes before the role multiplier',
    success      UInt8 COMMENT '1 when the touch is a success for its program (reach)',
    email        String,
    anonymous_id String,
    ip           String COMMENT 'Truncated: last octet of IPv4 / last 80 bits of IPv6 zeroed',
    url          String,
    payload      String COMMENT 'The validated event as JSON (ip truncated), including unknown extra fields',
    retracts     UInt8 COMMENT '1 when this version replaces an earlier attribution (re-attribution, re-scoring)',
    prev_account_id String COMMENT 'Attribution this version takes back (when retracts = 1)',
    prev_person  String,
    prev_minutes Decimal(18, 2),
    prev_base_minutes Decimal(18, 2),
    writer       LowCardinality(String) COMMENT 'Worker that wrote the row (recovery bookkeeping)',
    batch_seq    UInt64 COMMENT 'Write batch of that worker (recovery bookkeeping)',
    version      UInt64 COMMENT 'Row version: re-attribution writes a higher one',
    -- re-attribution finds the touches of a cookie, a person or an account without a full scan
    INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_person person TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_account account_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY event_id
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Raw touches, one per event id. Query the `events` view, which deduplicates.';

CREATE TABLE IF NOT EXISTS {database}.engagement_daily
(
    kind       Enum8('touch' = 1, 'checkpoint' = 2) COMMENT 'checkpoint rows record the last batch folded in (recovery)',
    account_id String COMMENT 'Empty = unresolved',
    day        Date COMMENT 'Day in the reporting time zone',
    channel    LowCardinality(String),
    program_id String,
    person     String COMMENT 'For checkpoint rows: the writer id',
    minutes    SimpleAggregateFunction(sum, Decimal(38, 2)) COMMENT 'Signed: a re-attribution subtracts from the old key',
    touches    SimpleAggregateFunction(sum, Int64) COMMENT 'Signed count of touches',
    successes  SimpleAggregateFunction(sum, Int64) COMMENT 'Signed count of program successes',
    pv_base    SimpleAggregateFunction(sum, Decimal(38, 2)) COMMENT 'Page-view minutes before the role multiplier (the daily cap counts these)',
    pv_minutes SimpleAggregateFunction(sum, Decimal(38, 2)) COMMENT 'Page-view part of minutes (before the daily cap)',
    batch_seq  SimpleAggregateFunction(max, UInt64) COMMENT 'Highest batch folded in (checkpoint rows)'
)
ENGINE = AggregatingMergeTree
ORDER BY (kind, account_id, day, channel, program_id, person)
TTL day + INTERVAL {retention_months} MONTH DELETE WHERE kind = 'touch'
SETTINGS non_replicated_deduplication_window = 1000
COMMENT 'Engagement per account, day, channel, program and person. Unpartitioned on purpose: one insert is one part, so a batch and its checkpoint land together or not at all.';

CREATE TABLE IF NOT EXISTS {database}.rejected_events
(
    rejected_at DateTime64(3, 'UTC'),
    source      LowCardinality(String) COMMENT 'Where it came in: collect, pixel, webhook, send, sink',
    reasons     String COMMENT 'JSON list of {field, reason}',
    payload     String COMMENT 'The raw input as received (replayable)',
    dlq_key     String COMMENT 'topic/partition/offset of the dead-letter message (idempotent re-ingest)'
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(rejected_at)
ORDER BY (dlq_key)
TTL toDateTime(rejected_at) + INTERVAL {retention_months} MONTH
COMMENT 'Input that failed validation or could not be stored, with the reasons.';
