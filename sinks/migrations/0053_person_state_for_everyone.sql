-- Issue 17: every person with a kept person-day has a kept state, even one of zeros (sinks/stage_state.py,
-- FRESH), so that a tick can tell a new person (none) from an email whose claimed minutes wait for a
-- confirmation (zeros). A tick used to skip a new person whose values were all zero, so a store kept before
-- this lacks those rows: emptying the people's state makes the next tick find it torn and rebuild it,
-- everyone included (at 100M touches about ten minutes, while the dashboard shows the last snapshot).
TRUNCATE TABLE IF EXISTS {database}.person_state;

TRUNCATE TABLE IF EXISTS {database}.account_state;
