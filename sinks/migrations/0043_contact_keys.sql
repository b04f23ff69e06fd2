-- Issue 17: the stage tick's confirmation of claimed emails by hashed email (contact_keys), not by
-- reading the batch's people from person_days a second time to look their emails up in contacts: that
-- second read was half of person_windows for a tick's batch at 10M touches (0.43 of 0.9 s; the lookup's
-- cost follows the marks of person_days, so it grows with history). contact_keys is a copy of the
-- contacts' hashed emails (1M contacts: 16 MB), kept by a view; an erasure deletes a person's row
-- (sinks/erasure.py) as it deletes the contact.
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

-- person_windows as 0039 made it, confirmation from contact_keys
CREATE OR REPLACE VIEW {database}.person_windows AS
WITH {today:Date} AS today,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(30, 2))
      FROM {database}.scoring_settings WHERE key = 'page_view_daily_cap')) AS cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit_daily_cap')) AS form_cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
      FROM {database}.scoring_settings WHERE key = 'form_submit')) AS form_base,
     -- the people: a slice of the accounts, or a batch of people (a range of the key each)
     if({batch:UInt64} = 0, modulo(cityHash64(account_id), {slices:UInt32}) = {slice:UInt32},
        (account_id, person_key) IN (SELECT account_id, person_key FROM {database}.person_queue
                                     WHERE batch = {batch:UInt64})) AS in_scope,
-- engagement_person_daily's caps, per person-day and channel
capped AS
(
    SELECT account_id, person_key, any(person) AS who, day, channel,
           toDecimal64(if(channel = 'form' AND sum(touches) * form_base > form_cap,
               toDecimal128(round(sum(minutes) * form_cap / (sum(touches) * form_base), 2), 2),
               sum(minutes) - sum(pv_minutes)
               + if(sum(pv_base) > cap,
                    toDecimal128(round(sum(pv_minutes) * cap / sum(pv_base), 2), 2),
                    toDecimal128(sum(pv_minutes), 2))), 2) AS m,
           sum(touches) AS n
    FROM {database}.person_days
    WHERE day > today - 400 AND day <= today AND in_scope
    GROUP BY account_id, person_key, day, channel
),
per_claim AS
(
    SELECT account_id, person_key, who, channel IN ('web', 'form') AND position(who, '@') > 0 AS claimed,
           sumIf(m, day > today - 7)              AS c7,
           sumIf(m, day > today - 30)             AS c30,
           sumIf(m, day > today - 90)             AS c90,
           sumIf(m, day >= toStartOfMonth(today)) AS cmtd,
           sumIf(m, day >= toStartOfYear(today))  AS cytd,
           sumIf(m, day BETWEEN today - 34 AND today - 7) AS c_prior28,
           sum(n) AS n
    FROM capped
    GROUP BY account_id, person_key, who, claimed
),
per_person AS
(
    SELECT account_id, person_key, any(who) AS person,
           countIf(NOT claimed AND n != 0) > 0
               -- (a contact: by hashed email, among the batch's people only when a tick)
               OR person_key IN (SELECT person_key FROM {database}.contact_keys
                                 WHERE {batch:UInt64} = 0
                                    OR person_key IN (SELECT person_key FROM {database}.person_queue
                                                      WHERE batch = {batch:UInt64})) AS confirmed,
           sumIf(c7, NOT claimed) + if(confirmed, sumIf(c7, claimed), 0) AS m7,
           sumIf(c30, NOT claimed) + if(confirmed, sumIf(c30, claimed), 0) AS m30,
           sumIf(c90, NOT claimed) + if(confirmed, sumIf(c90, claimed), 0) AS m90,
           sumIf(cmtd, NOT claimed) + if(confirmed, sumIf(cmtd, claimed), 0) AS mtd,
           sumIf(cytd, NOT claimed) + if(confirmed, sumIf(cytd, claimed), 0) AS ytd,
           sumIf(c_prior28, NOT claimed) + if(confirmed, sumIf(c_prior28, claimed), 0) AS m_prior28
    FROM per_claim
    GROUP BY account_id, person_key
)
SELECT account_id, person_key,
       toDecimal128(m7, 2) AS m7, toDecimal128(m30, 2) AS m30, toDecimal128(m90, 2) AS m90,
       toDecimal128(mtd, 2) AS mtd, toDecimal128(ytd, 2) AS ytd, toDecimal128(m_prior28, 2) AS m_prior28,
       toUInt8(person != '' AND m90 > 0) AS engaged, toUInt8(person != '' AND m90 >= 20) AS over_20
FROM per_person;

