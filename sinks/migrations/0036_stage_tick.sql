-- Issue 17: the incremental tick's evaluation (streams/stages.evaluate), as first made in 0032.
--
-- 0033 and 0034 kept person-days (person_daily) and each person's window sums (person_windows) for it;
-- measured on the bench store (pulse bench rollups: a person for about every touch, so an account has
-- about as many people as person-days) the tick re-folding them cost more than the evaluation they
-- saved (10M touches, a tick after 1,000 new touches: 16-20 s CPU against 10-11 s without them; see
-- BENCHMARKS.md). They are dropped here, with what they held per person, and the tick reads
-- engagement_person_daily again.
DROP VIEW IF EXISTS {database}.person_windows_eval;

DROP TABLE IF EXISTS {database}.person_windows;

DROP TABLE IF EXISTS {database}.person_queue;

DROP TABLE IF EXISTS {database}.person_daily;

-- The tick's evaluation (account_engagement_tick) was created here; 0150_stage_tick_views.sql makes it now,
-- reading the per-person rules from kept sums (0038_person_state.sql).
