-- Issue 17: the contacts' emails, hashed, so that the stage tick confirms a claimed email by its key
-- (person_windows, 0150_stage_tick_views.sql) instead of reading the batch's people from person_days a
-- second time to look their emails up in contacts. Kept by a view; an erasure deletes a person's row
-- (sinks/erasure.py) as it deletes the contact. 1M contacts: 16 MB.
CREATE TABLE IF NOT EXISTS {database}.contact_keys
(
    person_key UInt128 COMMENT 'sipHash128 of a contact''s email, as person_days.person_key'
)
ENGINE = ReplacingMergeTree
ORDER BY person_key
COMMENT 'The contacts'' emails, hashed (confirmation of claimed emails in the stage tick)';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.contact_keys_mv TO {database}.contact_keys AS
SELECT reinterpretAsUInt128(sipHash128(email)) AS person_key FROM {database}.contacts;

INSERT INTO {database}.contact_keys SELECT DISTINCT reinterpretAsUInt128(sipHash128(email)) FROM {database}.contacts;
