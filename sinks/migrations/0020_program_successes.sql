-- Program successes per account, for attribution (issue 15). A touchpoint is a success (the reach
-- definition, touches.success) that carries a program_id, at the account the touch is at now. Reading
-- them from `events` is `touches FINAL` over every stored touch (14.9 s at 10M touches); this table
-- holds only the successes with a program, ordered by account and time, so attribution reads each
-- account's range.
--
-- Kept as account_touches (0004) is: every inserted version of a touch with a program writes a row
-- under the account it names, live when that version is a success, a tombstone (is_deleted = 1) when it
-- is a new version (retracts = 1: re-attribution, re-scoring, re-classification) that is no success;
-- a version that moves the touch to another account also writes a tombstone under the account it
-- leaves (prev_account_id). The highest version of (account_id, occurred_at, event_id) is what that
-- account holds now: read with FINAL and skip is_deleted. A touch's occurred_at and program_id never
-- change between versions (they come from the event). Unresolved touches (account '') are kept too:
-- program_attribution lists the programs any success names.
-- Erasure deletes a person's touches by event id here as well (sinks/erasure.py).

CREATE TABLE IF NOT EXISTS {database}.program_successes
(
    account_id  String COMMENT 'Account the touch is at in this version; empty when unresolved',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the touch happened',
    event_id    UUID COMMENT 'The touch (touches.event_id)',
    version     UInt64 COMMENT 'Version of the touch this row comes from (touches.version)',
    is_deleted  UInt8 COMMENT '1 = from this version on, the touch is no program success at this account',
    program_id  String COMMENT 'Program the success counts for'
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (account_id, occurred_at, event_id)
TTL toDateTime(occurred_at) + INTERVAL {retention_months} MONTH
COMMENT 'Program successes by account and time (attribution touchpoints); read with FINAL, skip is_deleted.';

-- (filtered in a subquery: in the outer SELECT the alias is_deleted and account_id would hide columns)
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.program_successes_mv TO {database}.program_successes AS
SELECT account_id, occurred_at, event_id, version, toUInt8(success != 1) AS is_deleted, program_id
FROM (SELECT * FROM {database}.touches WHERE program_id != '' AND (success = 1 OR retracts = 1));

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.program_successes_moved_mv TO {database}.program_successes AS
SELECT prev_account_id AS account_id, occurred_at, event_id, version, toUInt8(1) AS is_deleted, program_id
FROM (SELECT * FROM {database}.touches WHERE program_id != '' AND retracts = 1 AND prev_account_id != account_id);

-- touches stored before this migration, every version still stored (a merge of touches keeps the latest
-- only, which gives the same state). Guarded: a version already kept (by the views above, or by this
-- statement run before) is not written again.
INSERT INTO {database}.program_successes
SELECT account_id, occurred_at, event_id, version, toUInt8(success != 1), program_id
FROM {database}.touches
WHERE program_id != '' AND (success = 1 OR retracts = 1)
  AND (event_id, version) NOT IN (SELECT event_id, version FROM {database}.program_successes);

INSERT INTO {database}.program_successes
SELECT prev_account_id, occurred_at, event_id, version, 1, program_id
FROM {database}.touches
WHERE program_id != '' AND retracts = 1 AND prev_account_id != account_id
  AND (prev_account_id, event_id, version) NOT IN
      (SELECT account_id, event_id, version FROM {database}.program_successes WHERE is_deleted = 1);
