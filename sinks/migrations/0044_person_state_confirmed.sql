-- Issue 17: whether each person is confirmed, kept with their window sums, so that a day boundary shifts
-- the sums of the people with a day on a window's edge by that day's minutes (sinks/stage_state.py, shift)
-- instead of recomputing each of them from 400 days of person_days: at 100M touches that recomputation
-- was 300 s CPU once a day (2.08M people). Claimed minutes count only for a confirmed person, and whether
-- a person is confirmed changes only with their touches, a contacts import, or a day leaving (or a
-- future-dated day entering) the 400 days: those people are still recomputed whole.
ALTER TABLE {database}.person_state
    ADD COLUMN IF NOT EXISTS confirmed UInt8 DEFAULT 0
        COMMENT 'Known by an email typed into a page (claimed) and confirmed: a contact, or a signed touch in 400 days';

ALTER TABLE {database}.person_state_in ADD COLUMN IF NOT EXISTS confirmed UInt8 DEFAULT 0;

DROP VIEW IF EXISTS {database}.person_state_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.person_state_mv TO {database}.person_state AS
SELECT account_id, person_key, version, m7, m30, m90, mtd, ytd, m_prior28, engaged, over_20, confirmed
FROM {database}.person_state_in;

-- the kept state has no confirmation yet: the next tick rebuilds it
INSERT INTO {database}.engagement_changes SELECT 'refold_all', '', toDate(0), now64(3, 'UTC');
