-- Each opportunity's latest snapshot, kept as the snapshots arrive (issue 15), replacing 0017's
-- opportunity_state: argMaxMerge over a tuple of every column took 2 s for 250,000 opportunities (the
-- engine compares and copies such values generically); a ReplacingMergeTree row per opportunity, read
-- with FINAL, takes milliseconds. {database} is filled in by the migration runner.
-- version orders the snapshots as the views always have: occurred_at (in ms) in the high bits, then the
-- event_id as a 128-bit number in the order of its text. The largest version is the state whatever the
-- order rows arrive in, a re-inserted row changes nothing, and a SIGKILL between the snapshot insert
-- and this view's insert is repaired when the writer starts (Store.repair_opportunity_state).

DROP VIEW IF EXISTS {database}.opportunity_state_mv;

DROP TABLE IF EXISTS {database}.opportunity_state;

CREATE TABLE IF NOT EXISTS {database}.opportunity_latest
(
    opportunity_id String COMMENT 'The CRM''s opportunity id',
    version        UInt256 COMMENT 'occurred_at in ms shifted left 128 bits plus the event_id as a number: the largest is the state',
    event_id       UUID COMMENT 'Of the latest snapshot',
    account_id     String,
    occurred_at    DateTime64(3, 'UTC'),
    stage          String,
    is_closed      UInt8,
    is_won         UInt8,
    amount         Decimal(18, 2),
    created_at     DateTime64(3, 'UTC'),
    close_date     Date,
    name           String,
    owner          String,
    source         LowCardinality(String),
    type           LowCardinality(String),
    program_id     String,
    probability    Nullable(UInt8)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY opportunity_id
COMMENT 'One row per opportunity after merges (read it with FINAL): its latest snapshot, fed by opportunity_latest_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.opportunity_latest_mv TO {database}.opportunity_latest AS
SELECT opportunity_id,
       bitShiftLeft(toUInt256(toUnixTimestamp64Milli(occurred_at)), 128)
           + toUInt256(reinterpretAsUInt128(reverse(unhex(replaceAll(toString(event_id), '-', ''))))) AS version,
       event_id, account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name, owner,
       source, type, program_id, probability
FROM {database}.opportunity_snapshots;

INSERT INTO {database}.opportunity_latest
SELECT opportunity_id,
       bitShiftLeft(toUInt256(toUnixTimestamp64Milli(occurred_at)), 128)
           + toUInt256(reinterpretAsUInt128(reverse(unhex(replaceAll(toString(event_id), '-', ''))))) AS version,
       event_id, account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name, owner,
       source, type, program_id, probability
FROM {database}.opportunity_snapshots
ORDER BY opportunity_id, version DESC
LIMIT 1 BY opportunity_id;
