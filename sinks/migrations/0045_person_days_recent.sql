-- Issue 17: the last days of person_days in a table of their own, for the stage tick's lookups of today's
-- traffic (sinks/day_state.py, person_day_values in 0150_stage_tick_views.sql).
--
-- A tick recomputes the person-days an insert changed, about one per new touch, by looking their keys up.
-- In person_days (92M rows in a dozen parts at 100M touches) each key costs an index search in every part:
-- 1.3 s for 900 keys. Live traffic lands on today, and here the last days are a few partitions of their own.
--
-- A row is copied here when it is inserted into person_days if its day is at least the day before
-- yesterday by the server's clock, so every row of a day from today() - 1 on is here (the tick reads
-- those days here, older ones from person_days: the day between covers a session whose time zone differs);
-- the TTL drops a day's partition after three days.
-- Fed from person_days' own inserts (a view on its target), so the two hold the same sums of those days.
CREATE TABLE IF NOT EXISTS {database}.person_days_recent AS {database}.person_days
ENGINE = AggregatingMergeTree
PARTITION BY day
ORDER BY (account_id, person_key, day, channel)
TTL day + INTERVAL 3 DAY
SETTINGS index_granularity = 256, ttl_only_drop_parts = 1
COMMENT 'person_days of the days from today() - 2 on (complete from today() - 1), for the stage tick';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_days_recent_mv TO {database}.person_days_recent AS
SELECT * FROM {database}.person_days WHERE day >= today() - 2;

-- the last days already stored (an upgrade stops every worker first: README, "Several workers on one store")
INSERT INTO {database}.person_days_recent SELECT * FROM {database}.person_days WHERE day >= today() - 2;
