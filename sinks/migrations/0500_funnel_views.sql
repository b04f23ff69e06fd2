-- repeatable: the funnel views (issue 16), re-created whenever this file (or a setting it uses) changes.
-- A person's stage history is their lifecycle_change events ordered by occurred_at (ties: the larger
-- event_id, compared as text, which orders UUIDs as their numbers do); a late older change takes its
-- place in that order and never overwrites a newer state. The funnel order is PULSE_LIFECYCLE_STAGES
-- without `other` ({lifecycle_order}); `other` stands outside it. Reaching a stage means reaching it or
-- any later stage: a lead who jumps to sql has reached mql too, at the same moment; moving back does
-- not un-reach a stage. Days, months and years are in the reporting time zone ({reporting_tz}).

-- One row per person and stage of the order they have reached.
--   email       the person
--   position    the stage's place in the funnel order, from 1
--   stage       the stage's name (PULSE_LIFECYCLE_STAGES)
--   entered_at  when the person first reached this stage: the earliest occurred_at of a change to this
--               stage or any later one (a skipped stage is entered with the next stage reached)
--   entered_on  the day of entered_at in the reporting time zone
CREATE OR REPLACE VIEW {database}.person_stages AS
WITH {lifecycle_order} AS stages
SELECT email, position, stages[position] AS stage, entered_at, toDate(entered_at, '{reporting_tz}') AS entered_on
FROM
(
    SELECT email, position, min(occurred_at) AS entered_at
    FROM
    (
        SELECT email, occurred_at, indexOf(stages, stage) AS rank
        FROM {database}.lifecycle_changes FINAL
        WHERE rank > 0
    )
    ARRAY JOIN arrayEnumerate(stages) AS position
    WHERE rank >= position
    GROUP BY email, position
);

-- One row per person with a lifecycle change: the current stage and when each stage was first reached.
--   email          the person
--   account_id     the account the CRM gave with the latest change that named one, else the contact's
--                  account (pulse accounts import), else ''
--   stage          the current stage: that of the latest change (ties: the larger event_id); may be `other`
--                  or a stage no longer in PULSE_LIFECYCLE_STAGES
--   changed_at     occurred_at of that latest change
--   owner          the rep of the latest change ('' when it named none)
--   lead_status    the lead status of the latest change ('' when none)
--   source         the source of the person's first change (marketing, sales, partner, ...; '' when none)
--   changes        how many distinct changes are stored for the person
--   first_entered  stage -> when it was first reached (person_stages.entered_at), for every stage reached
CREATE OR REPLACE VIEW {database}.person_lifecycle AS
SELECT c.email AS email,
       if(c.given_account != '', c.given_account, ifNull(k.account_id, '')) AS account_id,
       c.stage AS stage, c.changed_at AS changed_at, c.owner AS owner, c.lead_status AS lead_status,
       c.source AS source, c.changes AS changes,
       ifNull(s.first_entered, map()) AS first_entered
FROM
(
    SELECT email,
           argMaxIf(account_id, (occurred_at, toString(event_id)), account_id != '') AS given_account,
           argMax(stage, (occurred_at, toString(event_id))) AS stage,
           max(occurred_at) AS changed_at,
           argMax(owner, (occurred_at, toString(event_id))) AS owner,
           argMax(lead_status, (occurred_at, toString(event_id))) AS lead_status,
           argMin(source, (occurred_at, toString(event_id))) AS source,
           count() AS changes
    FROM {database}.lifecycle_changes FINAL
    GROUP BY email
) AS c
LEFT JOIN (SELECT email, account_id FROM {database}.contacts FINAL) AS k ON k.email = c.email
LEFT JOIN
(
    SELECT email, mapFromArrays(groupArray(stage), groupArray(entered_at)) AS first_entered
    FROM {database}.person_stages GROUP BY email
) AS s ON s.email = c.email
SETTINGS join_use_nulls = 1;

-- The funnel per period: one row per period and stage of the order (5 periods x the stages), zeros included.
--   period           mtd, qtd, ytd (from the start of this month, quarter, year), 90d, 365d (today and the
--                    89 or 364 days before), by the day a person first reached the stage, today included
--   position         the stage's place in the funnel order, from 1
--   stage            the stage
--   next_stage       the stage after it in the order; '' for the last stage
--   reached          people who first reached `stage` in the period (the cohort; HubSpot's period count)
--   converted        of them, those who have reached `next_stage` by now; NULL for the last stage
--   conversion_rate  converted / reached, a fraction rounded to 4 decimals; NULL when reached is 0 or for
--                    the last stage
CREATE OR REPLACE VIEW {database}.funnel_summary AS
WITH toDate(now(), '{reporting_tz}') AS today, {lifecycle_order} AS stages
SELECT g.period AS period, g.position AS position, stages[g.position] AS stage,
       if(g.position < length(stages), stages[g.position + 1], '') AS next_stage,
       s.reached AS reached,
       if(g.position < length(stages), toNullable(s.converted), NULL) AS converted,
       if(g.position < length(stages) AND s.reached > 0, toNullable(toDecimal64(round(
           toDecimal128(s.converted, 8) / s.reached, 4), 4)), NULL) AS conversion_rate
FROM
(
    SELECT period, ordinal, position FROM {database}.reporting_periods
    ARRAY JOIN arrayEnumerate(stages) AS position
) AS g
LEFT JOIN
(
    SELECT p.period AS period, x.position AS position,
           countIf(x.entered_on BETWEEN p.start AND today) AS reached,
           countIf(x.entered_on BETWEEN p.start AND today AND x.position < x.top) AS converted
    FROM
    (
        SELECT email, position, entered_on, max(position) OVER (PARTITION BY email) AS top
        FROM {database}.person_stages
    ) AS x
    CROSS JOIN {database}.reporting_periods AS p
    GROUP BY period, position
) AS s ON s.period = g.period AND s.position = g.position
ORDER BY g.ordinal, g.position
SETTINGS join_use_nulls = 0;

-- Sales' latest decision on each account with one (issue 16's acceptance rate is built on it later).
--   account_id     the CRM's account id, kept even when the account is not registered (yet)
--   account_name   from accounts; '' for an unregistered account
--   is_target      1 when the account is on the target list; 0 for an unregistered account
--   status         the latest decision by occurred_at (ties: the larger event_id): accepted, rejected,
--                  not_interested or reopened
--   reason         the reason given with it ('' when none)
--   owner          the rep who decided ('' when not given)
--   status_at      occurred_at of that decision
--   decisions      how many distinct decisions are stored for the account
CREATE OR REPLACE VIEW {database}.account_sales_status AS
SELECT d.account_id AS account_id, a.name AS account_name, a.is_target AS is_target, d.status AS status,
       d.reason AS reason, d.owner AS owner, d.status_at AS status_at, d.decisions AS decisions
FROM
(
    SELECT account_id,
           argMax(status, (occurred_at, toString(event_id))) AS status,
           argMax(reason, (occurred_at, toString(event_id))) AS reason,
           argMax(owner, (occurred_at, toString(event_id))) AS owner,
           max(occurred_at) AS status_at,
           count() AS decisions
    FROM {database}.account_statuses FINAL
    GROUP BY account_id
) AS d
LEFT JOIN (SELECT account_id, name, is_target FROM {database}.accounts FINAL) AS a ON a.account_id = d.account_id
SETTINGS join_use_nulls = 0;
