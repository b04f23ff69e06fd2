-- repeatable: the influence and attribution views (issue 15), re-created whenever this file (or a setting it
-- uses) changes. Does engagement move revenue (engagement_influence), and which programs earned the pipeline
-- (attribution_credits, program_attribution)? Opportunities are their current state (the opportunities view);
-- touches are their current version (as the events view has them, kept per account in program_successes: a
-- re-attributed touch counts at the account it is at now, once). Days are in the reporting time zone
-- ({reporting_tz}); money is exact, in the reporting currency.

-- Engagement before each closed opportunity, by segment: always 6 rows, q1..q4 then engaged, not_engaged.
-- Population: every closed opportunity (won or lost; unregistered accounts too) with close_date in today and
-- the 364 days before. Its pre_opp_minutes = its account's engagement minutes over the 90 days before it was
-- created (the days created_at - 90 to created_at - 1 in the reporting time zone), counted as
-- account_engagement counts them: the daily caps of engagement_person_daily, and a person's claimed web and
-- form minutes only once that person is confirmed at the account (a known contact, or a signed touch there).
--   segment         q1, q2, q3, q4: quartile = ntile(4) OVER (ORDER BY pre_opp_minutes, opportunity_id), q4
--                   the most engaged quarter; engaged: pre_opp_minutes >= 10; not_engaged: below 10
--   opportunities   closed opportunities in the segment
--   won             of them, closed-won
--   win_rate        won / opportunities, a fraction rounded to 4 decimals; NULL for an empty segment
--   avg_deal_size   won amount / won, to the cent (half up); NULL when none was won
--   avg_cycle_days  cycle_days (close_date - the day of created_at) of the won ones, averaged, 2 decimals;
--                   NULL when none was won
--   min_minutes, max_minutes  the lowest and highest pre_opp_minutes in the segment; NULL when empty
-- How it runs at 10M touches (issue 15): the closed opportunities (a few per account) are the join's
-- in-memory side, engagement_daily streams past them, and only its rows inside an opportunity's 90 days are
-- kept. The caps of engagement_person_daily (0100_views.sql) apply to a person's day and channel; a row with
-- no page-view minutes, not of a form and not claimed adds its minutes as they are (the caps change no sum
-- it is part of), so only the others are grouped by person, day and channel, on 128-bit hashes of the ids (as
-- uniqExact counts strings). Whether a person with claimed minutes is confirmed is looked up in the set of
-- (account, person) with signed touches.
CREATE OR REPLACE VIEW {database}.engagement_influence_live AS
WITH toDate(now(), '{reporting_tz}') AS today,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(30, 2))
         FROM {database}.scoring_settings WHERE key = 'page_view_daily_cap')) AS page_view_cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
         FROM {database}.scoring_settings WHERE key = 'form_submit_daily_cap')) AS form_cap,
     assumeNotNull((SELECT ifNull(toDecimal64OrNull(argMax(value, updated_at), 2), toDecimal64(10, 2))
         FROM {database}.scoring_settings WHERE key = 'form_submit')) AS form_minutes,
-- the population, from the kept latest snapshots (0018_opportunity_latest.sql)
closed AS
(
    SELECT opportunity_id, account_id, is_won, amount, toDate(created_at, '{reporting_tz}') AS created_day,
           toInt32(dateDiff('day', created_day, close_date)) AS cycle_days,
           reinterpretAsUInt128(sipHash128(opportunity_id)) AS opportunity_key
    FROM {database}.opportunity_latest FINAL
    WHERE is_closed AND close_date BETWEEN today - 364 AND today
),
-- each closed opportunity's capped minutes in its 90-day window: per claimed person (web and form minutes of a
-- person known by an email) and, unclaimed, all together (person '')
per_person AS
(
    SELECT opportunity_key, person, sum(minutes) AS minutes
    FROM
    (
        SELECT opportunity_key, any(claimed_by) AS person,
               toDecimal64(if(channel = 'form' AND sum(touches) * form_minutes > form_cap,
                   toDecimal128(round(sum(minutes) * form_cap / (sum(touches) * form_minutes), 2), 2),
                   sum(minutes) - sum(pv_minutes)
                   + if(sum(pv_base) > page_view_cap,
                        toDecimal128(round(sum(pv_minutes) * page_view_cap / sum(pv_base), 2), 2),
                        toDecimal128(sum(pv_minutes), 2))), 2) AS minutes
        FROM
        (
            SELECT c.opportunity_key AS opportunity_key,
                   e.channel IN ('web', 'form') AND position(e.person, '@') > 0 AS claimed,
                   if(claimed, e.person, '') AS claimed_by,
                   NOT claimed AND e.channel != 'form' AND e.pv_base = 0 AND e.pv_minutes = 0 AS as_is,
                   -- the rows added as they are: one group per opportunity
                   if(as_is, toUInt128(0), reinterpretAsUInt128(sipHash128(e.person))) AS person_key,
                   if(as_is, toDate(0), e.day) AS day, if(as_is, '', toString(e.channel)) AS channel,
                   e.minutes AS minutes, e.touches AS touches, e.pv_base AS pv_base, e.pv_minutes AS pv_minutes
            FROM {database}.engagement_daily AS e
            INNER JOIN closed AS c ON c.account_id = e.account_id
            WHERE e.kind = 'touch' AND e.day BETWEEN c.created_day - 90 AND c.created_day - 1
        )
        GROUP BY opportunity_key, person_key, day, channel
    )
    GROUP BY opportunity_key, person
),
-- every closed opportunity with its pre_opp_minutes and its quartile; ties in minutes go by id. A person's
-- claimed minutes count once the person is confirmed at the account: a known contact, or a touch of another
-- channel there, on any day (signed input: email links, events, calls, meetings)
ranked AS
(
    SELECT c.opportunity_id AS opportunity_id, c.is_won AS is_won, c.amount AS amount, c.cycle_days AS cycle_days,
           toDecimal64(ifNull(m.minutes, 0), 2) AS pre_opp_minutes,
           concat('q', toString(ntile(4) OVER (ORDER BY pre_opp_minutes, opportunity_id))) AS quartile
    FROM closed AS c
    LEFT JOIN
    (
        SELECT p.opportunity_key AS opportunity_key,
               sum(if(p.person = '' OR p.minutes = 0
                          OR sipHash128(o.account_id, p.person) IN
                      (
                          SELECT sipHash128(account_id, person) FROM {database}.engagement_daily
                          WHERE kind = 'touch' AND position(person, '@') > 0 AND channel NOT IN ('web', 'form')
                            AND account_id IN (SELECT account_id FROM closed)
                          GROUP BY account_id, person HAVING sum(touches) != 0
                      )
                          OR p.person IN (SELECT email FROM {database}.contacts FINAL), p.minutes, 0)) AS minutes
        FROM per_person AS p
        INNER JOIN (SELECT opportunity_key, account_id FROM closed) AS o ON o.opportunity_key = p.opportunity_key
        GROUP BY opportunity_key
    ) AS m ON m.opportunity_key = c.opportunity_key
),
-- each opportunity counts in its quartile and in engaged or not_engaged
per_segment AS
(
    SELECT segment, count() AS opportunities, countIf(is_won) AS won,
           sumIf(amount, is_won) AS won_amount, sumIf(cycle_days, is_won) AS won_cycle_days,
           min(pre_opp_minutes) AS min_minutes, max(pre_opp_minutes) AS max_minutes
    FROM ranked
    ARRAY JOIN [quartile, if(pre_opp_minutes >= 10, 'engaged', 'not_engaged')] AS segment
    GROUP BY segment
)
SELECT g.segment AS segment,
       ifNull(s.opportunities, 0) AS opportunities,
       ifNull(s.won, 0) AS won,
       if(opportunities = 0, NULL, toNullable(toDecimal64(round(toDecimal128(won, 8) / opportunities, 4), 4)))
           AS win_rate,
       if(won = 0, NULL, toNullable(toDecimal128(round(toDecimal128(assumeNotNull(s.won_amount), 8) / won, 2), 2)))
           AS avg_deal_size,
       if(won = 0, NULL, toNullable(toDecimal64(round(
           toDecimal128(assumeNotNull(s.won_cycle_days), 8) / won, 2), 2))) AS avg_cycle_days,
       s.min_minutes AS min_minutes,
       s.max_minutes AS max_minutes
FROM (SELECT arrayJoin(['q1', 'q2', 'q3', 'q4', 'engaged', 'not_engaged']) AS segment) AS g
LEFT JOIN per_segment AS s ON s.segment = g.segment
ORDER BY indexOf(['q1', 'q2', 'q3', 'q4', 'engaged', 'not_engaged'], g.segment)
SETTINGS join_use_nulls = 1;

-- Every opportunity's amount split over its touchpoints, by each attribution model: one row per
-- opportunity, model and touchpoint (an opportunity without touchpoints has no rows).
-- Touchpoints: the successes (events.success = 1, the reach definition) that carry a program_id, of the
-- opportunity's account, with occurred_at in the {attribution_days} days (PULSE_ATTRIBUTION_DAYS) before
-- created_at (created_at - {attribution_days} x 24 h included, created_at itself excluded), in the order of
-- occurred_at, then event_id (as text).
--   opportunity_id, account_id, created_at, amount, is_won, source  the opportunity (its current state)
--   model          first_touch: all to the first; last_touch: all to the last; linear: equal shares;
--                  u_shaped: 40 % first, 40 % last, 20 % shared by those between;
--                  w_shaped: 30 % first, 30 % the MQA touchpoint, 30 % last, 10 % shared by the others; the
--                  MQA touchpoint is the last touchpoint at or before the account's first change to mqa
--                  (stage_changes), when that change precedes created_at; without one, W is U.
--                  U and W: a position that coincides with another (first = MQA, one touchpoint) or has no
--                  touchpoint (nothing between) does not exist; with fewer than 4 (W) or 3 (U) positions, the
--                  unused shares go equally to the positions that exist (2 touchpoints: 50/50; 1: 100 %);
--                  time_decay: weight 2^(-age / 7), age = created_at - occurred_at in days (seconds / 86,400),
--                  normalised over the opportunity's touchpoints
--   position       the touchpoint's place, from 1
--   touchpoints    how many the opportunity has
--   event_id, program_id, occurred_at  the touchpoint
--   credit         its share of the opportunity's current amount, rounded half up to the cent; the last
--                  touchpoint's is the amount minus the others', so the credits sum to the amount exactly
CREATE OR REPLACE VIEW {database}.attribution_credits AS
WITH
-- each touchpoint with its place, the place of the account's MQA touchpoint (0: none) and its time-decay share
touchpoints AS
(
    SELECT *,
           max(if(occurred_at <= first_mqa, position, 0)) OVER (PARTITION BY opportunity_id) AS mqa_position,
           pow(2, -toFloat64(age_days) / 7) AS weight,
           weight / sum(weight) OVER (PARTITION BY opportunity_id) AS decay_share
    FROM
    (
        SELECT o.opportunity_id AS opportunity_id, o.account_id AS account_id, o.created_at AS created_at,
               o.amount AS amount, o.is_won AS is_won, o.source AS source,
               e.event_id AS event_id, e.program_id AS program_id, e.occurred_at AS occurred_at,
               toDecimal128(dateDiff('millisecond', e.occurred_at, o.created_at), 6) / 86400000 AS age_days,
               -- the account's first change to mqa, when it precedes the opportunity (else never)
               if(m.first_mqa < o.created_at, m.first_mqa, toDateTime64('1970-01-01 00:00:00', 3, 'UTC'))
                   AS first_mqa,
               row_number() OVER (PARTITION BY o.opportunity_id ORDER BY e.occurred_at, toString(e.event_id))
                   AS position,
               count() OVER (PARTITION BY o.opportunity_id) AS touchpoints
        FROM
        (
            -- the current program successes (0020_program_successes.sql) of the accounts with an opportunity,
            -- read by the table's key and streamed past the opportunities, which the join holds in memory (its
            -- right side). Held the other way round, the join took 2.4 GB at 100M touches (36.9M successes),
            -- with no opportunity at all (BENCHMARKS.md). Any snapshot's account will do: the join decides.
            SELECT event_id, account_id, program_id, occurred_at FROM {database}.program_successes FINAL
            WHERE is_deleted = 0 AND account_id != ''
              AND account_id IN (SELECT account_id FROM {database}.opportunity_latest)
        ) AS e
        INNER JOIN
        (
            SELECT opportunity_id, account_id, created_at, amount, is_won, source FROM {database}.opportunities
        ) AS o ON o.account_id = e.account_id
        LEFT JOIN
        (
            SELECT account_id, min(changed_at) AS first_mqa FROM {database}.stage_changes
            WHERE stage_to = 'mqa' GROUP BY account_id
        ) AS m ON m.account_id = o.account_id
        WHERE e.occurred_at < o.created_at
          AND e.occurred_at >= o.created_at - INTERVAL {attribution_days} DAY
        SETTINGS join_use_nulls = 0
    )
),
-- Every model but linear and time decay as positions with base shares (in %): first, W's MQA one, those
-- between (the middle), last. A position exists when it has a touchpoint of its own: the MQA one only when
-- it is neither the first nor the last, the middle only with 3 touchpoints or more. k = the positions that
-- exist, unused = 100 - their base shares, spread equally: a position gets base + unused / k, the middle
-- one's share split over its touchpoints. So W without an MQA touchpoint is U, U with 2 touchpoints is 50/50,
-- and first/last touch give 100 % to one. Each share is one exact fraction, numerator / (100 k x middle
-- touchpoints): nothing is rounded before the amount is split. One row per touchpoint and model.
shares AS
(
    SELECT *,
           arrayJoin([('first_touch', 100, 0, 0, 0, 0), ('last_touch', 0, 0, 0, 100, 0), ('linear', 0, 0, 0, 0, 0),
                      ('u_shaped', 40, 0, 20, 40, 0), ('w_shaped', 30, 30, 10, 30, mqa_position),
                      ('time_decay', 0, 0, 0, 0, 0)]) AS shape,
           tupleElement(shape, 1) AS model,
           if(tupleElement(shape, 6) IN (0, 1, touchpoints), 0, tupleElement(shape, 6)) AS mqa,
           touchpoints - 1 - (touchpoints >= 2) - (mqa > 0) AS middle,
           1 + (touchpoints >= 2) + (mqa > 0) + (middle > 0) AS k,
           100 - tupleElement(shape, 2) - if(touchpoints >= 2, tupleElement(shape, 5), 0)
               - if(mqa > 0, tupleElement(shape, 3), 0) - if(middle > 0, tupleElement(shape, 4), 0) AS unused,
           multiIf(position = 1, tupleElement(shape, 2), position = touchpoints, tupleElement(shape, 5),
                   position = mqa, tupleElement(shape, 3), tupleElement(shape, 4)) AS base,
           if(position = 1 OR position = touchpoints OR position = mqa, (base * k + unused) * greatest(middle, 1),
              base * k + unused) AS numerator,
           100 * k * greatest(middle, 1) AS denominator,
           -- the share of the amount, exact to 14 decimals (time decay: its weight to 12)
           multiIf(model = 'linear', toDecimal128(amount, 14) / touchpoints,
                   model = 'time_decay', toDecimal128(amount, 2) * toDecimal128(decay_share, 12),
                   toDecimal128(amount, 14) * numerator / denominator) AS exact
    FROM touchpoints
)
SELECT opportunity_id, account_id, created_at, amount, is_won, source, model, position, touchpoints, event_id,
       program_id, occurred_at,
       -- half up to the cent (round on decimals rounds half away from zero; amounts are >= 0); the last
       -- touchpoint takes what the others leave
       toDecimal128(if(position = touchpoints,
                       amount - (sum(rounded) OVER (PARTITION BY opportunity_id, model) - rounded),
                       rounded), 2) AS credit
FROM (SELECT *, toDecimal128(round(exact, 2), 2) AS rounded FROM shares);

-- Attribution per program, model and period: one row per program (registered, or named by a program success),
-- model (first_touch, last_touch, linear, u_shaped, w_shaped, time_decay, as attribution_credits) and
-- period (reporting_periods: mtd, qtd, ytd, 90d, 365d), by the day the opportunity was created (its
-- created_at in the reporting time zone, from the period's first day to today). Every opportunity counts,
-- unregistered accounts too.
--   program_id, name      the program ('' name when it is not registered)
--   model, period
--   attributed_pipeline   the program's credits (attribution_credits) on the opportunities created in the period
--   attributed_revenue    the same, over those of them now closed-won
--   influenced_opportunities  opportunities created in the period with at least one touchpoint of the program
--   influenced_pipeline   their current amounts, each counted fully (not split); the same for every model
--   sourced_pipeline      current amounts of the opportunities created in the period whose source is
--                         marketing and whose first touchpoint is the program's; the same for every model
--   cost                  the program's cost (programs.cost, the whole program); NULL when not given
--   roi                   (attributed_revenue - cost) / cost, a fraction rounded to 4 decimals; NULL without a
--                         cost (or a cost of 0)
CREATE OR REPLACE VIEW {database}.program_attribution_live AS
WITH toDate(now(), '{reporting_tz}') AS today,
     -- the periods' first days, latest first
     (SELECT arrayReverseSort(groupArray(start)) FROM {database}.reporting_periods) AS starts,
-- (program, model, period): attribution_credits read once. Every period ends today, so an opportunity is in a
-- period exactly when its day is on or after the period's first day: its rows are counted under `since`, the
-- latest first day on or before its day, and each period adds up the sinces on or after its first day. Credits
-- add up per (program, model, since) as they are; influenced and sourced do not depend on the model (every
-- model has a row for each touchpoint), so they are counted on the linear rows, per (program, opportunity),
-- then given to every model.
per_program AS
(
    SELECT program_id, arrayJoin(if(model = '', ['first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay'], [model])) AS model_of, p.period AS period,
           sum(credit) AS attributed_pipeline, sum(revenue) AS attributed_revenue,
           sum(influenced) AS influenced_opportunities, sum(amount) AS influenced_pipeline,
           sum(sourced_amount) AS sourced_pipeline
    FROM
    (
        -- per (program, model, since) the credits; per (program, since) the influenced opportunities
        SELECT program_id, model, since, sumIf(opportunity_credit, model != '') AS credit,
               sumIf(opportunity_revenue, model != '') AS revenue,
               countIf(model = '' AND linear) AS influenced,
               sumIf(opportunity_amount, model = '' AND linear) AS amount,
               sumIf(opportunity_amount, model = '' AND linear AND sourced) AS sourced_amount
        FROM
        (
            SELECT program_id, model, since, linear, opportunity_of, sum(credit) AS opportunity_credit,
                   sumIf(credit, is_won) AS opportunity_revenue, any(amount) AS opportunity_amount,
                   max(first_marketing) AS sourced
            FROM
            (
                SELECT program_id, model, credit, amount, is_won, model = 'linear' AS linear,
                       if(linear, opportunity_id, '') AS opportunity_of,
                       position = 1 AND source = 'marketing' AS first_marketing,
                       toDate(created_at, '{reporting_tz}') AS day,
                       multiIf(day >= starts[1], starts[1], day >= starts[2], starts[2], day >= starts[3], starts[3],
                               day >= starts[4], starts[4], starts[5]) AS since
                FROM {database}.attribution_credits
                WHERE day BETWEEN arrayMin(starts) AND today
            )
            GROUP BY GROUPING SETS ((program_id, model, since), (program_id, since, linear, opportunity_of))
        )
        GROUP BY program_id, model, since
    ) AS s
    CROSS JOIN {database}.reporting_periods AS p
    WHERE s.since >= p.start
    GROUP BY program_id, model_of, period
),
-- every registered program, and the ids that program successes name without a registration
program_list AS
(
    SELECT program_id, name, cost FROM {database}.programs FINAL
    UNION ALL
    SELECT DISTINCT program_id, '' AS name, CAST(NULL, 'Nullable(Decimal(18, 2))') AS cost
    FROM {database}.program_successes FINAL
    WHERE is_deleted = 0 AND program_id NOT IN (SELECT program_id FROM {database}.programs FINAL)
)
SELECT g.program_id AS program_id, g.name AS name, g.model AS model, g.period AS period,
       toDecimal128(ifNull(c.attributed_pipeline, 0), 2) AS attributed_pipeline,
       toDecimal128(ifNull(c.attributed_revenue, 0), 2) AS attributed_revenue,
       ifNull(c.influenced_opportunities, 0) AS influenced_opportunities,
       toDecimal128(ifNull(c.influenced_pipeline, 0), 2) AS influenced_pipeline,
       toDecimal128(ifNull(c.sourced_pipeline, 0), 2) AS sourced_pipeline,
       g.cost AS cost,
       if(g.cost IS NULL OR g.cost = 0, NULL, toNullable(toDecimal64(round(
           (toDecimal128(attributed_revenue, 8) - assumeNotNull(g.cost)) / assumeNotNull(g.cost), 4), 4))) AS roi
FROM
(
    SELECT program_id, name, cost, model, period, ordinal
    FROM program_list
    CROSS JOIN (SELECT arrayJoin(['first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay'])
                    AS model) AS m
    CROSS JOIN {database}.reporting_periods AS p
) AS g
LEFT JOIN per_program AS c ON c.program_id = g.program_id AND c.model_of = g.model AND c.period = g.period
ORDER BY g.program_id, indexOf(['first_touch', 'last_touch', 'linear', 'u_shaped', 'w_shaped', 'time_decay'], g.model),
         g.ordinal
SETTINGS join_use_nulls = 1;
