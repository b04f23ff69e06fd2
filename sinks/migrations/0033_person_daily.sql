-- Issue 17: person-days kept for the stage tick (streams/stages.evaluate). The tick's evaluation,
-- account_engagement_tick, was created here at first; 0034_person_windows.sql holds its text since.
--
-- person_daily: engagement_person_daily (the page-view and form caps applied per person-day) kept per
-- account, day, person and channel, re-folded by the tick with account_daily for the (account, day)
-- pairs engagement_changes names: a pair's stored keys are folded to zeros and its current ones over
-- them (one insert), so a key gone from engagement_daily (an erasure deletes rows) reads as nothing.
-- The people's window sums (person_windows, 0034) are computed from here (merged, no program dimension,
-- the caps computed once), not from engagement_daily's rows. Per person: erasure deletes `person IN (...)`.
CREATE TABLE IF NOT EXISTS {database}.person_daily
(
    account_id String,
    day        Date,
    person     String,
    channel    LowCardinality(String),
    minutes    Decimal(38, 2) COMMENT 'Engagement minutes, daily caps applied per person-day',
    touches    Int64,
    folded_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(folded_at)
ORDER BY (account_id, day, person, channel)
TTL day + INTERVAL 401 DAY
COMMENT 'Engagement per account, day, person and channel (caps applied), kept by the stage evaluator for 400 days; query with FINAL';

-- a database upgraded to this has no person-days yet: the next tick folds everything (and decides
-- every account), as after a change of the scoring settings
INSERT INTO {database}.engagement_changes SELECT 'refold_all', '', toDate(0), now64(3, 'UTC');
