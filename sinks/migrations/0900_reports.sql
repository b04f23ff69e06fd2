-- repeatable: the summary reports, applied again whenever a view file before this one changes (views: {views_checksum})
-- or PULSE_REPORT_REFRESH_SECONDS does.
--
-- Each report below is a view of the SQL contract (README) whose exact definition is `<name>_live`, in the file
-- named beside it. Computing those from the kept state takes from milliseconds on a young store to tens of
-- seconds at 10M touches and 1M people (BENCHMARKS.md), far over what a dashboard tile or an analyst's query
-- should wait. So the engine itself recomputes each one in the background every {report_refresh_seconds}
-- seconds (a refreshable materialized view, `<name>_report`: the whole result is swapped in atomically when a
-- refresh completes, so a reader never sees half of one) and `<name>` answers from the latest result.
-- A report whose live view sorts its rows keeps their order in `report_row` (the row's place in the live result)
-- and answers in that order. `report_refreshes` tells when each was last computed: a report is exact as of that
-- moment, never partial.
-- On a ClickHouse server the refresh runs once on the server, whatever the number of workers. Dropping and
-- re-creating a report here empties it until its first refresh, which starts at once. Two workers migrating a
-- server at once: whichever order their DROP and CREATE ... IF NOT EXISTS interleave in, one report remains.
-- Each report has its own second of the period (OFFSET, spread by sinks/migrate.py): all starting at once, their
-- memory added up and the events' inserts waited behind them.
-- Each refresh runs at the lowest priority (os_thread_priority = 19), as the worker's other bulk jobs do: at 100M
-- touches they refreshed nearly all the time and took as much of the embedded engine as the sink (9,278 touches/s
-- beside them, 14,365-14,441 with them niced; BENCHMARKS.md). A ClickHouse server without CAP_SYS_NICE ignores it.

-- revenue_summary: its columns and definition are revenue_summary_live's (0400_*.sql)
DROP TABLE IF EXISTS {database}.revenue_summary_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.revenue_summary_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY tuple()
AS SELECT * FROM {database}.revenue_summary_live {report_settings};
CREATE OR REPLACE VIEW {database}.revenue_summary AS SELECT * FROM {database}.revenue_summary_report;

-- open_pipeline_by_stage: its columns and definition are open_pipeline_by_stage_live's (0400_*.sql)
DROP TABLE IF EXISTS {database}.open_pipeline_by_stage_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.open_pipeline_by_stage_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY tuple()
AS SELECT * FROM {database}.open_pipeline_by_stage_live {report_settings};
CREATE OR REPLACE VIEW {database}.open_pipeline_by_stage AS SELECT * FROM {database}.open_pipeline_by_stage_report;

-- sales_velocity: its columns and definition are sales_velocity_live's (0400_*.sql)
DROP TABLE IF EXISTS {database}.sales_velocity_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_velocity_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY tuple()
AS SELECT * FROM {database}.sales_velocity_live {report_settings};
CREATE OR REPLACE VIEW {database}.sales_velocity AS SELECT * FROM {database}.sales_velocity_report;

-- revenue_monthly: its columns and definition are revenue_monthly_live's (0400_*.sql)
DROP TABLE IF EXISTS {database}.revenue_monthly_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.revenue_monthly_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY month
AS SELECT * FROM {database}.revenue_monthly_live {report_settings};
CREATE OR REPLACE VIEW {database}.revenue_monthly AS SELECT * FROM {database}.revenue_monthly_report;

-- account_journey: its columns and definition are account_journey_live's (0400_*.sql)
DROP TABLE IF EXISTS {database}.account_journey_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_journey_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY account_id
AS SELECT * FROM {database}.account_journey_live {report_settings};
CREATE OR REPLACE VIEW {database}.account_journey AS SELECT * FROM {database}.account_journey_report;

-- person_lifecycle and lifecycle_history name people: an erasure waits for their refresh (sinks/erasure.py).
-- Kept in the order their readers look them up by (one person; one account's people).

-- person_lifecycle: its columns and definition are person_lifecycle_live's (0500_*.sql)
DROP TABLE IF EXISTS {database}.person_lifecycle_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_lifecycle_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY email
AS SELECT * FROM {database}.person_lifecycle_live {report_settings};
CREATE OR REPLACE VIEW {database}.person_lifecycle AS SELECT * FROM {database}.person_lifecycle_report;

-- lifecycle_history: its columns and definition are lifecycle_history_live's (0500_*.sql)
DROP TABLE IF EXISTS {database}.lifecycle_history_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.lifecycle_history_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY (account_id, person, position)
AS SELECT * FROM {database}.lifecycle_history_live {report_settings};
CREATE OR REPLACE VIEW {database}.lifecycle_history AS SELECT * FROM {database}.lifecycle_history_report;

-- funnel_summary: its columns and definition are funnel_summary_live's (0500_*.sql)
DROP TABLE IF EXISTS {database}.funnel_summary_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.funnel_summary_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.funnel_summary_live {report_settings};
CREATE OR REPLACE VIEW {database}.funnel_summary AS SELECT * EXCEPT (report_row) FROM {database}.funnel_summary_report ORDER BY report_row;

-- funnel_counts: its columns and definition are funnel_counts_live's (0500_*.sql). Its visitors are grouped by
-- person in the order page_view_latest keeps them (0057; sinks/migrate.py, REPORT_SETTINGS_IN_ORDER): at 100M
-- touches, 1.7 GB in a hash table of the 6.7M people, 0.7 GB grouped in order (BENCHMARKS.md).
DROP TABLE IF EXISTS {database}.funnel_counts_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.funnel_counts_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.funnel_counts_live
{report_settings_in_order};
CREATE OR REPLACE VIEW {database}.funnel_counts AS SELECT * EXCEPT (report_row) FROM {database}.funnel_counts_report ORDER BY report_row;

-- funnel_conversion: its columns and definition are funnel_conversion_live's (0500_*.sql)
DROP TABLE IF EXISTS {database}.funnel_conversion_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.funnel_conversion_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.funnel_conversion_live {report_settings};
CREATE OR REPLACE VIEW {database}.funnel_conversion AS SELECT * EXCEPT (report_row) FROM {database}.funnel_conversion_report ORDER BY report_row;

-- engagement_influence: its columns and definition are engagement_influence_live's (0600_*.sql)
DROP TABLE IF EXISTS {database}.engagement_influence_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.engagement_influence_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.engagement_influence_live {report_settings};
CREATE OR REPLACE VIEW {database}.engagement_influence AS SELECT * EXCEPT (report_row) FROM {database}.engagement_influence_report ORDER BY report_row;

-- program_attribution: its columns and definition are program_attribution_live's (0600_*.sql)
DROP TABLE IF EXISTS {database}.program_attribution_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.program_attribution_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.program_attribution_live {report_settings};
CREATE OR REPLACE VIEW {database}.program_attribution AS SELECT * EXCEPT (report_row) FROM {database}.program_attribution_report ORDER BY report_row;

-- sales_activity_daily: its columns and definition are sales_activity_daily_live's (0700_*.sql). Grouped a day at a
-- time in the order sales_touch_latest keeps the touches (0058), as funnel_counts above: at 100M touches its 4M
-- (day, rep, account) groups took 2.1 GB in one hash table, 0.7 GB grouped in order (BENCHMARKS.md).
DROP TABLE IF EXISTS {database}.sales_activity_daily_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_activity_daily_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY (day, rep, account_id)
AS SELECT * FROM {database}.sales_activity_daily_live
{report_settings_in_order};
CREATE OR REPLACE VIEW {database}.sales_activity_daily AS SELECT * FROM {database}.sales_activity_daily_report;

-- sales_activity_summary: its columns and definition are sales_activity_summary_live's (0700_*.sql)
DROP TABLE IF EXISTS {database}.sales_activity_summary_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_activity_summary_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.sales_activity_summary_live {report_settings};
CREATE OR REPLACE VIEW {database}.sales_activity_summary AS SELECT * EXCEPT (report_row) FROM {database}.sales_activity_summary_report ORDER BY report_row;

-- sales_coverage: its columns and definition are sales_coverage_live's (0700_*.sql)
DROP TABLE IF EXISTS {database}.sales_coverage_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sales_coverage_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY account_id
AS SELECT * FROM {database}.sales_coverage_live {report_settings};
CREATE OR REPLACE VIEW {database}.sales_coverage AS SELECT * FROM {database}.sales_coverage_report;

-- sla_by_owner: its columns and definition are sla_by_owner_live's (0700_*.sql)
DROP TABLE IF EXISTS {database}.sla_by_owner_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.sla_by_owner_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.sla_by_owner_live {report_settings};
CREATE OR REPLACE VIEW {database}.sla_by_owner AS SELECT * EXCEPT (report_row) FROM {database}.sla_by_owner_report ORDER BY report_row;

-- account_mqa_decisions: its columns and definition are account_mqa_decisions_live's (0700_*.sql)
DROP TABLE IF EXISTS {database}.account_mqa_decisions_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_mqa_decisions_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.account_mqa_decisions_live {report_settings};
CREATE OR REPLACE VIEW {database}.account_mqa_decisions AS SELECT * EXCEPT (report_row) FROM {database}.account_mqa_decisions_report ORDER BY report_row;

-- account_acceptance: its columns and definition are account_acceptance_live's (0700_*.sql)
DROP TABLE IF EXISTS {database}.account_acceptance_report;
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.account_acceptance_report
REFRESH EVERY {report_refresh_seconds} SECOND OFFSET {report_offset} SECOND
ENGINE = MergeTree ORDER BY report_row
AS SELECT *, rowNumberInAllBlocks() AS report_row FROM {database}.account_acceptance_live {report_settings};
CREATE OR REPLACE VIEW {database}.account_acceptance AS SELECT * EXCEPT (report_row) FROM {database}.account_acceptance_report ORDER BY report_row;

-- When each report was last computed, for the dashboard's "as of" and for operators.
--   report          the view's name (revenue_summary, ...)
--   status          Scheduled, Running, ... as the engine reports it
--   refreshed_at    when the result now served was computed (NULL before its first refresh)
--   refresh_ms      how long that computation took
--   next_refresh_at when the next one starts
--   error           the last refresh's error ('' when it succeeded): the previous result stays served
CREATE OR REPLACE VIEW {database}.report_refreshes AS
SELECT replaceRegexpOne(view, '_report$', '') AS report, toString(status) AS status,
       if(last_success_time IS NULL OR last_success_time = 0, NULL, last_success_time) AS refreshed_at,
       last_success_duration_ms AS refresh_ms, next_refresh_time AS next_refresh_at, exception AS error
FROM system.view_refreshes
WHERE database = '{database}';
