-- repeatable: the revenue views (issue 15), re-created whenever this file (or a setting it uses) changes.
-- An opportunity's state is its latest snapshot by occurred_at (ties: the larger event_id, compared as
-- text, which orders UUIDs as their numbers do), unlike a touch, whose first version wins: a CRM sends
-- the whole opportunity each time it changes, so a late older snapshot joins the history and never
-- overwrites a newer state. Days, months and years are in the reporting time zone ({reporting_tz}).

-- One row per opportunity: its current state.
--   opportunity_id  the CRM's id
--   account_id      the CRM's account id, kept even when the account is not registered (yet)
--   account_name    from accounts; '' for an unregistered account
--   is_target       1 when the account is on the target list; 0 for an unregistered account
--   is_registered   1 when account_id is in accounts (registering it later attributes it, exactly)
--   name, stage, is_closed, is_won, amount (reporting currency), created_at, close_date, owner, source,
--   type (new_business, renewal, expansion), program_id, probability (NULL when the CRM gave none):
--                   as in the latest snapshot
--   cycle_days      closed only: close_date - the day of created_at, in days; NULL while open
--   updated_at      occurred_at of the latest snapshot
CREATE OR REPLACE VIEW {database}.opportunities AS
SELECT o.opportunity_id AS opportunity_id, o.account_id AS account_id, a.name AS account_name,
       a.is_target AS is_target, a.account_id != '' AS is_registered,
       o.name AS name, o.stage AS stage, o.is_closed AS is_closed, o.is_won AS is_won, o.amount AS amount,
       o.created_at AS created_at, o.close_date AS close_date, o.owner AS owner, o.source AS source,
       o.type AS type, o.program_id AS program_id, o.probability AS probability,
       if(o.is_closed, toNullable(toInt32(dateDiff('day', toDate(o.created_at, '{reporting_tz}'), o.close_date))),
          NULL) AS cycle_days,
       o.occurred_at AS updated_at
FROM
(
    -- the latest snapshot of each opportunity, kept as the snapshots arrive (0018_opportunity_latest.sql)
    SELECT * FROM {database}.opportunity_latest FINAL
) AS o
LEFT JOIN (SELECT account_id, name, is_target FROM {database}.accounts FINAL) AS a ON a.account_id = o.account_id
SETTINGS join_use_nulls = 0;

-- Stage history: one row per stage visit (a stage entered again later is a new visit).
--   opportunity_id
--   stage          as the CRM names it
--   entered_at     the earliest occurred_at of the snapshots of this visit
--   left_at        when the next different stage was entered; NULL while it is the current stage
--   days_in_stage  (left_at - entered_at) in days, seconds / 86,400 rounded to 2 decimals; NULL while current
CREATE OR REPLACE VIEW {database}.opportunity_stages AS
SELECT opportunity_id, stage, entered_at, left_at,
       if(left_at IS NULL, NULL, toNullable(toDecimal64(round(
           toDecimal128(dateDiff('millisecond', entered_at, assumeNotNull(left_at)), 6) / 86400000, 2), 2)))
           AS days_in_stage
FROM
(
    SELECT opportunity_id, stage, occurred_at AS entered_at,
           leadInFrame(toNullable(occurred_at)) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, tie
               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS left_at
    FROM
    (
        SELECT opportunity_id, stage, occurred_at, tie,
               lagInFrame(toNullable(stage)) OVER (PARTITION BY opportunity_id ORDER BY occurred_at, tie
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS previous
        -- each snapshot's stage in history order (0017_opportunity_state.sql); a duplicate not merged
        -- away yet repeats its stage, so it starts no visit
        FROM {database}.opportunity_stage_points
    )
    WHERE previous IS NULL OR previous != stage
);

-- Spend per reporting period: always 5 rows.
--   period  mtd, qtd, ytd, 90d, 365d (reporting_periods)
--   spend   cost of the programs whose starts_at (its day) is in the period, plus the spend rows
--           (`pulse spend import`, the latest import per month and category) of the months whose first
--           day is in the period: mtd this month, qtd and ytd the months of the quarter or year so far,
--           90d and 365d the months that began in those days (the month holding the period's first day
--           counts only when the period starts on the 1st); no month after today's
CREATE OR REPLACE VIEW {database}.reporting_spend AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT p.period AS period, toDecimal128(ifNull(c.spend, 0), 2) AS spend
FROM {database}.reporting_periods AS p
LEFT JOIN
(
    SELECT p.period AS period, sum(x.amount) AS spend
    FROM {database}.reporting_periods AS p
    CROSS JOIN
    (
        SELECT toDate(assumeNotNull(starts_at), '{reporting_tz}') AS day, assumeNotNull(cost) AS amount
        FROM {database}.programs FINAL WHERE cost IS NOT NULL AND starts_at IS NOT NULL
        UNION ALL
        SELECT month AS day, amount FROM {database}.spend FINAL
    ) AS x
    WHERE x.day BETWEEN p.start AND today
    GROUP BY p.period
) AS c ON c.period = p.period
SETTINGS join_use_nulls = 1;

-- Revenue per period and audience: always 10 rows (5 periods x 2 audiences).
--   period    mtd, qtd, ytd (from the start of this month, quarter, year), 90d, 365d (today and the 89 or
--             364 days before); "in the period" is by the date each metric names, today included
--   audience  target (opportunities of target accounts) or all (every opportunity, unregistered too)
--   pipeline_created_count, pipeline_created_amount
--             opportunities whose created_at (its day) is in the period; amount = the current amount
--   won_count, won_amount  opportunities now closed-won whose close_date is in the period
--   lost_count             opportunities now closed-lost whose close_date is in the period
--   win_rate      won_count / (won_count + lost_count), a fraction rounded to 4 decimals; NULL when nothing closed
--   avg_deal_size won_amount / won_count, to the cent (half up); NULL when nothing was won
--   avg_cycle_days, median_cycle_days  cycle_days of the won ones, 2 decimals; NULL when nothing was won
--   new_customers accounts whose first closed-won new_business opportunity (by close_date) closed in the period
--   spend         reporting_spend's (program costs by starts_at, spend rows by the months whose first day is
--                 in the period); the same for both audiences: spend is not split by account
--   cac           spend / new_customers, to the cent (half up); NULL when there is no new customer
-- How it stays fast (issue 15: under 100 ms at 250,000 opportunities): every period ends today, so a day
-- is in a period exactly when it is on or after the period's first day. Each day is replaced by `since`,
-- the latest first day of a period on or before it (1970-01-01: in no period), and one read of the kept
-- latest snapshots (0018_opportunity_latest.sql) groups into a few hundred rows (since x flags x the won
-- ones' cycle days) and, in a second grouping set of the same read, into each account's first closed-won
-- new_business close date; the five periods are then joined to those few rows.
CREATE OR REPLACE VIEW {database}.revenue_summary_live AS
WITH toDate(now(), '{reporting_tz}') AS today,
     toDate(0) AS never,
     -- the periods' first days, latest first
     (SELECT arrayReverseSort(groupArray(start)) FROM {database}.reporting_periods) AS starts
SELECT g.period AS period, g.audience AS audience,
       s.pipeline_created_count AS pipeline_created_count, s.pipeline_created_amount AS pipeline_created_amount,
       s.won_count AS won_count, s.won_amount AS won_amount, s.lost_count AS lost_count,
       s.win_rate AS win_rate, s.avg_deal_size AS avg_deal_size, s.avg_cycle_days AS avg_cycle_days,
       s.median_cycle_days AS median_cycle_days, s.new_customers AS new_customers, c.spend AS spend,
       if(s.new_customers = 0, NULL, toNullable(toDecimal128(round(toDecimal128(c.spend, 8) / s.new_customers, 2), 2)))
           AS cac
FROM
(
    SELECT period, arrayJoin(['target', 'all']) AS audience FROM {database}.reporting_periods
) AS g
LEFT JOIN
(
    SELECT p.period AS period, audience,
           sumIf(f.n, f.created_since >= p.start) AS pipeline_created_count,
           toDecimal128(sumIf(f.amount, f.created_since >= p.start), 2) AS pipeline_created_amount,
           sumIf(f.n, f.is_won AND f.close_since >= p.start) AS won_count,
           toDecimal128(sumIf(f.amount, f.is_won AND f.close_since >= p.start), 2) AS won_amount,
           sumIf(f.n, f.is_lost AND f.close_since >= p.start) AS lost_count,
           if(won_count + lost_count = 0, NULL, toNullable(toDecimal64(round(
               toDecimal128(won_count, 8) / (won_count + lost_count), 4), 4))) AS win_rate,
           if(won_count = 0, NULL, toNullable(toDecimal128(round(
               toDecimal128(won_amount, 8) / won_count, 2), 2))) AS avg_deal_size,
           if(won_count = 0, NULL, toNullable(toDecimal64(round(
               toDecimal128(sumIf(f.cycle_days * f.n, f.is_won AND f.close_since >= p.start), 8) / won_count, 2), 2)))
               AS avg_cycle_days,
           -- the won ones' cycle days as a sorted list of values and how many have each; the exact median
           -- (the middle value, or the mean of the two middle ones) is read off the running counts
           sumMapIf([f.cycle_days], [f.n], f.is_won AND f.close_since >= p.start) AS cycles,
           arrayCumSum(cycles.2) AS running,
           if(won_count = 0, NULL, toNullable(toDecimal64(round(
               (toDecimal128(cycles.1[arrayFirstIndex(r -> r > intDiv(won_count - 1, 2), running)], 8)
                + cycles.1[arrayFirstIndex(r -> r > intDiv(won_count, 2), running)]) / 2, 2), 2)))
               AS median_cycle_days,
           sumIf(f.n, f.new_customer AND f.close_since >= p.start) AS new_customers
    FROM
    (
        -- (new_customer, since of created, since of close or of the first win, flags, cycle days): how many
        SELECT new_customer, created_since, close_since, is_won, is_lost, is_target, cycle_days, sum(n) AS n,
               sum(amount) AS amount
        FROM
        (
            SELECT g.new_business_of != '' AS new_customer,
                   if(new_customer, g.any_target, g.is_target) AS is_target,
                   if(new_customer, never, g.created_since) AS created_since,
                   multiIf(NOT new_customer, g.close_since, g.first_won > today, never,
                           multiIf(g.first_won >= starts[1], starts[1], g.first_won >= starts[2], starts[2],
                                   g.first_won >= starts[3], starts[3], g.first_won >= starts[4], starts[4],
                                   g.first_won >= starts[5], starts[5], never)) AS close_since,
                   g.is_won AND NOT new_customer AS is_won, g.is_lost AS is_lost, g.cycle_days AS cycle_days,
                   if(new_customer, 1, g.n) AS n, g.amount AS amount
            FROM
            (
                SELECT created_since, close_since, is_won, is_lost, is_target, cycle_days, new_business_of,
                       count() AS n, sum(amount) AS amount, min(close_date) AS first_won, any(is_target) AS any_target
                FROM
                (
                    SELECT amount, is_won, is_closed AND NOT is_won AS is_lost, close_date,
                           account_id IN (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1)
                               AS is_target,
                           toDate(created_at, '{reporting_tz}') AS created_day,
                           if(created_day > today, never, multiIf(created_day >= starts[1], starts[1],
                              created_day >= starts[2], starts[2], created_day >= starts[3], starts[3],
                              created_day >= starts[4], starts[4], created_day >= starts[5], starts[5], never))
                               AS created_since,
                           if(NOT is_closed OR close_date > today, never, multiIf(close_date >= starts[1], starts[1],
                              close_date >= starts[2], starts[2], close_date >= starts[3], starts[3],
                              close_date >= starts[4], starts[4], close_date >= starts[5], starts[5], never))
                               AS close_since,
                           if(is_won AND close_since != never, toInt32(dateDiff('day', created_day, close_date)), 0)
                               AS cycle_days,
                           -- the account, for its closed-won new_business opportunities
                           if(is_won AND type = 'new_business', account_id, '') AS new_business_of
                    FROM {database}.opportunity_latest FINAL
                )
                GROUP BY GROUPING SETS ((created_since, close_since, is_won, is_lost, is_target, cycle_days),
                                        (new_business_of))
            ) AS g
            -- the second set's rows: one per account with a closed-won new_business opportunity (and one
            -- of every other opportunity, in no period)
        )
        WHERE created_since != never OR close_since != never
        GROUP BY new_customer, created_since, close_since, is_won, is_lost, is_target, cycle_days
    ) AS f
    CROSS JOIN {database}.reporting_periods AS p
    ARRAY JOIN if(f.is_target, ['target', 'all'], ['all']) AS audience
    GROUP BY period, audience
) AS s ON s.period = g.period AND s.audience = g.audience
LEFT JOIN {database}.reporting_spend AS c ON c.period = g.period
SETTINGS join_use_nulls = 0;

-- Open pipeline now, per stage and audience: one row per stage that holds an open opportunity.
--   audience        target (opportunities of target accounts) or all (every opportunity, unregistered too)
--   stage           as the CRM names it
--   open_count      open opportunities in this stage
--   open_amount     their current amounts
--   weighted_open_amount  sum of amount x probability / 100 over those that carry a probability, to the cent
--                   (half up); an opportunity without one adds nothing here (the CRM gave no likelihood)
--   without_probability   open opportunities in this stage that carry no probability
--   avg_probability average probability (0-100, 2 decimals) of those that carry one; NULL when none does:
--                   the page orders a funnel by it (the CRM's stages are free text)
CREATE OR REPLACE VIEW {database}.open_pipeline_by_stage_live AS
SELECT audience, stage, count() AS open_count, toDecimal128(sum(amount), 2) AS open_amount,
       toDecimal128(round(sum(toDecimal128(amount, 6) * toDecimal128(ifNull(probability, 0), 6)) / 100, 2), 2)
           AS weighted_open_amount,
       countIf(probability IS NULL) AS without_probability,
       if(countIf(probability IS NOT NULL) = 0, NULL,
          toNullable(toDecimal64(round(toDecimal128(sumIf(assumeNotNull(probability), probability IS NOT NULL), 6)
                                       / countIf(probability IS NOT NULL), 2), 2))) AS avg_probability
FROM {database}.opportunities
ARRAY JOIN if(is_target = 1, ['target', 'all'], ['all']) AS audience
WHERE NOT is_closed
GROUP BY audience, stage;

-- Sales velocity, one row, every opportunity (unregistered accounts too): how much revenue the open
-- pipeline brings in per day at the last 365 days' pace.
--   open_count, open_amount  open opportunities now and their current amounts
--   weighted_open_amount     sum of amount x probability / 100 over the open ones that carry a probability
--   win_rate_365d       won / (won + lost) of the opportunities with close_date in today and the 364 days
--                       before, a fraction to 4 decimals; NULL when none closed
--   avg_deal_size_365d  won amount / won count over the same days, to the cent; NULL when none was won
--   avg_cycle_days_365d cycle_days of those won, averaged, 2 decimals; NULL when none was won
--   velocity_per_day    open_count x win rate x average deal size / average sales cycle, computed from the
--                       exact ratios (= open_count x won amount x won count / ((won + lost) x sum of cycle
--                       days)), to the cent; NULL without a win or when every win closed the day it was created
--   retention_365d      renewal opportunities won / renewal opportunities closed, same days, 4 decimals;
--                       NULL when no renewal closed
--   won_count, lost_count, won_amount, won_cycle_days, renewals_won, renewals_closed
--                       the counts and sums behind these rates (same 365 days)
--   won_customers_365d  accounts with a closed-won opportunity (any type) in the same days
--   revenue_per_customer_year  won_amount / won_customers_365d: the average won amount per customer per year,
--                       to the cent; NULL when nothing was won
--   lifetime_years      expected customer lifetime: 1 / (1 - retention) = renewals_closed / (renewals_closed -
--                       renewals_won), 2 decimals (retention 0 gives 1 year); PULSE_CUSTOMER_LIFETIME_YEARS
--                       ({customer_lifetime_years}) when no renewal closed or every one was won
--   new_customers_365d  accounts whose first closed-won new_business opportunity closed in the same days
--   cac_365d            reporting_spend's 365d spend / new_customers_365d, to the cent (= revenue_summary's cac
--                       for 365d and every opportunity); NULL without a new customer
--   clv                 revenue_per_customer_year x lifetime_years - cac_365d, from the exact ratios, to the
--                       cent; may be negative; NULL when nothing was won or cac_365d is NULL (without a new
--                       customer the cost of one is unknown, and CLV without it would overstate)
CREATE OR REPLACE VIEW {database}.sales_velocity_live AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT countIf(NOT is_closed) AS open_count,
       toDecimal128(sumIf(amount, NOT is_closed), 2) AS open_amount,
       toDecimal128(round(sumIf(toDecimal128(amount, 6) * toDecimal128(ifNull(probability, 0), 6), NOT is_closed)
                          / 100, 2), 2) AS weighted_open_amount,
       countIf(is_won AND in_365) AS won_count,
       countIf(is_closed AND NOT is_won AND in_365) AS lost_count,
       sumIf(amount, is_won AND in_365) AS won_amount,
       sumIf(toInt32(dateDiff('day', toDate(created_at, '{reporting_tz}'), close_date)), is_won AND in_365)
           AS won_cycle_days,
       if(won_count + lost_count = 0, NULL, toNullable(toDecimal64(round(
           toDecimal128(won_count, 8) / (won_count + lost_count), 4), 4))) AS win_rate_365d,
       if(won_count = 0, NULL, toNullable(toDecimal128(round(toDecimal128(won_amount, 8) / won_count, 2), 2)))
           AS avg_deal_size_365d,
       if(won_count = 0, NULL, toNullable(toDecimal64(round(toDecimal128(won_cycle_days, 8) / won_count, 2), 2)))
           AS avg_cycle_days_365d,
       if(won_count = 0 OR won_cycle_days = 0, NULL, toNullable(toDecimal128(round(
           toDecimal128(won_amount, 8) * open_count * won_count / ((won_count + lost_count) * won_cycle_days), 2), 2)))
           AS velocity_per_day,
       countIf(is_won AND in_365 AND type = 'renewal') AS renewals_won,
       countIf(is_closed AND in_365 AND type = 'renewal') AS renewals_closed,
       if(renewals_closed = 0, NULL, toNullable(toDecimal64(round(
           toDecimal128(renewals_won, 8) / renewals_closed, 4), 4))) AS retention_365d,
       uniqExactIf(account_id, is_won AND in_365) AS won_customers_365d,
       if(won_customers_365d = 0, NULL, toNullable(toDecimal128(round(
           toDecimal128(won_amount, 8) / won_customers_365d, 2), 2))) AS revenue_per_customer_year,
       renewals_closed = 0 OR renewals_won = renewals_closed AS lifetime_from_setting,
       if(lifetime_from_setting, toDecimal64('{customer_lifetime_years}', 2), toDecimal64(round(
           toDecimal128(renewals_closed, 8) / (renewals_closed - renewals_won), 2), 2)) AS lifetime_years,
       -- an account's first win is in the 365 days when it has a win by today and none before those days
       toUInt64(uniqExactIf(account_id, is_won AND type = 'new_business' AND close_date <= today)
                - uniqExactIf(account_id, is_won AND type = 'new_business' AND close_date < today - 364))
           AS new_customers_365d,
       if(new_customers_365d = 0, NULL, toNullable(toDecimal128(round(toDecimal128(
           (SELECT spend FROM {database}.reporting_spend WHERE period = '365d'), 8) / new_customers_365d, 2), 2)))
           AS cac_365d,
       if(won_customers_365d = 0 OR cac_365d IS NULL, NULL, toNullable(toDecimal128(round(
           if(lifetime_from_setting,
              toDecimal128(won_amount, 6) * toDecimal128('{customer_lifetime_years}', 2) / won_customers_365d,
              toDecimal128(won_amount, 8) * renewals_closed
                  / (won_customers_365d * (renewals_closed - renewals_won)))
           - assumeNotNull(cac_365d), 2), 2))) AS clv
FROM
(
    -- one read of the kept latest snapshots (0018_opportunity_latest.sql)
    SELECT account_id, is_closed, is_won, amount, probability, created_at, close_date, type,
           close_date BETWEEN today - 364 AND today AS in_365
    FROM {database}.opportunity_latest FINAL
);

-- Per month (reporting time zone), every opportunity (unregistered accounts too): what the goals are
-- measured against. One row per month in which anything below happened.
--   month                     the month's first day
--   pipeline_created_count, pipeline_created_amount  opportunities whose created_at is in the month, current amounts
--   won_count, won_amount     opportunities now closed-won whose close_date is in the month
--   new_customers             accounts whose first closed-won new_business opportunity closed in the month
CREATE OR REPLACE VIEW {database}.revenue_monthly_live AS
SELECT k.2 AS month, sumIf(k.3, k.1 = 'created') AS pipeline_created_count,
       toDecimal128(sumIf(k.4, k.1 = 'created'), 2) AS pipeline_created_amount,
       sumIf(k.3, k.1 = 'won') AS won_count, toDecimal128(sumIf(k.4, k.1 = 'won'), 2) AS won_amount,
       sumIf(k.3, k.1 = 'new') AS new_customers
FROM
(
    -- one read of the kept latest snapshots (0018_opportunity_latest.sql) in two grouping sets: opportunities
    -- by created month and won month, and each account's first closed-won new_business close date
    SELECT opportunity, created_month, is_won, won_month, new_business_of, count() AS n, sum(amount) AS amount,
           min(close_date) AS first_won
    FROM
    (
        SELECT 1 AS opportunity, toStartOfMonth(toDate(created_at, '{reporting_tz}')) AS created_month, is_won,
               toStartOfMonth(close_date) AS won_month, amount, close_date,
               if(is_won AND type = 'new_business', account_id, '') AS new_business_of
        FROM {database}.opportunity_latest FINAL
    )
    GROUP BY GROUPING SETS ((opportunity, created_month, is_won, won_month), (new_business_of))
)
-- (kind, month, how many, amount): a first set's row gives its created month, and its won month when won; a
-- second set's row (opportunity 0) one new customer, unless it is the row of the other opportunities
ARRAY JOIN multiIf(opportunity = 1, arrayConcat([('created', created_month, n, amount)],
                                                if(is_won, [('won', won_month, n, amount)], [])),
                   new_business_of != '', [('new', toStartOfMonth(first_won), toUInt64(1), CAST(0, 'Decimal(38, 2)'))],
                   []) AS k
GROUP BY month;

-- Every goal (`pulse goals import`: the latest import per month and metric) against its actual.
--   month             the month's first day
--   metric            pipeline_created_amount, won_amount or new_customers
--   target            the goal
--   actual            revenue_monthly's column of that name for the month (every opportunity)
--   elapsed_days      days of the month gone by, today included: all of them for a past month, 0 for a future one
--   days_in_month
--   expected_to_date  target x elapsed_days / days_in_month, to the cent: where a straight line to the goal is today
--   attainment        actual / target, a fraction to 4 decimals; NULL when the target is 0
--   pace              actual / expected_to_date = actual / (target x elapsed fraction of the month), computed from
--                     the exact ratio, a fraction to 4 decimals: 1 is on pace, 0.8 is 20 % behind; for a past
--                     month it equals attainment; NULL for a future month or a target of 0
CREATE OR REPLACE VIEW {database}.revenue_goals AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT g.month AS month, g.metric AS metric, g.target AS target,
       toDecimal128(multiIf(g.metric = 'pipeline_created_amount', m.pipeline_created_amount,
                            g.metric = 'won_amount', m.won_amount, toDecimal128(m.new_customers, 2)), 2) AS actual,
       toDayOfMonth(toLastDayOfMonth(g.month)) AS days_in_month,
       multiIf(g.month > today, 0, g.month = toStartOfMonth(today), toDayOfMonth(today), days_in_month)
           AS elapsed_days,
       toDecimal128(round(toDecimal128(g.target, 8) * elapsed_days / days_in_month, 2), 2) AS expected_to_date,
       if(g.target = 0, NULL, toNullable(toDecimal64(round(toDecimal128(actual, 8) / g.target, 4), 4))) AS attainment,
       if(g.target = 0 OR elapsed_days = 0, NULL, toNullable(toDecimal64(round(
           toDecimal128(actual, 8) * days_in_month / (g.target * elapsed_days), 4), 4))) AS pace
FROM (SELECT month, metric, target FROM {database}.goals FINAL) AS g
LEFT JOIN {database}.revenue_monthly_live AS m ON m.month = g.month
SETTINGS join_use_nulls = 0;

-- Every registered account's place in the journey, today.
--   account_id, account_name, is_target  from accounts
--   journey_stage     customer: a closed-won new_business or renewal opportunity, and no renewal lost with a
--                     close_date after the latest such win; else opportunity: an open opportunity; else the
--                     engagement stage the worker last evaluated (account_engagement_snapshot: mqa, engaged,
--                     aware, unaware; unaware when it has not been evaluated yet); not_interested (before the
--                     engagement stage, after customer and opportunity) when sales' latest account_status is
--                     not_interested, i.e. not reopened since
--   status_reason     the reason sales gave with that not_interested ('' otherwise)
--   open_pipeline     current amounts of its open opportunities (0 without any)
--   won_revenue_365d  amounts of its closed-won opportunities (any type) with close_date in today and the 364
--                     days before
CREATE OR REPLACE VIEW {database}.account_journey_live AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT a.account_id AS account_id, a.name AS account_name, a.is_target AS is_target,
       multiIf(o.last_win IS NOT NULL AND (o.last_renewal_lost IS NULL OR o.last_renewal_lost <= o.last_win),
               'customer', o.open_count > 0, 'opportunity', d.status = 'not_interested', 'not_interested',
               e.stage != '', e.stage, 'unaware') AS journey_stage,
       if(journey_stage = 'not_interested', ifNull(d.reason, ''), '') AS status_reason,
       toDecimal128(ifNull(o.open_pipeline, 0), 2) AS open_pipeline,
       toDecimal128(ifNull(o.won_revenue_365d, 0), 2) AS won_revenue_365d
FROM (SELECT account_id, name, is_target FROM {database}.accounts FINAL) AS a
LEFT JOIN
(
    SELECT account_id,
           maxIf(toNullable(close_date), is_won AND type IN ('new_business', 'renewal')) AS last_win,
           maxIf(toNullable(close_date), is_closed AND NOT is_won AND type = 'renewal') AS last_renewal_lost,
           countIf(NOT is_closed) AS open_count,
           sumIf(amount, NOT is_closed) AS open_pipeline,
           sumIf(amount, is_won AND close_date BETWEEN today - 364 AND today) AS won_revenue_365d
    FROM {database}.opportunities
    GROUP BY account_id
) AS o ON o.account_id = a.account_id
LEFT JOIN (SELECT account_id, stage FROM {database}.account_engagement_snapshot FINAL) AS e
    ON e.account_id = a.account_id
LEFT JOIN
(
    SELECT account_id, argMax(status, (occurred_at, toString(event_id))) AS status,
           argMax(reason, (occurred_at, toString(event_id))) AS reason
    FROM {database}.account_statuses FINAL GROUP BY account_id
) AS d ON d.account_id = a.account_id
SETTINGS join_use_nulls = 1;
