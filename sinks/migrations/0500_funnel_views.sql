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
SELECT email, toUInt32(position) AS position, stages[position] AS stage, entered_at,
       toDate(entered_at, '{reporting_tz}') AS entered_on
FROM
(
    -- the kept state of 0025_funnel_people.sql: position -> first reached (ms), for positions 1..top
    SELECT email, entered FROM {database}.funnel_people FINAL
)
ARRAY JOIN entered.1 AS position, arrayMap(ms -> fromUnixTimestamp64Milli(ms, 'UTC'), entered.2) AS entered_at;

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
CREATE OR REPLACE VIEW {database}.person_lifecycle_live AS
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

-- One row per person who reached a stage of the order: their history as arrays indexed by position, from the
-- kept state of 0025_funnel_people.sql (one merged row per person); lifecycle_history, funnel_summary,
-- funnel_counts and funnel_conversion read it (no join per stage).
--   person         the person (email)
--   source         the source of the person's first change (ties: the larger event_id; '' when none)
--   given_account  the account the CRM gave with the latest change that named one ('' when none)
--   top            the furthest position reached
--   entered        entered_at of positions 1..top: the earliest change to that stage or a later one
--   entered_on     the days of `entered` in the reporting time zone
--   skipped        1 at a position entered with a later stage (no change named it at that moment)
--   owners         the owner when entering each position: the latest non-empty owner of a change at or before
--                  it (ties: the larger event_id); '' when none named one by then
CREATE OR REPLACE VIEW {database}.person_funnel AS
SELECT email AS person, f.3 AS source, a.3 AS given_account, length(e.1) AS top, times AS entered,
       arrayMap(t -> toDate(t, '{reporting_tz}'), times) AS entered_on,
       arrayMap((p, t) -> toUInt8(NOT has(arrayZip(n.1, n.2), (p, t))), e.1, e.2) AS skipped,
       arrayMap(t -> arrayLast(x -> x.1 <= t, arraySort(o)).3, times) AS owners
FROM
(
    -- the kept state of 0025_funnel_people.sql: positions 1..top reached, first times in ms
    SELECT email, entered AS e, named AS n, first AS f, account AS a, owners AS o,
           arrayMap(ms -> fromUnixTimestamp64Milli(ms, 'UTC'), entered.2) AS times
    FROM {database}.funnel_people FINAL
)
WHERE top > 0;

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
CREATE OR REPLACE VIEW {database}.funnel_summary_live AS
WITH toDate(now(), '{reporting_tz}') AS today, {lifecycle_order} AS stages,
     (SELECT groupArray(start) FROM (SELECT start FROM {database}.reporting_periods ORDER BY ordinal)) AS starts,
     (SELECT groupArray(period) FROM (SELECT period FROM {database}.reporting_periods ORDER BY ordinal)) AS names,
     length(starts) AS periods
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
    -- as funnel_counts (below) does: one count per (stage, period) in arrays, element (position - 1) * periods +
    -- ordinal, over person_funnel's arrays (one row per person, no window over their stages)
    SELECT names[(cell - 1) % periods + 1] AS period, intDiv(cell - 1, periods) + 1 AS position,
           f.reached[cell] AS reached, f.converted[cell] AS converted
    FROM
    (
        SELECT sumForEach(arrayFlatten(arrayMap(p -> arrayMap(d -> toUInt64(p <= top AND entered_on[p] BETWEEN d AND today),
                                                              starts), range(1, length(stages) + 1)))) AS reached,
               sumForEach(arrayFlatten(arrayMap(p -> arrayMap(d -> toUInt64(p < top AND entered_on[p] BETWEEN d AND today),
                                                              starts), range(1, length(stages) + 1)))) AS converted
        FROM {database}.person_funnel
        WHERE entered_on[top] >= arrayMin(starts)  -- a history wholly before the periods adds only zeros
    ) AS f
    ARRAY JOIN arrayEnumerate(f.reached) AS cell
) AS s ON s.period = g.period AND s.position = g.position
ORDER BY g.ordinal, g.position
SETTINGS join_use_nulls = 0;

-- One row per person and stage of the order they have reached: their lifecycle history as a funnel.
--   person      the person (email)
--   account_id  the person's account: the CRM's (latest change that named one), else the contact's (pulse
--               accounts import), else '' (as person_lifecycle.account_id)
--   position    the stage's place in the funnel order, from 1
--   stage       the stage (PULSE_LIFECYCLE_STAGES, `other` never: it stands outside the order)
--   entered_at  when the person first reached the stage (person_stages.entered_at; a skipped stage is
--               entered with the next stage reached; a move back keeps the first time)
--   left_at     when the person first reached the next stage of the order (so a skipped next stage counts
--               too); NULL for the furthest stage reached, even after a move back
--   skipped     1 when the stage was entered with a later one (no change named this stage itself at
--               entered_at): the person jumped over it (entered_at = left_at), even if they moved back to it
--               later; a skipped stage has no time in stage
--   source      the source of the person's first change (person_lifecycle.source; '' when none)
--   owner       the person's owner when entering the stage: the latest non-empty owner of a change at or
--               before entered_at (ties: the larger event_id); '' when none named one by then
CREATE OR REPLACE VIEW {database}.lifecycle_history_live AS
WITH {lifecycle_order} AS stages
SELECT f.person AS person, if(f.given_account != '', f.given_account, ifNull(k.account_id, '')) AS account_id,
       position, stages[position] AS stage, f.entered[position] AS entered_at,
       if(position < f.top, toNullable(f.entered[position + 1]), NULL) AS left_at,
       f.skipped[position] AS skipped, f.source AS source, f.owners[position] AS owner
FROM {database}.person_funnel AS f
ARRAY JOIN arrayEnumerate(f.entered) AS position
LEFT JOIN (SELECT email, account_id FROM {database}.contacts FINAL) AS k ON k.email = f.person
SETTINGS join_use_nulls = 1;

-- Period counts ("any stage"): one row per period, source and stage of the order, zeros included.
--   period              mtd, qtd, ytd, 90d, 365d (reporting_periods), by the day a person first reached the
--                       stage, today included
--   source              `all`, or one source of the people's first change ('' = the change named none)
--   position            the stage's place in the funnel order, from 1
--   stage               the stage
--   reached             people of the source who first reached the stage in the period (a skipped stage is
--                       reached with the next one)
--   visitors            on the `lead` row only (else NULL): distinct people with a page_view in the period,
--                       by the person stored on the view (the email, else the cookie), people only (traffic
--                       `person`: bots, scanners and internal traffic are no visitors); every source's row has
--                       the same visitors, page views carry no lifecycle source
--   visit_to_lead_rate  on the `lead` row only: reached / visitors, a fraction to 4 decimals; NULL when
--                       there were no visitors. Without a stage named `lead` in PULSE_LIFECYCLE_STAGES, the
--                       first stage of the order plays its part here and in funnel_conversion
-- Each period is one element of an array per (source, stage) (ForEach), so the history is read once, not
-- once per period.
CREATE OR REPLACE VIEW {database}.funnel_counts_live AS
WITH toDate(now(), '{reporting_tz}') AS today, {lifecycle_order} AS stages,
     if(indexOf(stages, 'lead') > 0, indexOf(stages, 'lead'), 1) AS lead_at,
     (SELECT groupArray(start) FROM (SELECT start FROM {database}.reporting_periods ORDER BY ordinal)) AS starts,
     (SELECT groupArray(period) FROM (SELECT period FROM {database}.reporting_periods ORDER BY ordinal)) AS names,
     length(starts) AS periods
SELECT names[k] AS period, f.source AS source, intDiv(cell - 1, periods) + 1 AS position, stages[position] AS stage,
       f.counts[cell] AS reached,
       if(position = lead_at, toNullable(v.visitors[k]), NULL) AS visitors,
       if(position = lead_at AND v.visitors[k] > 0,
          toNullable(toDecimal64(round(toDecimal128(reached, 8) / v.visitors[k], 4), 4)), NULL) AS visit_to_lead_rate
FROM
(
    -- per source, one count per (stage, period): element (position - 1) * periods + ordinal
    SELECT source, sumForEach(flat) AS counts
    FROM
    (
        SELECT arrayJoin(['all', source]) AS source,
               arrayFlatten(arrayMap(p -> arrayMap(s -> toUInt64(p <= top AND entered_on[p] BETWEEN s AND today),
                                                   starts), range(1, length(stages) + 1))) AS flat
        FROM {database}.person_funnel
        WHERE entered_on[top] >= arrayMin(starts)  -- a history wholly before the periods adds only zeros
    )
    GROUP BY source
) AS f
ARRAY JOIN arrayEnumerate(f.counts) AS cell
CROSS JOIN
(
    -- a person visited in a period (all end today) when their last page-view day up to today is in it
    SELECT [countIf(last >= starts[1]), countIf(last >= starts[2]), countIf(last >= starts[3]),
            countIf(last >= starts[4]), countIf(last >= starts[5])] AS visitors
    FROM
    (
        -- each person's page views now (0057_page_view_latest_by_person.sql); the report groups them in the
        -- table's order, one person at a time, not in a hash table of millions of people (0900_reports.sql)
        SELECT person, max(day) AS last
        FROM {database}.page_view_latest FINAL
        WHERE is_deleted = 0 AND traffic = 'person' AND day BETWEEN arrayMin(starts) AND today
          AND occurred_at >= toDateTime(arrayMin(starts) - 1)
        GROUP BY person
    )
) AS v
ARRAY JOIN [(cell - 1) % periods + 1] AS k
ORDER BY k, source != 'all', source, position;

-- Cohort conversion ("all stages", HubSpot's default funnel) and time in stage: one row per period,
-- source and step, zeros included. The steps are every next step of the order (subscriber -> lead,
-- lead -> mql, ...; next_step = 1) and, cumulatively, `lead` to each later stage (lead -> sql,
-- lead -> opportunity, ...; next_step = 0; lead -> mql is the next-step row). So the cumulative funnel
-- from lead is `WHERE from_stage = 'lead'`, the step by step one `WHERE next_step = 1`.
--   period           mtd, qtd, ytd, 90d, 365d (reporting_periods), today included
--   source           `all`, or one source of the people's first change ('' = the change named none)
--   from_stage       the stage the cohort entered
--   to_stage         the stage converted to
--   next_step        1 when to_stage directly follows from_stage in the order; 0 for a cumulative row
--   entered          the cohort: people who first reached from_stage in the period
--   converted        of them, those who have reached to_stage by now (at any time, even after the period)
--   conversion_rate  converted / entered, a fraction to 4 decimals; NULL when entered is 0
--   moved_on         people who first reached to_stage in the period after having been in from_stage (a
--                    person who skipped from_stage was never in it and is not counted): the base of the
--                    days below, by period counting, not the cohort
--   avg_days         over moved_on: days (seconds / 86,400) from entered_at(from_stage) to entered_at(to_stage)
--                    - for a next step, the time in from_stage up to the next stage reached - 4 decimals;
--                    NULL when moved_on is 0
--   median_days      the median of the same days (the mean of the two middle ones for an even count)
-- As in funnel_counts, the periods are the elements of ForEach arrays: one pass over people x steps.
CREATE OR REPLACE VIEW {database}.funnel_conversion_live AS
WITH toDate(now(), '{reporting_tz}') AS today, {lifecycle_order} AS stages,
     if(indexOf(stages, 'lead') > 0, indexOf(stages, 'lead'), 1) AS lead_at,
     arrayConcat(arrayMap(i -> (i, i + 1), range(1, length(stages))),
                 arrayMap(j -> (lead_at, j), range(lead_at + 2, length(stages) + 1))) AS steps,
     (SELECT groupArray(start) FROM (SELECT start FROM {database}.reporting_periods ORDER BY ordinal)) AS starts,
     (SELECT groupArray(period) FROM (SELECT period FROM {database}.reporting_periods ORDER BY ordinal)) AS names,
     length(starts) AS periods
SELECT names[k] AS period, x.source AS source, steps[i].1 AS from_position, stages[from_position] AS from_stage,
       stages[steps[i].2] AS to_stage, toUInt8(steps[i].2 = from_position + 1) AS next_step,
       x.entered[cell] AS entered, x.converted[cell] AS converted,
       if(entered > 0, toNullable(toDecimal64(round(toDecimal128(converted, 8) / entered, 4), 4)), NULL)
           AS conversion_rate,
       x.moved[cell] AS moved_on,
       if(moved_on > 0, toNullable(toDecimal64(round(toDecimal128(x.total_ms[cell], 10) / moved_on / 86400000, 4),
                                               4)), NULL) AS avg_days,
       if(moved_on > 0, toNullable(toDecimal64(round(toDecimal128(x.median_ms[cell], 10) / 86400000, 4), 4)), NULL)
           AS median_days
FROM
(
    -- per source, one figure per (step, period): element (step - 1) * periods + ordinal
    SELECT source, sumForEach(e) AS entered, sumForEach(c) AS converted, sumForEach(m) AS moved,
           sumForEach(t) AS total_ms, quantileExactInclusiveForEach(0.5)(q) AS median_ms
    FROM
    (
        -- per step: (reached from, reached to, day from, day to, was in from (not skipped) and moved on, ms)
        SELECT arrayJoin(['all', source]) AS source,
               arrayMap(st -> (top >= st.1, top >= st.2, entered_on[st.1], entered_on[st.2],
                               top >= st.2 AND skipped[st.1] = 0,
                               if(top >= st.2, dateDiff('millisecond', entered[st.1], entered[st.2]), 0)), steps) AS z,
               arrayFlatten(arrayMap(y -> arrayMap(s -> toUInt64(y.1 AND y.3 BETWEEN s AND today), starts), z)) AS e,
               arrayFlatten(arrayMap(y -> arrayMap(s -> toUInt64(y.2 AND y.3 BETWEEN s AND today), starts), z)) AS c,
               arrayFlatten(arrayMap(y -> arrayMap(s -> y.5 AND y.4 BETWEEN s AND today, starts), z)) AS moved_flags,
               arrayMap(f -> toUInt64(f), moved_flags) AS m,
               arrayFlatten(arrayMap(y -> arrayMap(s -> if(y.5 AND y.4 BETWEEN s AND today, y.6, 0), starts), z)) AS t,
               arrayFlatten(arrayMap(y -> arrayMap(s -> if(y.5 AND y.4 BETWEEN s AND today, toNullable(y.6), NULL),
                                                   starts), z)) AS q
        FROM {database}.person_funnel
        WHERE entered_on[top] >= arrayMin(starts)  -- a history wholly before the periods adds only zeros
    )
    GROUP BY source
) AS x
ARRAY JOIN arrayEnumerate(x.entered) AS cell
ARRAY JOIN [intDiv(cell - 1, periods) + 1] AS i, [(cell - 1) % periods + 1] AS k
ORDER BY k, source != 'all', source, i;
