-- repeatable: views are re-created whenever this file (or a setting it uses) changes.

CREATE OR REPLACE VIEW {database}.events AS
SELECT event_id, type, occurred_at, received_at, day, account_id, person, method, channel,
       program_id, minutes, success, email, anonymous_id, ip, url, payload
FROM {database}.touches FINAL;

CREATE OR REPLACE VIEW {database}.account_engagement AS
WITH toDate(now(), '{reporting_tz}') AS today,
per_person AS
(
    SELECT account_id, person,
           sumIf(minutes, day > today - 7)                    AS m7,
           sumIf(minutes, day > today - 30)                   AS m30,
           sumIf(minutes, day > today - 90)                   AS m90,
           sumIf(minutes, day >= toStartOfMonth(today))       AS mtd,
           sumIf(minutes, day >= toStartOfYear(today))        AS ytd,
           maxIf(day, minutes > 0)                            AS last_day
    FROM {database}.engagement_daily
    WHERE kind = 'touch' AND account_id != '' AND day > today - 400
    GROUP BY account_id, person
),
per_account AS
(
    SELECT account_id,
           sum(m7) AS minutes_7d, sum(m30) AS minutes_30d, sum(m90) AS minutes_90d,
           sum(mtd) AS minutes_mtd, sum(ytd) AS minutes_ytd,
           countIf(person != '' AND m90 > 0)  AS people_engaged_90d,
           countIf(person != '' AND m90 >= 20) AS people_20min_90d,
           max(last_day) AS last_day
    FROM per_person
    GROUP BY account_id
)
SELECT a.account_id                         AS account_id,
       a.name                               AS account_name,
       a.tier                               AS tier,
       a.owner                              AS owner,
       a.is_target                          AS is_target,
       toDecimal64(ifNull(p.minutes_7d, 0), 2)   AS minutes_7d,
       toDecimal64(ifNull(p.minutes_30d, 0), 2)  AS minutes_30d,
       toDecimal64(ifNull(p.minutes_90d, 0), 2)  AS minutes_90d,
       toDecimal64(ifNull(p.minutes_mtd, 0), 2)  AS minutes_mtd,
       toDecimal64(ifNull(p.minutes_ytd, 0), 2)  AS minutes_ytd,
       ifNull(p.people_engaged_90d, 0)      AS people_engaged_90d,
       multiIf(p.minutes_90d >= 100 AND p.people_20min_90d >= 2, 'mqa',
               p.minutes_90d >= 10, 'engaged',
               p.minutes_90d > 0, 'aware',
               'unaware')                   AS stage,
       if(p.last_day > toDate('1970-01-01'), p.last_day, NULL) AS last_activity_day
FROM {database}.accounts AS a FINAL
LEFT JOIN per_account AS p ON p.account_id = a.account_id;
