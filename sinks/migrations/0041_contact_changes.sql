-- Issue 17: a contacts import recomputes the people it confirms, not every account.
--
-- A web or form touch of a person known by an email counts once that email is a contact (0100_views.sql,
-- confirmation). Until now every insert into contacts stamped 'evaluate_all', so the stage tick rebuilt
-- every person's kept sums and decided every account: more than 20 minutes on the 100M bench store. A
-- contact is only ever added or updated (an erasure deletes one with all of that person's rows, and
-- stamps them itself), so an import can only confirm the people it names: their hashed emails are
-- stamped here, and the tick looks up their person-days (sinks/day_state.py) and recomputes them alone.
DROP VIEW IF EXISTS {database}.engagement_changes_contacts_mv;

CREATE TABLE IF NOT EXISTS {database}.contact_changes
(
    changed_at DateTime64(3, 'UTC'),
    person_key UInt128 COMMENT 'sipHash128 of the email, as person_days.person_key'
)
ENGINE = MergeTree
ORDER BY changed_at
TTL toDateTime(changed_at) + INTERVAL 7 DAY
COMMENT 'Emails (hashed) of the contacts each insert into contacts wrote, by insert time';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.contact_changes_mv TO {database}.contact_changes AS
SELECT now64(3, 'UTC') AS changed_at, reinterpretAsUInt128(sipHash128(email)) AS person_key
FROM {database}.contacts;
