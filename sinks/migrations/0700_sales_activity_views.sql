-- repeatable: the sales activity, coverage, SLA and account acceptance views (issue 16), re-created whenever this
-- file (or a setting it uses) changes. Sales touches are calls, meetings and sales_emails (their rep, outcome and
-- direction are columns of touches since migration 0014). An *attempt* is a call, an outbound sales_email or a
-- meeting; a *connection* is a call with outcome connected, conversation or meeting_booked, an inbound
-- sales_email (the person replied) or a meeting. Days are in the reporting time zone ({reporting_tz}); hours and
-- days in metrics are decimals (seconds / 3,600 or 86,400). Periods are those of reporting_periods (mtd, qtd,
-- ytd, 90d, 365d), today included. The SLA settings are filled in: first touch within
-- {sla_first_touch_seconds} s, {sla_attempts} attempts within {sla_attempt_seconds} s, target {sla_worked_pct} %.

-- One row per stored sales touch (deduplicated, latest attribution): the kept copy of the sales touches'
-- versions (0058_sales_touch_latest_by_time.sql), its highest version of each.
--   event_id     the touch's id
--   occurred_at  when it happened
--   day          occurred_at as a day in the reporting time zone (computed from the table's key, occurred_at:
--                so sales_activity_daily groups a day at a time as it reads, and a period is a range of the key)
--   account_id   the resolved account ('' when unresolved)
--   email        the person called, met or written to ('' when the touch named none)
--   type         call, meeting or sales_email
--   rep          the rep who called, met or wrote ('' when not given)
--   outcome      a call's outcome (no_answer, voicemail, connected, conversation, meeting_booked); '' otherwise
--   direction    a call's or sales_email's direction: outbound, or inbound (for an email: the person replied)
--   is_attempt   1 for an attempt: a call, an outbound sales_email or a meeting
--   is_connect   1 for a connection: a call connected/conversation/meeting_booked, an inbound email, a meeting
CREATE OR REPLACE VIEW {database}.sales_touches AS
SELECT event_id, occurred_at, toDate(occurred_at, '{reporting_tz}') AS day, account_id, email, type, rep, outcome,
       direction,
       toUInt8(type IN ('call', 'meeting') OR (type = 'sales_email' AND direction = 'outbound')) AS is_attempt,
       toUInt8(type = 'meeting' OR (type = 'sales_email' AND direction = 'inbound')
               OR (type = 'call' AND outcome IN ('connected', 'conversation', 'meeting_booked'))) AS is_connect
FROM {database}.sales_touch_latest FINAL;

-- Sales activity per day, rep and account: one row per combination with at least one sales touch.
--   day              the day in the reporting time zone
--   rep              the rep ('' when the touches named none)
--   account_id       the resolved account ('' = unresolved)
--   calls            calls (either direction)
--   connected_calls  calls with outcome connected, conversation or meeting_booked
--   conversations    calls with outcome conversation or meeting_booked
--   meetings_booked  calls with outcome meeting_booked
--   meetings_held    meeting events
--   emails_out       outbound sales_emails
--   emails_in        inbound sales_emails (replies)
--   attempts         calls + outbound sales_emails + meetings (the SLA's and the actions rate's attempts)
CREATE OR REPLACE VIEW {database}.sales_activity_daily_live AS
SELECT day, rep, account_id,
       countIf(type = 'call') AS calls,
       countIf(type = 'call' AND outcome IN ('connected', 'conversation', 'meeting_booked')) AS connected_calls,
       countIf(type = 'call' AND outcome IN ('conversation', 'meeting_booked')) AS conversations,
       countIf(type = 'call' AND outcome = 'meeting_booked') AS meetings_booked,
       countIf(type = 'meeting') AS meetings_held,
       countIf(type = 'sales_email' AND direction = 'outbound') AS emails_out,
       countIf(type = 'sales_email' AND direction = 'inbound') AS emails_in,
       countIf(is_attempt = 1) AS attempts
FROM {database}.sales_touches
GROUP BY day, rep, account_id;

-- Sales activity per period and rep: a row `all` per period (zeros included) and one per rep active in it.
--   period                the reporting period (reporting_periods), by the touch's day
--   rep                   the rep ('' = touches that named none), or `all`
--   calls, connected_calls, conversations, meetings_booked, meetings_held, emails_out, emails_in
--                         sums of sales_activity_daily in the period (any account, resolved or not)
--   target_attempts       attempts at target accounts in the period
--   call_to_conversation_rate  conversations / calls, a fraction rounded to 4 decimals (the articles' good: about
--                         1 in 3); NULL without calls
--   call_to_meeting_rate  meetings_booked / calls, likewise
--   actions_per_target_account_per_day  target_attempts / target accounts / days in the period (today included),
--                         4 decimals; NULL without target accounts
CREATE OR REPLACE VIEW {database}.sales_activity_summary_live AS
WITH toDate(now(), '{reporting_tz}') AS today,
     (SELECT count() FROM {database}.accounts FINAL WHERE is_target = 1) AS targets
SELECT period, who AS rep,
       sum(n_calls) AS calls, sum(n_connected) AS connected_calls, sum(n_conversations) AS conversations,
       sum(n_booked) AS meetings_booked, sum(n_held) AS meetings_held, sum(n_out) AS emails_out, sum(n_in) AS emails_in,
       sum(n_target_attempts) AS target_attempts,
       if(calls = 0, NULL, toNullable(toDecimal64(round(toDecimal128(conversations, 8) / calls, 4), 4)))
           AS call_to_conversation_rate,
       if(calls = 0, NULL, toNullable(toDecimal64(round(toDecimal128(meetings_booked, 8) / calls, 4), 4)))
           AS call_to_meeting_rate,
       if(targets = 0, NULL, toNullable(toDecimal64(round(
           toDecimal128(target_attempts, 12) / targets / (today - any(start) + 1), 4), 4)))
           AS actions_per_target_account_per_day
FROM
(
    SELECT p.period AS period, p.ordinal AS ordinal, p.start AS start, who,
           d.calls AS n_calls, d.connected_calls AS n_connected, d.conversations AS n_conversations,
           d.meetings_booked AS n_booked, d.meetings_held AS n_held, d.emails_out AS n_out, d.emails_in AS n_in,
           d.target_attempts AS n_target_attempts
    FROM
    (
        -- sales_activity_daily's sums per day and rep (over accounts: a hundred times fewer rows to join with
        -- the periods), the attempts at today's target accounts apart
        SELECT day, rep,
               countIf(type = 'call') AS calls,
               countIf(type = 'call' AND outcome IN ('connected', 'conversation', 'meeting_booked')) AS connected_calls,
               countIf(type = 'call' AND outcome IN ('conversation', 'meeting_booked')) AS conversations,
               countIf(type = 'call' AND outcome = 'meeting_booked') AS meetings_booked,
               countIf(type = 'meeting') AS meetings_held,
               countIf(type = 'sales_email' AND direction = 'outbound') AS emails_out,
               countIf(type = 'sales_email' AND direction = 'inbound') AS emails_in,
               countIf(is_attempt = 1 AND account_id IN (SELECT account_id FROM {database}.accounts FINAL
                                                         WHERE is_target = 1)) AS target_attempts
        FROM {database}.sales_touches
        WHERE day BETWEEN (SELECT min(start) FROM {database}.reporting_periods) AND today
        GROUP BY day, rep
    ) AS d
    CROSS JOIN {database}.reporting_periods AS p
    ARRAY JOIN [d.rep, 'all'] AS who
    WHERE d.day BETWEEN p.start AND today
    UNION ALL
    SELECT period, ordinal, start, 'all' AS who, 0, 0, 0, 0, 0, 0, 0, 0 FROM {database}.reporting_periods
)
GROUP BY period, ordinal, who
ORDER BY ordinal, who = 'all' DESC, who;

-- Sales coverage: every registered account (the coverage rate counts the target accounts, is_target = 1).
--   account_id             the account
--   account_name           its name
--   is_target              1 when on the target list
--   owner                  the account owner ('' when none)
--   covered                1 when it had a sales touch (any call, meeting or sales_email) today or in the 29
--                          days before
--   last_sales_activity_at the latest sales touch at the account (NULL when none, ever)
--   reason                 why an uncovered account is uncovered, the first that applies: no_contact_known (no
--                          contact is known there: none registered with pulse contacts import (by account or
--                          email domain), none named by the CRM's lifecycle changes, no sales touch with an email),
--                          no_owner (the account has no
--                          owner), no_activity_30d; '' when covered
CREATE OR REPLACE VIEW {database}.sales_coverage_live AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT a.account_id AS account_id, a.name AS account_name, a.is_target AS is_target, a.owner AS owner,
       toUInt8(l.last_day > today - 30) AS covered,
       if(l.touches = 0, NULL, toNullable(l.last_at)) AS last_sales_activity_at,
       multiIf(covered = 1, '', k.account_id = '' AND l.with_email = 0, 'no_contact_known', a.owner = '', 'no_owner',
               'no_activity_30d') AS reason
FROM (SELECT account_id, name, is_target, owner FROM {database}.accounts FINAL) AS a
LEFT JOIN
(
    -- one read of the sales touches: the latest up to today, and whether any (at any time) named a person
    SELECT account_id, maxIf(occurred_at, day <= today) AS last_at, maxIf(day, day <= today) AS last_day,
           countIf(day <= today) AS touches, countIf(email != '') AS with_email
    FROM {database}.sales_touches WHERE account_id != ''
    GROUP BY account_id
) AS l ON l.account_id = a.account_id
LEFT JOIN
(
    SELECT DISTINCT account_id FROM
    (
        SELECT account_id FROM {database}.contacts FINAL WHERE account_id != ''
        UNION ALL  -- a contact without an account belongs to the account its email's domain resolves to
        SELECT d.account_id FROM (SELECT email FROM {database}.contacts FINAL WHERE account_id = '') AS c
        INNER JOIN
        (
            SELECT arrayJoin(domains) AS domain, any(account_id) AS account_id
            FROM {database}.accounts FINAL GROUP BY domain
        ) AS d ON d.domain = splitByChar('@', c.email)[2]
        UNION ALL
        SELECT account_id FROM {database}.lifecycle_changes FINAL WHERE account_id != ''
    )  -- and a sales touch with an email: l.with_email
) AS k ON k.account_id = a.account_id
SETTINGS join_use_nulls = 0;

-- Every person who reached mql, from the kept funnel state (0025_funnel_people.sql: one merged row per person,
-- instead of every change read with FINAL): sla_mqls reads it twice.
--   email         the person
--   mql_at        when they first reached mql: the earliest change to mql or a later stage of the order
--   given         the account the CRM gave with the latest change naming one ('' when none)
--   owner_at_mql  the owner of their latest change naming one at or before mql_at (ties: the larger event_id); ''
CREATE OR REPLACE VIEW {database}.person_mql AS
WITH {lifecycle_order} AS stages, indexOf(stages, 'mql') AS mql_rank
SELECT email, fromUnixTimestamp64Milli(e.2[mql_rank], 'UTC') AS mql_at, a.3 AS given,
       arrayLast(x -> x.1 <= mql_at, arraySort(o)).3 AS owner_at_mql
FROM (SELECT email, entered AS e, account AS a, owners AS o FROM {database}.funnel_people FINAL)
WHERE mql_rank > 0 AND length(e.1) >= mql_rank;

-- Every person who reached mql (the stage named `mql` of PULSE_LIFECYCLE_STAGES), judged against the SLA.
--   email                the person
--   account_id           their account (person_lifecycle: the CRM's, else the contact's; '' when unknown)
--   owner                the owner of their latest lifecycle change naming one at or before mql_at (ties: the
--                        larger event_id), else the account owner, else ''
--   mql_at               when they first reached mql (person_stages: a skip to a later stage counts)
--   mql_on               that day in the reporting time zone (the period is by this day)
--   first_attempt_at     their first attempt at or after mql_at (NULL when none yet)
--   hours_to_first_touch (first_attempt_at - mql_at) in hours, 2 decimals; NULL when none yet
--   worked               1 when an attempt happened at or after mql_at
--   worked_in_time       1 when the first attempt came at most PULSE_SLA_FIRST_TOUCH_HOURS after mql_at
--   attempts             attempts from mql_at to the end of the attempt window (PULSE_SLA_ATTEMPT_DAYS after it)
--   attempts_met         1 when attempts >= PULSE_SLA_ATTEMPTS
--   connected            1 when a connection happened at or after mql_at
--   window_ends_at       mql_at + PULSE_SLA_ATTEMPT_DAYS
--   pending              1 while the window has not ended: the MQL still has time, so sla_by_owner leaves it out
--                        of every percentage and average
CREATE OR REPLACE VIEW {database}.sla_mqls AS
SELECT m.email AS email, m.account_id AS account_id,
       if(m.owner != '', m.owner, ifNull(a.owner, '')) AS owner,
       m.mql_at AS mql_at, toDate(m.mql_at, '{reporting_tz}') AS mql_on,
       t.first_attempt_at AS first_attempt_at,
       if(t.first_attempt_at IS NULL, NULL, toNullable(toDecimal64(round(toDecimal128(
           toUnixTimestamp64Milli(assumeNotNull(t.first_attempt_at)) - toUnixTimestamp64Milli(m.mql_at), 6)
           / 3600000, 2), 2))) AS hours_to_first_touch,
       toUInt8(t.first_attempt_at IS NOT NULL) AS worked,
       toUInt8(ifNull(t.first_attempt_at <= m.mql_at + toIntervalSecond({sla_first_touch_seconds}), 0))
           AS worked_in_time,
       ifNull(t.attempts, 0) AS attempts,
       toUInt8(attempts >= {sla_attempts}) AS attempts_met,
       toUInt8(ifNull(t.connected, 0)) AS connected,
       m.mql_at + toIntervalSecond({sla_attempt_seconds}) AS window_ends_at,
       toUInt8(now64(3) < window_ends_at) AS pending
FROM
(
    -- when the person first reached mql (a change to mql or a later stage of the order, as person_stages has
    -- it), the account the CRM last gave (else the contact's), the owner named up to that moment
    SELECT l.email AS email, l.mql_at AS mql_at, if(l.given != '', l.given, ifNull(k.account_id, '')) AS account_id,
           l.owner_at_mql AS owner
    FROM {database}.person_mql AS l
    LEFT JOIN (SELECT email, account_id FROM {database}.contacts FINAL) AS k ON k.email = l.email
) AS m
LEFT JOIN (SELECT account_id, owner FROM {database}.accounts FINAL) AS a ON a.account_id = m.account_id
LEFT JOIN
(
    SELECT x.email AS email,
           minIf(toNullable(x.occurred_at), x.is_attempt = 1) AS first_attempt_at,
           countIf(x.is_attempt = 1 AND x.occurred_at <= q.mql_at + toIntervalSecond({sla_attempt_seconds}))
               AS attempts,
           max(x.is_connect) AS connected
    FROM {database}.sales_touches AS x
    INNER JOIN (SELECT email, mql_at FROM {database}.person_mql) AS q ON q.email = x.email
    WHERE x.email != '' AND x.occurred_at >= q.mql_at
    GROUP BY x.email
) AS t ON t.email = m.email
SETTINGS join_use_nulls = 1;

-- The marketing-sales SLA per period (by mql_on) and owner: one row per owner with an MQL in the period.
-- Decided MQLs are those whose attempt window has ended (pending = 0); percentages are of them, to 1 decimal,
-- and NULL when there is none.
--   period                       the reporting period
--   owner                        sla_mqls.owner ('' = no owner known)
--   mqls                         people who first reached mql in the period (pending ones included)
--   worked                       decided MQLs with an attempt at or after mql_at
--   worked_pct                   worked / decided, in %
--   worked_in_time_pct           decided MQLs whose first attempt came within PULSE_SLA_FIRST_TOUCH_HOURS, in %
--   median_hours_to_first_touch  median of hours_to_first_touch over every MQL of the period with a first attempt
--                                (pending ones included; the mean of the two middle ones for an even count),
--                                2 decimals; NULL when none
--   avg_attempts                 mean attempts in the window over decided MQLs, 2 decimals
--   attempts_met_pct             decided MQLs with at least PULSE_SLA_ATTEMPTS attempts in the window, in %
--   connected_pct                decided MQLs connected at or after mql_at, in %
--   pending                      MQLs whose window has not ended
--   meets_sla                    1 when worked_pct and attempts_met_pct are both at least PULSE_SLA_WORKED_PCT
--                                (compared exactly, before rounding), else 0; NULL when no MQL is decided
CREATE OR REPLACE VIEW {database}.sla_by_owner_live AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT period, owner, mqls, worked,
       if(decided = 0, NULL, toNullable(toDecimal64(round(toDecimal128(worked, 8) * 100 / decided, 1), 1))) AS worked_pct,
       if(decided = 0, NULL, toNullable(toDecimal64(round(toDecimal128(in_time, 8) * 100 / decided, 1), 1)))
           AS worked_in_time_pct,
       median_hours_to_first_touch,
       if(decided = 0, NULL, toNullable(toDecimal64(round(toDecimal128(attempt_sum, 8) / decided, 2), 2))) AS avg_attempts,
       if(decided = 0, NULL, toNullable(toDecimal64(round(toDecimal128(met, 8) * 100 / decided, 1), 1)))
           AS attempts_met_pct,
       if(decided = 0, NULL, toNullable(toDecimal64(round(toDecimal128(connections, 8) * 100 / decided, 1), 1)))
           AS connected_pct,
       pending,
       if(decided = 0, NULL, toNullable(toUInt8(worked * 100 >= {sla_worked_pct} * decided
                                                AND met * 100 >= {sla_worked_pct} * decided))) AS meets_sla
FROM
(
    SELECT p.period AS period, p.ordinal AS ordinal, m.owner AS owner, count() AS mqls,
           countIf(m.pending = 0) AS decided,
           countIf(m.pending = 0 AND m.worked = 1) AS worked,
           countIf(m.pending = 0 AND m.worked_in_time = 1) AS in_time,
           countIf(m.pending = 0 AND m.attempts_met = 1) AS met,
           countIf(m.pending = 0 AND m.connected = 1) AS connections,
           sumIf(m.attempts, m.pending = 0) AS attempt_sum,
           countIf(m.pending = 1) AS pending,
           if(countIf(m.worked = 1) = 0, NULL, toNullable(toDecimal64(round(toDecimal128(
               quantileExactInclusiveIf(0.5)(toFloat64(m.hours_to_first_touch), m.worked = 1), 6), 2), 2)))
               AS median_hours_to_first_touch
    FROM {database}.sla_mqls AS m
    CROSS JOIN {database}.reporting_periods AS p
    WHERE m.mql_on BETWEEN p.start AND today
    GROUP BY p.period, p.ordinal, m.owner
)
ORDER BY ordinal, owner;

-- Target accounts that became MQA per period, with sales' decision since: one row per period and account.
--   period        the reporting period
--   ordinal       the period's place in report order (reporting_periods)
--   account_id    the target account
--   account_name  its name
--   mqa_at        its first change to mqa in the period (stage_changes.changed_at: when pulse observed it)
--   latest        sales' latest account_status at or after mqa_at (ties: the larger event_id), as given; '' when none
--   status        that decision as acceptance counts it: accepted,
--                 rejected or not_interested; undecided when none since, or the latest is reopened
--   reason        the reason given with that status ('' when none or undecided)
--   decided_by    the rep who decided ('' when not given or undecided)
--   decided_at    when (NULL when undecided)
CREATE OR REPLACE VIEW {database}.account_mqa_decisions_live AS
WITH toDate(now(), '{reporting_tz}') AS today
SELECT c.period AS period, c.ordinal AS ordinal, c.account_id AS account_id, any(a.name) AS account_name,
       c.mqa_at AS mqa_at,
       argMaxIf(s.status, (s.occurred_at, toString(s.event_id)), s.account_id != '' AND s.occurred_at >= c.mqa_at)
           AS latest,
       if(latest IN ('accepted', 'rejected', 'not_interested'), latest, 'undecided') AS status,
       if(status = 'undecided', '', argMaxIf(s.reason, (s.occurred_at, toString(s.event_id)),
           s.account_id != '' AND s.occurred_at >= c.mqa_at)) AS reason,
       if(status = 'undecided', '', argMaxIf(s.owner, (s.occurred_at, toString(s.event_id)),
           s.account_id != '' AND s.occurred_at >= c.mqa_at)) AS decided_by,
       if(status = 'undecided', NULL, toNullable(maxIf(s.occurred_at, s.account_id != '' AND s.occurred_at >= c.mqa_at)))
           AS decided_at
FROM
(
    SELECT p.period AS period, p.ordinal AS ordinal, x.account_id AS account_id, min(x.changed_at) AS mqa_at
    FROM (SELECT account_id, changed_at FROM {database}.stage_changes FINAL WHERE stage_to = 'mqa') AS x
    CROSS JOIN {database}.reporting_periods AS p
    WHERE toDate(x.changed_at, '{reporting_tz}') BETWEEN p.start AND today
      AND x.account_id IN (SELECT account_id FROM {database}.accounts FINAL WHERE is_target = 1)
    GROUP BY p.period, p.ordinal, x.account_id
) AS c
LEFT JOIN (SELECT account_id, name FROM {database}.accounts FINAL) AS a ON a.account_id = c.account_id
LEFT JOIN
(
    SELECT event_id, account_id, status, reason, owner, occurred_at FROM {database}.account_statuses FINAL
) AS s ON s.account_id = c.account_id
GROUP BY c.period, c.ordinal, c.account_id, c.mqa_at
ORDER BY c.ordinal, c.mqa_at, c.account_id
SETTINGS join_use_nulls = 0;

-- Account acceptance per period: one row per period (zeros included).
--   period                     the reporting period
--   mqas                       target accounts that became MQA in the period (account_mqa_decisions)
--   accepted, rejected, not_interested, undecided  of them, by sales' latest decision since
--   acceptance_rate            accepted / mqas, a fraction rounded to 4 decimals; NULL when mqas is 0
--   rejection_rate             (rejected + not_interested) / mqas, likewise
--   undecided_rate             undecided / mqas, likewise
--   accepted_per_1000_targets  accepted * 1,000 / target accounts (today's list), 2 decimals; NULL without targets
CREATE OR REPLACE VIEW {database}.account_acceptance_live AS
WITH (SELECT count() FROM {database}.accounts FINAL WHERE is_target = 1) AS targets
SELECT p.period AS period, d.mqas AS mqas, d.accepted AS accepted, d.rejected AS rejected,
       d.not_interested AS not_interested, d.undecided AS undecided,
       if(d.mqas = 0, NULL, toNullable(toDecimal64(round(toDecimal128(d.accepted, 8) / d.mqas, 4), 4))) AS acceptance_rate,
       if(d.mqas = 0, NULL, toNullable(toDecimal64(round(
           toDecimal128(d.rejected + d.not_interested, 8) / d.mqas, 4), 4))) AS rejection_rate,
       if(d.mqas = 0, NULL, toNullable(toDecimal64(round(toDecimal128(d.undecided, 8) / d.mqas, 4), 4))) AS undecided_rate,
       if(targets = 0, NULL, toNullable(toDecimal64(round(toDecimal128(d.accepted, 8) * 1000 / targets, 2), 2)))
           AS accepted_per_1000_targets
FROM {database}.reporting_periods AS p
LEFT JOIN
(
    SELECT period, count() AS mqas, countIf(status = 'accepted') AS accepted, countIf(status = 'rejected') AS rejected,
           countIf(status = 'not_interested') AS not_interested, countIf(status = 'undecided') AS undecided
    FROM {database}.account_mqa_decisions_live
    GROUP BY period
) AS d ON d.period = p.period
ORDER BY p.ordinal
SETTINGS join_use_nulls = 0;
