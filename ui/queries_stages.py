"""The worker's stage evaluations (stage_marks, sinks/migrations/0037_stage_evaluation_times.sql) and a full one
under way (stage_rebuild_steps, 0055) as Data health reads them; ui/queries.py re-exports this, so `pulse bench`
finds every page's queries in one place."""
from __future__ import annotations

from sinks.stage_marks import LATEST_MARK

# The stage evaluations since `since_ms` (Unix ms; Data health: the last hour, the bench: its run): the latest
# (when, how long, how many accounts, why), how many ran, their median and longest time, the most accounts one
# decided, the longest gap between the starts of two, and how many accounts a new day still has to move after
# the latest (0050_day_moves.sql). A stage change is published when the evaluation after its touch ends, so the
# longest gap plus the longest evaluation bounds how late one was.
# No row when none ran (an aggregate over nothing would be one row of zeros). The latest is the stage tick's own
# (LATEST_MARK: by state version, which a clock set back does not reorder).
STAGE_EVALUATIONS = f"""
SELECT toTimeZone(argMax(marked_at, {LATEST_MARK}), 'UTC') AS last_at, argMax(took_ms, {LATEST_MARK}) AS last_took_ms,
       argMax(decided, {LATEST_MARK}) AS last_decided, argMax(kind, {LATEST_MARK}) AS last_kind,
       count() AS evaluations, round(quantileExactInclusive(0.5)(took_ms)) AS median_took_ms, max(took_ms) AS max_took_ms,
       max(decided) AS max_decided,
       arrayMax(arrayDifference(arraySort(groupArray(toUnixTimestamp64Milli(marked_at))))) AS max_gap_ms,
       argMax(day_pending, {LATEST_MARK}) AS last_day_pending
FROM stage_marks
WHERE marked_at > fromUnixTimestamp64Milli(%(since_ms)s, 'UTC')
HAVING count() > 0
"""

# A full evaluation begun after the latest mark and not finished (sinks/rebuild_steps.py; a stopped one is resumed
# by the next start): when it began, its last step, its slices and how many of each step are done. No row when
# none is under way. On a large store it takes minutes, in which no stage changes: the page says how far it got.
STAGE_REBUILD = f"""
SELECT toTimeZone(min(noted_at), 'UTC') AS begun_at, toTimeZone(max(noted_at), 'UTC') AS last_step_at,
       any(slices) AS slices, any(refold) AS refold, countIf(step = 'days' AND slice >= 0) AS days_done,
       countIf(step = 'people' AND slice >= 0) AS people_done, countIf(step = 'decide' AND slice >= 0) AS decide_done
FROM stage_rebuild_steps
WHERE version = (SELECT max(version) FROM stage_rebuild_steps)
  AND version > (SELECT argMax(state_version, {LATEST_MARK}) FROM stage_marks)
HAVING count() > 0
"""


def since_ms(seconds_ago: float, now: float) -> dict:
    """STAGE_EVALUATIONS' parameter: the evaluations of the last `seconds_ago` before `now` (Unix seconds)."""
    return {"since_ms": int((now - seconds_ago) * 1000)}
