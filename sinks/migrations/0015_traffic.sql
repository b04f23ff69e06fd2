-- Traffic that is not a person (issue 19). {database} is filled in by the migration runner.
-- Every touch keeps its class and reason; a class other than person is worth 0 minutes (an Apple MPP
-- open: its weights.toml [traffic] weight) and no program success. Re-classification writes a new
-- version, as re-scoring does, so the columns sit beside the ones a version carries.
-- Placed AFTER prev_base_minutes, so `SELECT *` keeps the order the rows have always been written in.
ALTER TABLE {database}.touches
    ADD COLUMN IF NOT EXISTS prev_success UInt8 DEFAULT success
        COMMENT 'Program success this version takes back (when retracts = 1); older rows: success, as before' AFTER prev_base_minutes,
    ADD COLUMN IF NOT EXISTS traffic LowCardinality(String) DEFAULT 'person'
        COMMENT 'person, bot, scanner, privacy_proxy or internal (README, Traffic that is not a person)' AFTER prev_success,
    ADD COLUMN IF NOT EXISTS traffic_reason String DEFAULT ''
        COMMENT 'Why, machine-readable: ua:Googlebot, rate:31/min, mpp:17.0.0.0/8, scanner:within_10s_of_first_open, ...' AFTER traffic;

ALTER TABLE {database}.anonymous_touches
    ADD COLUMN IF NOT EXISTS prev_success UInt8 DEFAULT success AFTER prev_base_minutes,
    ADD COLUMN IF NOT EXISTS traffic LowCardinality(String) DEFAULT 'person' AFTER prev_success,
    ADD COLUMN IF NOT EXISTS traffic_reason String DEFAULT '' AFTER traffic;

DROP VIEW IF EXISTS {database}.anonymous_touches_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.anonymous_touches_mv TO {database}.anonymous_touches AS
SELECT anonymous_id, event_id, type, occurred_at, received_at, day, account_id, person, method, channel, program_id,
       minutes, base_minutes, success, email, ip, url, payload, retracts, prev_account_id, prev_person, prev_minutes,
       prev_base_minutes, prev_success, traffic, traffic_reason, version
FROM {database}.touches
WHERE anonymous_id != '' AND email = '';

-- The Account page's timeline shows each touch's class and reason.
ALTER TABLE {database}.account_touches
    ADD COLUMN IF NOT EXISTS traffic LowCardinality(String) DEFAULT 'person',
    ADD COLUMN IF NOT EXISTS traffic_reason String DEFAULT '';

DROP VIEW IF EXISTS {database}.account_touches_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_touches_mv TO {database}.account_touches AS
SELECT account_id, occurred_at, event_id, version, 0 AS is_deleted, type, channel, person, minutes, program_id,
       url, method, traffic, traffic_reason
FROM {database}.touches
WHERE account_id != '';

DROP VIEW IF EXISTS {database}.account_touches_moved_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_touches_moved_mv TO {database}.account_touches AS
SELECT prev_account_id AS account_id, occurred_at, event_id, version, 1 AS is_deleted, type, channel, person,
       minutes, program_id, url, method, traffic, traffic_reason
FROM (SELECT * FROM {database}.touches WHERE retracts = 1 AND prev_account_id != '' AND prev_account_id != account_id);
