-- Opportunity state kept as the snapshots arrive (issue 15: revenue views under 100 ms at 1,000,000
-- snapshots). {database} is filled in by the migration runner. The views `opportunities` and
-- `opportunity_stages` (0400) read these tables instead of every snapshot at every query.
-- Exact under duplicates, replays and out-of-order arrival: argMax keyed by (occurred_at, event_id as
-- text) gives the same state whatever the order rows come in, and a re-inserted row changes nothing;
-- the stage points are deduplicated by their sort key, and the stage history tolerates a duplicate
-- not yet merged away (a repeated snapshot never starts a new stage visit).
-- Two workers migrating at once may both backfill: harmless, for the same reasons. A SIGKILL between
-- the insert into opportunity_snapshots and the materialized views' inserts is repaired when the
-- writer starts (Store.repair_opportunity_state).

CREATE TABLE IF NOT EXISTS {database}.opportunity_state
(
    opportunity_id String COMMENT 'The CRM''s opportunity id',
    latest AggregateFunction(argMax,
        Tuple(String, DateTime64(3, 'UTC'), String, UInt8, UInt8, Decimal(18, 2), DateTime64(3, 'UTC'), Date,
              String, String, String, String, String, Nullable(UInt8), String),
        Tuple(DateTime64(3, 'UTC'), String))
        COMMENT 'The latest snapshot by occurred_at (ties: the larger event_id as text): account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name, owner, source, type, program_id, probability, event_id as text; read with argMaxMerge'
)
ENGINE = AggregatingMergeTree
ORDER BY opportunity_id
COMMENT 'One row per opportunity (after merges): its latest snapshot, fed by opportunity_state_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.opportunity_state_mv TO {database}.opportunity_state AS
SELECT opportunity_id,
       argMaxState((account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name,
                         owner, toString(source), toString(type), program_id, probability, toString(event_id)),
                   (occurred_at, toString(event_id))) AS latest
FROM {database}.opportunity_snapshots
GROUP BY opportunity_id;

CREATE TABLE IF NOT EXISTS {database}.opportunity_stage_points
(
    opportunity_id String,
    occurred_at    DateTime64(3, 'UTC'),
    tie            String COMMENT 'event_id as text: orders snapshots of the same moment, as the views do',
    stage          String
)
ENGINE = ReplacingMergeTree
ORDER BY (opportunity_id, occurred_at, tie)
COMMENT 'Each snapshot''s stage, in history order per opportunity (the stage history reads this), fed by opportunity_stage_points_mv';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.opportunity_stage_points_mv TO {database}.opportunity_stage_points AS
SELECT opportunity_id, occurred_at, toString(event_id) AS tie, stage
FROM {database}.opportunity_snapshots;

INSERT INTO {database}.opportunity_state
SELECT opportunity_id,
       argMaxState((account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name,
                         owner, toString(source), toString(type), program_id, probability, toString(event_id)),
                   (occurred_at, toString(event_id))) AS latest
FROM {database}.opportunity_snapshots
GROUP BY opportunity_id;

INSERT INTO {database}.opportunity_stage_points
SELECT opportunity_id, occurred_at, toString(event_id), stage FROM {database}.opportunity_snapshots;
